-- The Conversation API's answers verbatim, latest fetch per conversation x endpoint. Read where a typed table
-- dropped something a model needs (fct_action_items reads the words of each action item's due date).
select
    conversation_id,
    endpoint,
    partition_date,
    fetched_at,
    body
from {{ source('symbl', 'responses') }}
qualify row_number() over (partition by conversation_id, endpoint order by fetched_at desc) = 1
