-- Long-form Semarize output: one row per conversation x Kit x brick x run, one typed value column filled per row.
select
    conversation_id,
    recording_id,
    kit_code,
    brick_key,
    partition_date,
    run_id,
    kit_version_id,
    value_type,
    value_boolean,
    value_number,
    value_string,
    value_list,
    value_json,
    confidence,
    reason,
    evidence
from {{ source('semarize', 'bricks') }}
qualify row_number() over (
    partition by conversation_id, kit_code, brick_key, run_id order by partition_date desc
) = 1
