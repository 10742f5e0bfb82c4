select
    conversation_id,
    question_id,
    partition_date,
    text as question_text,
    score,
    from_name,
    from_email,
    from_user_id,
    message_ids
from {{ source('symbl', 'questions') }}
qualify row_number() over (partition by conversation_id, question_id order by partition_date desc) = 1
