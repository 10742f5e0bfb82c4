-- One row per distinct rejection (file, record, stage, reason); a re-run that rejects the same record for the same
-- reason again keeps only the latest occurrence.
select
    partition_date,
    source_file,
    recording_id,
    -- raw stages may carry a detail after a colon (`fetch:messages`, `parse:topics`): split it out
    split_part(stage, ':', 1) as stage,
    nullif(split_part(stage, ':', 2), '') as stage_detail,
    reason,
    rejected_at
from {{ source('raw', 'recording_rejections') }}
qualify row_number() over (
    partition by source_file, recording_id, stage, reason order by rejected_at desc
) = 1
