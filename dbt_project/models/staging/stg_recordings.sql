-- One row per recording. A manifest re-loaded by a re-run lands again; the latest load wins.
select
    recording_id,
    partition_date,
    start_time as started_at,
    duration_seconds,
    title,
    account_id,
    account_name,
    lower(nullif(trim(call_type), '')) as call_type,
    host_name,
    lower(trim(host_email)) as host_email,
    participants,
    participant_count,
    language_code,
    media_kind,
    media_ref,
    source_file,
    manifest_sha256,
    loaded_at,
    channel_map,
    speaker_events,
    channel_map is not null as has_channel_map,
    speaker_events is not null as has_speaker_events
from {{ source('raw', 'recordings') }}
qualify row_number() over (partition by recording_id order by loaded_at desc, partition_date desc) = 1
