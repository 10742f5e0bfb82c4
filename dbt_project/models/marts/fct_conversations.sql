-- One row per completed Symbl conversation, enriched with the rep's roster entry, the fiscal quarter, Symbl signal
-- counts and the sales-discovery Kit's bricks as typed columns. Every signal is aggregated to one row per
-- conversation BEFORE joining, so several raw rows per conversation can never multiply the fact rows. The
-- conversation spine and fiscal calendar, rep matching and the brick pivot are intermediate models of their own
-- (each unit-tested: models/intermediate/_intermediate.yml).
with conversations as (
    select * from {{ ref('int_conversations_completed') }}
),

analytics_metrics as (
    select
        conversation_id,
        max(seconds) filter (where metric_type = 'total_talk_time') as total_talk_seconds,
        max(seconds) filter (where metric_type = 'total_silence') as total_silence_seconds
    from {{ ref('stg_symbl__analytics_metrics') }}
    group by conversation_id
),

speaker_events as (
    select
        conversation_id,
        status = 'applied' as is_applied
    from {{ ref('stg_symbl__speaker_events') }}
),

-- How the rep's speech was told apart (channel map, speaker events, or identities Symbl already had), or `none`
-- when it could not be: then every per-rep figure below is NULL rather than a default.
attribution as (
    select
        c.conversation_id,
        case
            -- No talk measured at all (neither analytics nor timed messages): nothing to attribute.
            when coalesce(sp.members_talk_seconds, 0) <= 0 and coalesce(sp.message_seconds, 0) <= 0 then 'none'
            when not (coalesce(sp.rep_spoke, false) or sp.rep_talk_seconds is not null or c.rep_has_channel)
                then 'none'
            when c.has_channel_map then 'channel'
            when coalesce(se.is_applied, false) then 'speaker_events'
            else 'identity'
        end as attribution_method,
        round(coalesce(sp.identified_seconds, 0) / nullif(sp.message_seconds, 0), 4) as attribution_coverage
    from conversations as c
    left join {{ ref('int_conversation_rep_speech') }} as sp on c.conversation_id = sp.conversation_id
    left join speaker_events as se on c.conversation_id = se.conversation_id
),

action_items as (
    select
        conversation_id,
        count(*) as action_item_count
    from {{ ref('stg_symbl__action_items') }}
    group by conversation_id
),

follow_ups as (
    select
        conversation_id,
        count(*) as follow_up_count
    from {{ ref('stg_symbl__follow_ups') }}
    group by conversation_id
),

-- A hit is one message x tracker: a message matching two terms of one tracker counts once, and the insight
-- references Symbl adds for the same words (an action item quoting the message) are not counted again.
tracker_hits as (
    select
        conversation_id,
        count(distinct row(tracker_name, coalesce(ref_id, hit_key)))
        filter (where coalesce(ref_type, 'message') = 'message') as tracker_hit_count,
        count(*) as tracker_term_match_count
    from {{ ref('stg_symbl__tracker_hits') }}
    group by conversation_id
),

topics as (
    select
        conversation_id,
        count(*) as topic_count
    from {{ ref('stg_symbl__topics') }}
    group by conversation_id
),

entities as (
    select
        conversation_id,
        count(*) as entity_count
    from {{ ref('stg_symbl__entities') }}
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
    rec.account_id,
    c.account_name,
    c.call_type,
    c.title,
    c.started_at,
    c.conversation_date,
    c.fiscal_year,
    c.fiscal_quarter,
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
        when sp.members_talk_seconds > 0 then coalesce(sp.rep_talk_seconds, 0)
        else coalesce(sp.rep_message_seconds, 0)
    end as rep_talk_seconds,
    -- least() skips NULLs in DuckDB, so the ratio is only ever computed for an identified rep.
    case
        when att.attribution_method = 'none' then null
        when sp.members_talk_seconds > 0 then least(1.0, coalesce(sp.rep_talk_seconds, 0) / sp.members_talk_seconds)
        else least(1.0, coalesce(sp.rep_message_seconds, 0) / sp.message_seconds)
    end as talk_ratio,
    sp.avg_sentiment,
    -- Whose sentiment: the customer side (every speaker but the rep), the rep, or everyone. The first two need
    -- the rep told apart from the others, so they are NULL when attribution is `none`.
    case when att.attribution_method != 'none' then sp.non_rep_avg_sentiment end as customer_avg_sentiment,
    case when att.attribution_method != 'none' then sp.non_rep_avg_sentiment end as customer_sentiment,
    case when att.attribution_method != 'none' then sp.rep_avg_sentiment end as rep_sentiment,
    sp.avg_sentiment as all_speakers_sentiment,
    coalesce(sp.question_count, 0) as question_count,
    case when att.attribution_method != 'none' then coalesce(sp.rep_question_count, 0) end as rep_question_count,
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
    d.risk_flag_run_id,
    d.next_step_confirmed
from conversations as c
inner join {{ ref('dim_reps') }} as reps on c.rep_email = reps.rep_email
left join {{ ref('int_recordings_normalized') }} as rec on c.recording_id = rec.recording_id
left join analytics_metrics as am on c.conversation_id = am.conversation_id
left join {{ ref('int_conversation_rep_speech') }} as sp on c.conversation_id = sp.conversation_id
left join attribution as att on c.conversation_id = att.conversation_id
left join action_items as ai on c.conversation_id = ai.conversation_id
left join follow_ups as fu on c.conversation_id = fu.conversation_id
left join tracker_hits as th on c.conversation_id = th.conversation_id
left join topics as tp on c.conversation_id = tp.conversation_id
left join entities as en on c.conversation_id = en.conversation_id
left join {{ ref('int_discovery_bricks_pivoted') }} as d on c.conversation_id = d.conversation_id
