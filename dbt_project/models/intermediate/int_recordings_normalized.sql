-- One row per recording, with the fields the marts match and group on normalised: the host's email lower-cased and
-- trimmed (matched to the roster and to Symbl's speakers), the call type lower-cased (blank means unknown).
select
    recording_id,
    partition_date,
    started_at,
    duration_seconds,
    title,
    account_id,
    account_name,
    lower(nullif(trim(call_type), '')) as call_type,
    host_name,
    lower(trim(host_email)) as host_email,
    media_kind,
    source_file,
    channel_map,
    channel_map is not null as has_channel_map,
    speaker_events is not null as has_speaker_events
from {{ ref('stg_recordings__recordings') }}
