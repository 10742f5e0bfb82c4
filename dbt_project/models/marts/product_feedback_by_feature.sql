-- Product feedback by feature area and month: one row per area the customers' feedback named, so a call that talks
-- about reporting and billing counts under both. A call whose Kit listed no area counts under its main area
-- ('none' when it named none), so every scored call is somewhere.
with mentions as (
    select
        f.conversation_id,
        f.feature_satisfaction,
        f.churn_signal_strength,
        f.bug_report_severity,
        f.feature_request_urgency,
        c.account_name,
        cast(date_trunc('month', c.conversation_date) as date) as feedback_month,
        unnest(
            case
                when len(coalesce(f.features_mentioned, [])) = 0 then [f.feature_area]
                else f.features_mentioned
            end
        ) as feature_area
    from {{ ref('int_product_feedback_bricks_pivoted') }} as f
    inner join {{ ref('int_conversations_completed') }} as c on f.conversation_id = c.conversation_id
)

select
    feature_area,
    feedback_month,
    count(*) as calls,
    -- The Kit's 1-5 rating on a 0-100 scale (1 -> 0, 3 -> 50, 5 -> 100).
    round(avg((feature_satisfaction - 1) * 25.0), 1) as avg_satisfaction_0_100,
    round(avg(feature_satisfaction), 2) as avg_feature_satisfaction,
    round(avg(churn_signal_strength), 1) as avg_churn_signal_strength,
    count(*) filter (where churn_signal_strength >= 60) as high_churn_signal_calls,
    count(*) filter (where bug_report_severity not in ('none')) as calls_with_bug_reports,
    count(*) filter (where bug_report_severity in ('high', 'critical')) as high_or_critical_bug_calls,
    round(avg(feature_request_urgency) filter (where feature_request_urgency > 0), 1)
        as avg_feature_request_urgency,
    count(*) filter (where feature_request_urgency > 0) as calls_with_feature_requests,
    count(distinct account_name) as customer_accounts
from mentions
group by feature_area, feedback_month
