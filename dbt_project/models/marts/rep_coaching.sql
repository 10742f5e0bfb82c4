-- One row per rep x fiscal quarter: discovery depth and next-step discipline, beside the rep's previous active
-- quarter, so a coach sees who improved and who slipped. The previous quarter is the rep's last quarter with
-- any completed call (previous_fiscal_quarter names it, so a gap is visible rather than hidden).
with quarters as (
    select
        rep_email,
        rep_name,
        team,
        fiscal_year,
        fiscal_quarter,
        conversations,
        scored_conversations,
        avg_discovery_depth,
        next_step_rate,
        avg_talk_ratio,
        avg_customer_sentiment
    from {{ ref('rep_quarter_scorecard') }}
),

with_previous as (
    select
        *,
        lag(fiscal_quarter) over w as previous_fiscal_quarter,
        lag(avg_discovery_depth) over w as previous_avg_discovery_depth,
        lag(next_step_rate) over w as previous_next_step_rate
    from quarters
    window w as (partition by rep_email order by fiscal_quarter)
)

select
    rep_email,
    rep_name,
    team,
    fiscal_year,
    fiscal_quarter,
    conversations,
    scored_conversations,
    avg_discovery_depth,
    previous_fiscal_quarter,
    previous_avg_discovery_depth,
    round(avg_discovery_depth - previous_avg_discovery_depth, 4) as discovery_depth_change,
    next_step_rate,
    previous_next_step_rate,
    round(next_step_rate - previous_next_step_rate, 4) as next_step_rate_change,
    avg_talk_ratio,
    avg_customer_sentiment
from with_previous
