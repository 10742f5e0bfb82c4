-- The brick pivot: one row per conversation the sales-discovery Kit (var sales_discovery_kit_code) scored, its
-- long-form bricks turned into typed columns. Only the conversation's most recent Semarize run counts (a re-scored
-- conversation keeps the newest answer per brick). Values are read from their typed column, tolerating a Kit that
-- sends a number or boolean as a string.
{%- set discovery_kit = var('sales_discovery_kit_code', 'SLSDISC1') %}

with discovery_bricks as (
    select b.*
    from {{ ref('stg_semarize__bricks') }} as b
    left join {{ ref('stg_semarize__runs') }} as run
        on b.run_id = run.run_id and b.conversation_id = run.conversation_id and b.kit_code = run.kit_code
    where b.kit_code = '{{ discovery_kit }}'
    qualify row_number() over (
        partition by b.conversation_id, b.brick_key
        order by run.updated_at desc nulls last, b.partition_date desc, b.run_id desc
    ) = 1
)

select
    conversation_id,
    cast(round(
        max(coalesce(value_number, try_cast(value_string as double)))
        filter (where brick_key = 'discovery_depth')
    ) as integer) as discovery_depth,
    bool_or(coalesce(value_boolean, try_cast(value_string as boolean)))
    filter (where brick_key = 'budget_confirmed') as budget_confirmed,
    max(nullif(trim(value_string), '')) filter (where brick_key = 'competitor_mentioned') as competitor_mentioned,
    -- Scored-but-null means "no competitor"; unlike competitor_mentioned this tells it apart from "not scored".
    bool_or(nullif(trim(value_string), '') is not null)
    filter (where brick_key = 'competitor_mentioned') as competitor_was_mentioned,
    max(coalesce(value_number, try_cast(value_string as double)))
    filter (where brick_key = 'sentiment_score') as sentiment_score,
    bool_or(coalesce(value_boolean, try_cast(value_string as boolean)))
    filter (where brick_key = 'risk_flag') as risk_flag,
    -- The Semarize run whose risk_flag answer is the one above (its brick version): routing alerts once per run.
    max(run_id) filter (where brick_key = 'risk_flag') as risk_flag_run_id,
    bool_or(coalesce(value_boolean, try_cast(value_string as boolean)))
    filter (where brick_key = 'next_step_confirmed') as next_step_confirmed
from discovery_bricks
group by conversation_id
