-- One row per run request (conversation x Kit x idempotency key); retries with the same key update it in place.
select
    conversation_id,
    recording_id,
    kit_code,
    partition_date,
    run_id,
    idempotency_key,
    status,
    kit_version_id,
    duration_ms,
    error_code,
    error_message,
    body,
    updated_at
from {{ source('semarize', 'runs') }}
qualify row_number() over (
    partition by conversation_id, kit_code, idempotency_key order by updated_at desc
) = 1
