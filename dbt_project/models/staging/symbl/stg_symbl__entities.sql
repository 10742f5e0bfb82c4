select
    conversation_id,
    entity_key,
    partition_date,
    entity_type,
    sub_type as entity_sub_type,
    category as entity_category,
    value as entity_value,
    detected_value,
    message_id,
    message_text,
    char_offset
from {{ source('symbl', 'entities') }}
qualify row_number() over (partition by conversation_id, entity_key order by partition_date desc) = 1
