-- One row per completed Symbl conversation, enriched with the rep's roster entry, the fiscal quarter, Symbl signal
-- counts and the sales-discovery Kit's bricks as typed columns. Every signal is aggregated to one row per
-- conversation BEFORE joining, so several raw rows per conversation can never multiply the fact rows.
{%- set discovery_kit = var('sales_discovery_kit_code', 'SLSDISC1') %}

with conversations as (
    select
        c.conversation_id,
        r.recording_id,
        r.host_email as rep_email,
        r.host_name,
        r.account_name,
        r.call_type,
        r.title,
        r.started_at,
        r.partition_date as conversation_date,
        r.duration_seconds as recording_duration_seconds,
        r.has_channel_map,
        -- The host is on a channel of the channel map: their channel's speech is theirs, even when silent.
        coalesce(
            list_contains(
                list_transform(json_extract_string(r.channel_map, '$[*].email'), lambda x: lower(trim(x))),
                r.host_email
            ),
            false
        ) as rep_has_channel
    from {{ ref('stg_symbl_conversations') }} as c
    inner join {{ ref('stg_recordings') }} as r on c.recording_id = r.recording_id
    where c.status = 'completed' and c.conversation_id is not null
),

analytics_metrics as (
    select
        conversation_id,
        max(seconds) filter (where metric_type = 'total_talk_time') as total_talk_seconds,
        max(seconds) filter (where metric_type = 'total_silence') as total_silence_seconds
    from {{ ref('stg_symbl_analytics_metrics') }}
    group by conversation_id
),

-- Talk time: the rep is matched by email (or userId), falling back to the display name when Symbl has no email.
member_talk as (
    select
        m.conversation_id,
        sum(m.talk_time_seconds) as members_talk_seconds,
        sum(m.talk_time_seconds) filter (
            where {{ is_rep('m.member_email', 'm.member_user_id', 'm.member_name', 'c.rep_email', 'c.host_name') }}
        ) as rep_talk_seconds
    from {{ ref('stg_symbl_analytics_members') }} as m
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
            where not {{ is_rep('msg.speaker_email', 'msg.speaker_user_id', 'msg.speaker_name', 'c.rep_email', 'c.host_name') }}
        ) as non_rep_avg_sentiment,
        avg(msg.sentiment_score) filter (
            where {{ is_rep('msg.speaker_email', 'msg.speaker_user_id', 'msg.speaker_name', 'c.rep_email', 'c.host_name') }}
        ) as rep_avg_sentiment,
        sum(msg.duration_seconds) as message_seconds,
        sum(msg.duration_seconds) filter (
            where {{ is_identified_speaker('msg.speaker_email', 'msg.speaker_user_id', 'msg.speaker_name') }}
        ) as identified_seconds,
        sum(msg.duration_seconds) filter (
            where {{ is_rep('msg.speaker_email', 'msg.speaker_user_id', 'msg.speaker_name', 'c.rep_email', 'c.host_name') }}
        ) as rep_message_seconds,
        bool_or({{ is_rep('msg.speaker_email', 'msg.speaker_user_id', 'msg.speaker_name', 'c.rep_email', 'c.host_name') }})
            as rep_spoke
    from {{ ref('stg_symbl_messages') }} as msg
    inner join conversations as c on msg.conversation_id = c.conversation_id
    group by msg.conversation_id
),

speaker_events as (
    select conversation_id, is_applied from {{ ref('stg_symbl_speaker_events') }}
),

-- How the rep's speech was told apart (channel map, speaker events, or identities Symbl already had), or `none`
-- when it could not be: then every per-rep figure below is NULL rather than a default.
attribution as (
    select
        c.conversation_id,
        case
            -- No talk measured at all (neither analytics nor timed messages): nothing to attribute.
            when coalesce(mt.members_talk_seconds, 0) <= 0 and coalesce(ms.message_seconds, 0) <= 0 then 'none'
            when not (coalesce(ms.rep_spoke, false) or mt.rep_talk_seconds is not null or c.rep_has_channel)
                then 'none'
            when c.has_channel_map then 'channel'
            when coalesce(se.is_applied, false) then 'speaker_events'
            else 'identity'
        end as attribution_method,
        round(coalesce(ms.identified_seconds, 0) / nullif(ms.message_seconds, 0), 4) as attribution_coverage
    from conversations as c
    left join member_talk as mt on c.conversation_id = mt.conversation_id
    left join message_speakers as ms on c.conversation_id = ms.conversation_id
    left join speaker_events as se on c.conversation_id = se.conversation_id
),

questions as (
    select
        q.conversation_id,
        count(*) as question_count,
        count(*) filter (
            where {{ is_rep('q.from_email', 'q.from_user_id', 'q.from_name', 'c.rep_email', 'c.host_name') }}
        ) as rep_question_count
    from {{ ref('stg_symbl_questions') }} as q
    inner join conversations as c on q.conversation_id = c.conversation_id
    group by q.conversation_id
),

action_items as (
    select conversation_id, count(*) as action_item_count
    from {{ ref('stg_symbl_action_items') }}
    group by conversation_id
),

follow_ups as (
    select conversation_id, count(*) as follow_up_count
    from {{ ref('stg_symbl_follow_ups') }}
    group by conversation_id
),

-- A hit is one message x tracker: a message matching two terms of one tracker counts once, and the insight
-- references Symbl adds for the same words (an action item quoting the message) are not counted again.
tracker_hits as (
    select
        conversation_id,
        count(distinct (tracker_name, coalesce(ref_id, hit_key)))
            filter (where coalesce(ref_type, 'message') = 'message') as tracker_hit_count,
        count(*) as tracker_term_match_count
    from {{ ref('stg_symbl_tracker_hits') }}
    group by conversation_id
),

topics as (
    select conversation_id, count(*) as topic_count
    from {{ ref('stg_symbl_topics') }}
    group by conversation_id
),

entities as (
    select conversation_id, count(*) as entity_count
    from {{ ref('stg_symbl_entities') }}
    group by conversation_id
),

-- The sales-discovery bricks of the conversation's most recent Semarize run (a re-scored conversation keeps only
-- the newest answer per brick). Values are read from their typed column, tolerating a Kit that sends a number or
-- boolean as a string.
discovery_bricks as (
    select b.*
    from {{ ref('stg_semarize_bricks') }} as b
    left join {{ ref('stg_semarize_runs') }} as run
        on b.run_id = run.run_id and b.conversation_id = run.conversation_id and b.kit_code = run.kit_code
    where b.kit_code = '{{ discovery_kit }}'
    qualify row_number() over (
        partition by b.conversation_id, b.brick_key
        order by run.updated_at desc nulls last, b.partition_date desc, b.run_id desc
    ) = 1
),

discovery as (
    select
        conversation_id,
        cast(round(max(coalesce(value_number, try_cast(value_string as double)))
            filter (where brick_key = 'discovery_depth')) as integer) as discovery_depth,
        bool_or(coalesce(value_boolean, try_cast(value_string as boolean)))
            filter (where brick_key = 'budget_confirmed') as budget_confirmed,
        max(nullif(trim(value_string), '')) filter (where brick_key = 'competitor_mentioned') as competitor_mentioned,
        -- Scored-but-null means "no competitor"; unlike competitor_mentioned this tells it apart from "not scored".
        bool_or(nullif(trim(value_string), '') is not null)
            filter (where brick_key = 'competitor_mentioned') as competitor_was_mentioned,
        max(coalesce(value_number, try_cast(value_string as double)))
            filter (where brick_key = 'sentiment_score') as sentiment_score,
        bool_or(coalesce(value_boolean, try_cast(value_string as boolean)))
            filter (where brick_key = 'risk_flag') as risk_flag,
        bool_or(coalesce(value_boolean, try_cast(value_string as boolean)))
            filter (where brick_key = 'next_step_confirmed') as next_step_confirmed
    from discovery_bricks
    group by conversation_id
)

select
    c.conversation_id,
    c.recording_id,
    c.rep_email,
    reps.rep_name,
    reps.team,
    reps.region,
    reps.manager_email,
    reps.is_rostered as rep_is_rostered,
    c.account_name,
    c.call_type,
    c.title,
    c.started_at,
    c.conversation_date,
    {{ fiscal_year('c.conversation_date') }} as fiscal_year,
    {{ fiscal_quarter_label('c.conversation_date') }} as fiscal_quarter,
    -- Analytics cover the media Symbl actually processed; the manifest's duration is the fallback.
    case
        when am.total_talk_seconds is not null
            then am.total_talk_seconds + coalesce(am.total_silence_seconds, 0)
        else c.recording_duration_seconds
    end as duration_seconds,
    att.attribution_method,
    att.attribution_coverage,
    -- Talk time from Symbl's analytics members, or from the messages' own durations when a call has no analytics.
    case
        when att.attribution_method = 'none' then null
        when mt.members_talk_seconds > 0 then coalesce(mt.rep_talk_seconds, 0)
        else coalesce(ms.rep_message_seconds, 0)
    end as rep_talk_seconds,
    -- least() skips NULLs in DuckDB, so the ratio is only ever computed for an identified rep.
    case
        when att.attribution_method = 'none' then null
        when mt.members_talk_seconds > 0 then least(1.0, coalesce(mt.rep_talk_seconds, 0) / mt.members_talk_seconds)
        else least(1.0, coalesce(ms.rep_message_seconds, 0) / ms.message_seconds)
    end as talk_ratio,
    ms.avg_sentiment,
    -- Whose sentiment: the customer side (every speaker but the rep), the rep, or everyone. The first two need
    -- the rep told apart from the others, so they are NULL when attribution is `none`.
    case when att.attribution_method != 'none' then ms.non_rep_avg_sentiment end as customer_avg_sentiment,
    case when att.attribution_method != 'none' then ms.non_rep_avg_sentiment end as customer_sentiment,
    case when att.attribution_method != 'none' then ms.rep_avg_sentiment end as rep_sentiment,
    ms.avg_sentiment as all_speakers_sentiment,
    coalesce(q.question_count, 0) as question_count,
    case when att.attribution_method != 'none' then coalesce(q.rep_question_count, 0) end as rep_question_count,
    coalesce(ai.action_item_count, 0) as action_item_count,
    coalesce(fu.follow_up_count, 0) as follow_up_count,
    coalesce(th.tracker_hit_count, 0) as tracker_hit_count,
    coalesce(th.tracker_term_match_count, 0) as tracker_term_match_count,
    coalesce(tp.topic_count, 0) as topic_count,
    coalesce(en.entity_count, 0) as entity_count,
    d.conversation_id is not null as has_discovery_scores,
    d.discovery_depth,
    d.budget_confirmed,
    d.competitor_mentioned,
    d.competitor_was_mentioned,
    d.sentiment_score,
    d.risk_flag,
    d.next_step_confirmed
from conversations as c
inner join {{ ref('dim_reps') }} as reps on c.rep_email = reps.rep_email
left join analytics_metrics as am on c.conversation_id = am.conversation_id
left join member_talk as mt on c.conversation_id = mt.conversation_id
left join message_speakers as ms on c.conversation_id = ms.conversation_id
left join attribution as att on c.conversation_id = att.conversation_id
left join questions as q on c.conversation_id = q.conversation_id
left join action_items as ai on c.conversation_id = ai.conversation_id
left join follow_ups as fu on c.conversation_id = fu.conversation_id
left join tracker_hits as th on c.conversation_id = th.conversation_id
left join topics as tp on c.conversation_id = tp.conversation_id
left join entities as en on c.conversation_id = en.conversation_id
left join discovery as d on c.conversation_id = d.conversation_id
