select
    conversation_id,
    lower(metric_type) as metric_type,
    partition_date,
    seconds,
    percent
from {{ source('raw', 'symbl_analytics_metrics') }}
qualify row_number() over (partition by conversation_id, lower(metric_type) order by partition_date desc) = 1
