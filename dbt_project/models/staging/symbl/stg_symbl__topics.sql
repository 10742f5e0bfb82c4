select
    conversation_id,
    topic_id,
    partition_date,
    text as topic_text,
    score,
    sentiment_score,
    sentiment_label,
    message_ids,
    parent_refs
from {{ source('symbl', 'topics') }}
qualify row_number() over (partition by conversation_id, topic_id order by partition_date desc) = 1
