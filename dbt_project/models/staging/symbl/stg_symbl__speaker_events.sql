-- One row per conversation: the speaker events last sent to Symbl and whether Symbl accepted them.
select
    conversation_id,
    recording_id,
    partition_date,
    events_sha256,
    event_count,
    status,
    error as error_message,
    sent_at
from {{ source('symbl', 'speaker_events') }}
qualify row_number() over (partition by conversation_id order by sent_at desc) = 1
