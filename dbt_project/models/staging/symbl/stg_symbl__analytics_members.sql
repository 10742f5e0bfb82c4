select
    conversation_id,
    member_id,
    partition_date,
    name as member_name,
    email as member_email,
    user_id as member_user_id,
    pace_wpm,
    talk_time_seconds,
    talk_time_percentage,
    listen_time_seconds,
    listen_time_percentage,
    overlap_seconds
from {{ source('symbl', 'analytics_members') }}
qualify row_number() over (partition by conversation_id, member_id order by partition_date desc) = 1
