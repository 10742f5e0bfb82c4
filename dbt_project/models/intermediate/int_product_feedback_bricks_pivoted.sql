-- The product-feedback pivot: one row per conversation the product-feedback Kit (var product_feedback_kit_code)
-- scored, its long-form bricks as typed columns. As for discovery, only the newest answer per brick counts.
{%- set feedback_kit = var('product_feedback_kit_code', 'PRODFDB1') %}

with feedback_bricks as (
    select b.*
    from {{ ref('stg_semarize__bricks') }} as b
    left join {{ ref('stg_semarize__runs') }} as run
        on b.run_id = run.run_id and b.conversation_id = run.conversation_id and b.kit_code = run.kit_code
    where b.kit_code = '{{ feedback_kit }}'
    qualify row_number() over (
        partition by b.conversation_id, b.brick_key
        order by run.updated_at desc nulls last, b.partition_date desc, b.run_id desc
    ) = 1
)

select
    conversation_id,
    coalesce(
        max(nullif(lower(trim(value_string)), '')) filter (where brick_key = 'feedback_feature_area'), 'none'
    ) as feature_area,
    cast(round(
        max(coalesce(value_number, try_cast(value_string as double)))
        filter (where brick_key = 'feature_satisfaction')
    ) as integer) as feature_satisfaction,
    max(coalesce(value_number, try_cast(value_string as double)))
    filter (where brick_key = 'churn_signal_strength') as churn_signal_strength,
    max(nullif(lower(trim(value_string)), '')) filter (where brick_key = 'bug_report_severity') as bug_report_severity,
    max(coalesce(value_number, try_cast(value_string as double)))
    filter (where brick_key = 'feature_request_urgency') as feature_request_urgency,
    -- Every area the feedback names (a string_list brick), lower-cased; NULL when the Kit sent none.
    max(
        list_transform(value_list, lambda x: lower(trim(x))) -- noqa: RF02
    ) filter (where brick_key = 'features_mentioned') as features_mentioned
from feedback_bricks
group by conversation_id
