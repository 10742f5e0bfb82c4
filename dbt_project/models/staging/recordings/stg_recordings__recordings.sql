-- One row per recording. A manifest re-loaded by a re-run lands again; the latest load wins.
select
    recording_id,
    partition_date,
    start_time as started_at,
    duration_seconds,
    title,
    account_id,
    account_name,
    call_type,
    host_name,
    host_email,
    participants,
    participant_count,
    language_code,
    media_kind,
    media_ref,
    source_file,
    manifest_sha256,
    loaded_at,
    channel_map,
    speaker_events
from {{ source('recordings', 'recordings') }}
qualify row_number() over (partition by recording_id order by loaded_at desc, partition_date desc) = 1
