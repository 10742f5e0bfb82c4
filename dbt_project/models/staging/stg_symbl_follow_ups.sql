select
    conversation_id,
    follow_up_id,
    partition_date,
    text as follow_up_text,
    score,
    definitive as is_definitive,
    assignee_name,
    lower(trim(assignee_email)) as assignee_email,
    due_by,
    from_name,
    lower(trim(from_email)) as from_email,
    from_user_id,
    message_ids
from {{ source('raw', 'symbl_follow_ups') }}
qualify row_number() over (partition by conversation_id, follow_up_id order by partition_date desc) = 1
