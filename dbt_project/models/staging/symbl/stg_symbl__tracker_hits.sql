select
    conversation_id,
    hit_key,
    partition_date,
    tracker_id,
    tracker_name,
    match_type,
    matched_value,
    ref_type,
    ref_id,
    ref_text,
    char_offset,
    is_exact
from {{ source('symbl', 'tracker_hits') }}
qualify row_number() over (partition by conversation_id, hit_key order by partition_date desc) = 1
