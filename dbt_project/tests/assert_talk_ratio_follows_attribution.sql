-- talk_ratio is a share (0..1) and is NULL exactly when the rep could not be identified (attribution `none`):
-- an unidentifiable rep must never score 1.0 (or 0) talk time.
select
    conversation_id,
    attribution_method,
    talk_ratio
from {{ ref('fct_conversations') }}
where
    (talk_ratio is null) != (attribution_method = 'none')
    or talk_ratio < 0
    or talk_ratio > 1
