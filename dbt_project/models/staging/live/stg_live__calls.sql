-- Finished live calls: one row per call (the latest landing wins).
select
    call_id,
    partition_date,
    recording_id,
    connection_id,
    conversation_id,
    status,
    connections,
    drops,
    audio_bytes,
    resent_bytes,
    lost_audio,
    encoding,
    sample_rate,
    ended_at,
    manifest,
    superseded_by
from {{ source('live', 'calls') }}
qualify row_number() over (partition by call_id order by landed_at desc) = 1
