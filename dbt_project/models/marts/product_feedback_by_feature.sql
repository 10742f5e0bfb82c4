-- Product feedback by feature area and fiscal quarter: what customers said about each part of the product.
-- Calls the product-feedback Kit scored with no feature area named are kept under 'none', so the counts add up.
select
    f.feature_area,
    c.fiscal_quarter,
    count(*) as calls,
    round(avg(f.feature_satisfaction), 2) as avg_feature_satisfaction,
    round(avg(f.churn_signal_strength), 1) as avg_churn_signal_strength,
    count(*) filter (where f.churn_signal_strength >= 60) as high_churn_signal_calls,
    count(*) filter (where f.bug_report_severity not in ('none')) as calls_with_bug_reports,
    count(*) filter (where f.bug_report_severity in ('high', 'critical')) as high_or_critical_bug_calls,
    round(avg(f.feature_request_urgency) filter (where f.feature_request_urgency > 0), 1)
        as avg_feature_request_urgency,
    count(*) filter (where f.feature_request_urgency > 0) as calls_with_feature_requests,
    count(distinct c.account_name) as customer_accounts
from {{ ref('int_product_feedback_bricks_pivoted') }} as f
inner join {{ ref('int_conversations_completed') }} as c on f.conversation_id = c.conversation_id
group by f.feature_area, c.fiscal_quarter
