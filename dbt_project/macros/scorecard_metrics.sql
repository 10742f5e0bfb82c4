{#
  The scorecard metrics, aggregated over fct_conversations rows (one row per conversation) for whatever grain the
  caller groups by. Shared by the rep and team scorecards so both define every metric identically; the team
  scorecard aggregates conversations directly, never averages of rep averages. Averages and rates skip
  conversations where the input is NULL (not analysed / not scored), so a rate is the share of SCORED
  conversations. Everything is rounded to 4 places.
#}
{% macro scorecard_metrics(alias='f') -%}
    count(*) as conversations,
    count(*) filter (where {{ alias }}.has_discovery_scores) as scored_conversations,
    -- Calls whose rep could be told apart from the others (talk ratio and rep figures are over these only).
    count(*) filter (where {{ alias }}.attribution_method != 'none') as attributable_calls,
    round(sum({{ alias }}.duration_seconds) / 3600.0, 4) as total_hours,
    round(avg({{ alias }}.talk_ratio), 4) as avg_talk_ratio,
    round(avg({{ alias }}.avg_sentiment), 4) as avg_sentiment,
    round(avg({{ alias }}.customer_sentiment), 4) as avg_customer_sentiment,
    round(avg({{ alias }}.rep_sentiment), 4) as avg_rep_sentiment,
    round(avg({{ alias }}.discovery_depth), 4) as avg_discovery_depth,
    round(avg(cast({{ alias }}.budget_confirmed as double)), 4) as budget_confirmed_rate,
    round(avg(cast({{ alias }}.risk_flag as double)), 4) as risk_flag_rate,
    round(avg(cast({{ alias }}.next_step_confirmed as double)), 4) as next_step_rate,
    round(avg(cast({{ alias }}.competitor_was_mentioned as double)), 4) as competitor_mention_rate,
    round(avg({{ alias }}.question_count), 4) as questions_per_call,
    round(avg({{ alias }}.action_item_count), 4) as action_items_per_call,
    round(avg({{ alias }}.follow_up_count), 4) as follow_ups_per_call
{%- endmacro %}
