-- One row per distinct rejection (file, record, stage, reason); a re-run that rejects the same record for the same
-- reason again keeps only the latest occurrence.
select
    partition_date,
    source_file,
    recording_id,
    stage,
    reason,
    rejected_at
from {{ source('recordings', 'rejections') }}
qualify row_number() over (
    partition by source_file, recording_id, stage, reason order by rejected_at desc
) = 1
