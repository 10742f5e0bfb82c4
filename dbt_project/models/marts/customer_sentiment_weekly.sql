-- One row per customer account x week (Monday-based, by the call's date): how the customer side felt on the
-- calls of that week, from Symbl's per-message sentiment (customer messages only) and Semarize's call-level read.
select
    account_name,
    cast(date_trunc('week', conversation_date) as date) as week_start,
    count(*) as conversations,
    count(customer_sentiment) as conversations_with_customer_sentiment,
    round(avg(customer_sentiment), 4) as avg_customer_sentiment,
    round(min(customer_sentiment), 4) as min_customer_sentiment,
    round(avg(cast(customer_sentiment < 0 as double)), 4) as negative_call_rate,
    round(avg(sentiment_score), 4) as avg_semarize_sentiment_score,
    round(avg(cast(risk_flag as double)), 4) as risk_flag_rate
from {{ ref('fct_conversations') }}
where account_name is not null
group by account_name, cast(date_trunc('week', conversation_date) as date)
