select
    conversation_id,
    follow_up_id,
    partition_date,
    text as follow_up_text,
    score,
    definitive as is_definitive,
    assignee_name,
    assignee_email,
    due_by,
    from_name,
    from_email,
    from_user_id,
    message_ids
from {{ source('symbl', 'follow_ups') }}
qualify row_number() over (partition by conversation_id, follow_up_id order by partition_date desc) = 1
