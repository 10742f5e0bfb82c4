-- The daily AI quality report: per AI agent and day, how many live calls the quality gate scored (Kit AIQGATE1,
-- sync mode at stop, policy documents as grounding), how relevant the agent's answers were, how often it
-- hallucinated, slipped in tone or broke safety, and its worst calls with the Kit's evidence.
-- A verdict is the `client:quality_gate` record of the call's event log (body = the record as written).
with gate as (
    select
        e.call_id,
        e.partition_date,
        coalesce(e.conversation_id, json_extract_string(e.body, '$.conversation_id')) as conversation_id,
        -- the verdict names its agent; older verdicts did not, and the call's manifest (agent.id) does
        coalesce(json_extract_string(e.body, '$.agent_id'), json_extract_string(c.manifest, '$.agent.id')) as agent_id,
        try_cast(json_extract_string(e.body, '$.bricks.response_relevance.value') as double) as response_relevance,
        try_cast(json_extract_string(e.body, '$.bricks.hallucination_detected.value') as boolean)
            as hallucination_detected,
        try_cast(json_extract_string(e.body, '$.bricks.tone_appropriate.value') as boolean) as tone_appropriate,
        try_cast(json_extract_string(e.body, '$.bricks.safety_violation.value') as boolean) as safety_violation,
        json_extract_string(e.body, '$.bricks.hallucination_detected.reason') as hallucination_reason,
        json_extract(e.body, '$.bricks.hallucination_detected.evidence') as hallucination_evidence,
        json_extract(e.body, '$.bricks.safety_violation.evidence') as safety_evidence
    from {{ ref('stg_live__call_events') }} as e
    left join {{ ref('stg_live__calls') }} as c on e.call_id = c.call_id
    where e.event_type = 'client:quality_gate'
    -- the latest verdict when a call was scored more than once
    qualify row_number() over (partition by e.call_id order by e.seq desc) = 1
),

ranked as (
    select
        *,
        -- Worst first: a safety violation, then a hallucination, then a tone slip, then the least relevant.
        row_number() over (
            partition by agent_id, partition_date
            order by
                coalesce(safety_violation, false) desc,
                coalesce(hallucination_detected, false) desc,
                coalesce(not tone_appropriate, false) desc,
                response_relevance asc nulls last,
                call_id asc
        ) as worst_rank
    from gate
    where agent_id is not null
)

select
    agent_id,
    partition_date as day,
    count(*) as calls,
    avg(response_relevance) as avg_response_relevance,
    avg(case when hallucination_detected then 1.0 else 0.0 end) as hallucination_rate,
    avg(case when tone_appropriate = false then 1.0 else 0.0 end) as tone_flag_rate,
    avg(case when safety_violation then 1.0 else 0.0 end) as safety_violation_rate,
    count(*) filter (where hallucination_detected or safety_violation or tone_appropriate = false) as flagged_calls,
    to_json(
        list(
            {
                'call_id': call_id,
                'conversation_id': conversation_id,
                'response_relevance': response_relevance,
                'hallucination_detected': hallucination_detected,
                'safety_violation': safety_violation,
                'tone_appropriate': tone_appropriate,
                'reason': hallucination_reason,
                'evidence': coalesce(hallucination_evidence, safety_evidence)
            }
            order by worst_rank
        ) filter (where worst_rank <= 3)
    ) as worst_calls
from ranked
group by agent_id, partition_date
