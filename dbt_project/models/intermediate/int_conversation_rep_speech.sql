-- Rep matching: per completed conversation, which of Symbl's analytics members, messages and questions are the
-- rep's (macros/is_rep.sql: email or userId, case-insensitive; the display name only when Symbl has no email, so a
-- customer who shares the rep's name is never the rep) and what that makes of talk time, sentiment and questions.
-- Figures stay NULL when there is nothing to measure; fct_conversations decides what attribution allows it to show.
{%- set message_is_rep = is_rep(
    'msg.speaker_email', 'msg.speaker_user_id', 'msg.speaker_name', 'c.rep_email', 'c.host_name'
) %}

with conversations as (
    select
        conversation_id,
        rep_email,
        host_name
    from {{ ref('int_conversations_completed') }}
),

-- Talk time from Symbl's analytics members.
member_talk as (
    select
        m.conversation_id,
        sum(m.talk_time_seconds) as members_talk_seconds,
        sum(m.talk_time_seconds) filter (
            where {{ is_rep('m.member_email', 'm.member_user_id', 'm.member_name', 'c.rep_email', 'c.host_name') }}
        ) as rep_talk_seconds
    from {{ ref('stg_symbl__analytics_members') }} as m
    inner join conversations as c on m.conversation_id = c.conversation_id
    group by m.conversation_id
),

-- Who spoke, as far as Symbl could tell. Diarized media names speakers `Speaker <n>` with no email: such a
-- speaker is unidentified, and so is the rep unless a channel map or speaker events said who they were.
message_speakers as (
    select
        msg.conversation_id,
        avg(msg.sentiment_score) as avg_sentiment,
        avg(msg.sentiment_score) filter (
            where not {{ message_is_rep }}
        ) as non_rep_avg_sentiment,
        avg(msg.sentiment_score) filter (
            where {{ message_is_rep }}
        ) as rep_avg_sentiment,
        sum(msg.duration_seconds) as message_seconds,
        sum(msg.duration_seconds) filter (
            where {{ is_identified_speaker('msg.speaker_email', 'msg.speaker_user_id', 'msg.speaker_name') }}
        ) as identified_seconds,
        sum(msg.duration_seconds) filter (
            where {{ message_is_rep }}
        ) as rep_message_seconds,
        bool_or(
            {{ message_is_rep }}
        ) as rep_spoke
    from {{ ref('stg_symbl__messages') }} as msg
    inner join conversations as c on msg.conversation_id = c.conversation_id
    group by msg.conversation_id
),

questions as (
    select
        q.conversation_id,
        count(*) as question_count,
        count(*) filter (
            where {{ is_rep('q.from_email', 'q.from_user_id', 'q.from_name', 'c.rep_email', 'c.host_name') }}
        ) as rep_question_count
    from {{ ref('stg_symbl__questions') }} as q
    inner join conversations as c on q.conversation_id = c.conversation_id
    group by q.conversation_id
)

select
    c.conversation_id,
    mt.members_talk_seconds,
    mt.rep_talk_seconds,
    ms.message_seconds,
    ms.identified_seconds,
    ms.rep_message_seconds,
    ms.rep_spoke,
    ms.avg_sentiment,
    ms.non_rep_avg_sentiment,
    ms.rep_avg_sentiment,
    q.question_count,
    q.rep_question_count
from conversations as c
left join member_talk as mt on c.conversation_id = mt.conversation_id
left join message_speakers as ms on c.conversation_id = ms.conversation_id
left join questions as q on c.conversation_id = q.conversation_id
