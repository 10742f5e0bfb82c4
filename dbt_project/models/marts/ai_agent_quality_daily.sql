-- The daily AI quality report: per AI agent and day, how many live calls were scored, how relevant the agent's
-- answers were, how often it hallucinated, slipped in tone or broke safety, and its worst calls with evidence.
with verdicts as (
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
                call_id
        ) as worst_rank
    from {{ ref('stg_live_quality_verdicts') }}
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
from verdicts
group by agent_id, partition_date
