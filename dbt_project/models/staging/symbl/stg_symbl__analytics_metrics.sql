select
    conversation_id,
    metric_type,
    partition_date,
    seconds,
    percent
from {{ source('symbl', 'analytics_metrics') }}
qualify row_number() over (partition by conversation_id, metric_type order by partition_date desc) = 1
