-- The conversation-id ledger, current state: one row per recording (the most recently updated submission).
select
    recording_id,
    partition_date,
    conversation_id,
    job_id,
    status,
    attempts,
    failure_reason,
    submitted_at,
    completed_at,
    updated_at
from {{ source('symbl', 'conversations') }}
qualify row_number() over (partition by recording_id order by updated_at desc, attempts desc) = 1
