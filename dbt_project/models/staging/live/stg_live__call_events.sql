-- Live-call events (Symbl Streaming API), one row per event item; a record landed twice counts once.
select
    call_id,
    partition_date,
    seq,
    item,
    received_at,
    connection,
    source,
    event_type,
    time_offset_seconds,
    text,
    speaker_name,
    speaker_user_id,
    insight_type,
    tracker_name,
    conversation_id,
    body
from {{ source('live', 'call_events') }}
qualify row_number() over (partition by call_id, seq, item order by received_at) = 1
