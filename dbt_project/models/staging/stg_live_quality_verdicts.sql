-- One row per scored live AI-agent call: the quality gate's AIQGATE1 bricks, typed.
-- The verdict is the `client:quality_gate` record of the call's event log (body = the record as written).
with verdicts as (
    select
        e.call_id,
        e.partition_date,
        coalesce(e.conversation_id, json_extract_string(e.body, '$.conversation_id')) as conversation_id,
        json_extract_string(e.body, '$.agent_id') as agent_id,
        json_extract_string(e.body, '$.run_id') as run_id,
        e.received_at as scored_at,
        e.body,
        e.seq
    from {{ source('live', 'live_call_events') }} as e
    where e.event_type = 'client:quality_gate'
    qualify row_number() over (partition by e.call_id order by e.seq desc) = 1
)
select
    v.call_id,
    c.recording_id,
    v.partition_date,
    v.conversation_id,
    v.agent_id,
    v.run_id,
    v.scored_at,
    try_cast(json_extract_string(v.body, '$.bricks.response_relevance.value') as double) as response_relevance,
    try_cast(json_extract_string(v.body, '$.bricks.hallucination_detected.value') as boolean)
        as hallucination_detected,
    try_cast(json_extract_string(v.body, '$.bricks.tone_appropriate.value') as boolean) as tone_appropriate,
    try_cast(json_extract_string(v.body, '$.bricks.safety_violation.value') as boolean) as safety_violation,
    json_extract_string(v.body, '$.bricks.hallucination_detected.reason') as hallucination_reason,
    json_extract(v.body, '$.bricks.hallucination_detected.evidence') as hallucination_evidence,
    json_extract(v.body, '$.bricks.safety_violation.evidence') as safety_evidence
from verdicts as v
left join {{ source('live', 'live_calls') }} as c on c.call_id = v.call_id
where v.agent_id is not null
