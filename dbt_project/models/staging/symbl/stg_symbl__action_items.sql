select
    conversation_id,
    action_item_id,
    partition_date,
    text as action_item_text,
    score,
    definitive as is_definitive,
    assignee_name,
    assignee_email,
    due_by,
    from_name,
    from_email,
    from_user_id,
    message_ids
from {{ source('symbl', 'action_items') }}
qualify row_number() over (partition by conversation_id, action_item_id order by partition_date desc) = 1
