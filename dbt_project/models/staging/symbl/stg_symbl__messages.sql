select
    conversation_id,
    message_id,
    partition_date,
    speaker_id,
    speaker_name,
    speaker_email,
    speaker_user_id,
    text as message_text,
    start_time as started_at,
    end_time as ended_at,
    time_offset_seconds,
    duration_seconds,
    sentiment_score,
    sentiment_label,
    word_count
from {{ source('symbl', 'messages') }}
qualify row_number() over (partition by conversation_id, message_id order by partition_date desc) = 1
