-- One row per action item of a completed conversation: the commitment, whose side owns it (rep or customer),
-- when it is due (anchored to the day of the call, see below) and whether it is still open.
--
-- Due dates. Symbl resolves a spoken date ("by Friday") against the conversation's startTime. For text
-- submissions the pipeline sends each message's real timestamp, so that is the call's own start; for audio and
-- video the Async API has no parameter for when the recording happened and startTime is the submit time, so every
-- relative date lands relative to the processing day. The pipeline does not change what Symbl returned
-- (symbl_due_date keeps it); this model re-anchors it to the call's date from the words that were said
-- (the date entity of the verbatim response), following the same rules Symbl's date grammar uses:
--   explicit dates ("March 3rd", "3/14", "2026-04-10")  -> kept as resolved (they do not depend on the day);
--   a weekday ("Friday", "this Friday", "next Friday")  -> that weekday counted from the call's date;
--   "next week" / "end of the week|month|quarter|year"  -> counted from the call's date;
--   anything else ("today", "tomorrow", "in 3 days")    -> the same number of days after the call as Symbl put
--                                                          after its reference day.
with responses as (
    select
        conversation_id,
        body
    from {{ ref('stg_symbl__responses') }}
    where endpoint = 'action_items'
),

response_items as (
    select
        conversation_id,
        unnest(coalesce(cast(json_extract(body, '$.actionItems') as json[]), [])) as item
    from responses
),

item_entities as (
    select
        conversation_id,
        json_extract_string(item, '$.id') as action_item_id,
        unnest(coalesce(cast(json_extract(item, '$.entities') as json[]), [])) as entity
    from response_items
),

-- The words behind each dueBy ("by Friday", "March 3rd"): the typed table keeps only the resolved timestamp.
due_phrases as (
    select
        conversation_id,
        action_item_id,
        min(json_extract_string(entity, '$.text')) as due_phrase
    from item_entities
    where json_extract_string(entity, '$.type') = 'date'
    group by conversation_id, action_item_id
),

conversations as (
    select
        f.conversation_id,
        f.recording_id,
        f.rep_email,
        f.rep_name,
        f.team,
        f.account_name,
        f.started_at,
        f.conversation_date,
        f.fiscal_quarter,
        c.host_name,
        c.media_kind,
        -- The day Symbl resolved relative dates against.
        case
            when c.media_kind = 'transcript_file' then f.conversation_date
            else cast(c.submitted_at as date)
        end as symbl_reference_date
    from {{ ref('fct_conversations') }} as f
    inner join {{ ref('int_conversations_completed') }} as c on f.conversation_id = c.conversation_id
),

items as (
    select
        a.conversation_id,
        a.action_item_id,
        a.action_item_text,
        a.score,
        a.is_definitive,
        a.assignee_name,
        -- emails lower-cased: compared with the rep's (already lower-case) and shown as the owner
        lower(trim(a.assignee_email)) as assignee_email,
        a.from_name,
        lower(trim(a.from_email)) as from_email,
        c.recording_id,
        c.rep_email,
        c.rep_name,
        c.team,
        c.account_name,
        c.started_at,
        c.conversation_date,
        c.fiscal_quarter,
        c.host_name,
        c.media_kind,
        c.symbl_reference_date,
        p.due_phrase,
        lower(trim(p.due_phrase)) as phrase,
        cast(a.due_by as date) as symbl_due_date,
        cast(date_trunc('week', c.conversation_date) as date) as call_week_monday
    from {{ ref('stg_symbl__action_items') }} as a
    inner join conversations as c on a.conversation_id = c.conversation_id
    left join due_phrases as p
        on a.conversation_id = p.conversation_id and a.action_item_id = p.action_item_id
),

classified as (
    select
        *,
        case
            when symbl_due_date is null then null
            when symbl_reference_date = conversation_date then 'as_returned'
            when
                regexp_matches(
                    coalesce(phrase, ''),
                    -- "March 3", "3rd of March", "3/14" or "2026-04-10"
                    '\b(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d'
                    || '|\d(st|nd|rd|th)?\s+of\s+[a-z]+|\d{1,4}[/-]\d'
                )
                then 'explicit_date'
            when regexp_matches(coalesce(phrase, ''), '\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b')
                then 'weekday'
            when regexp_matches(coalesce(phrase, ''), '\bnext\s+week\b') then 'next_week'
            when regexp_matches(coalesce(phrase, ''), '\bend\s+of\s+(the\s+)?(week|month|quarter|year)\b')
                then 'end_of_period'
            else 'day_offset'
        end as due_date_anchoring
    from items
),

anchored as (
    select
        *,
        case due_date_anchoring
            when 'as_returned' then symbl_due_date
            when 'explicit_date' then symbl_due_date
            when 'weekday'
                then
                    case
                        when
                            regexp_matches(
                                phrase, '\bnext\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b'
                            )
                            then {{ add_days('call_week_monday', '6 + isodow(symbl_due_date)') }}
                        when
                            regexp_matches(
                                phrase, '\bthis\s+(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b'
                            )
                            then {{ add_days('call_week_monday', 'isodow(symbl_due_date) - 1'
                            ~ ' + case when isodow(symbl_due_date) < isodow(conversation_date) then 7 else 0 end') }}
                        -- a bare weekday is its next occurrence strictly after the day of the call
                        else {{ add_days(
                            'conversation_date', '((isodow(symbl_due_date) - isodow(conversation_date) + 6) % 7) + 1'
                        ) }}
                    end
            when 'next_week' then {{ add_days('call_week_monday', '7') }}
            when 'end_of_period'
                then
                    case
                        when regexp_matches(phrase, 'week')
                            then {{ add_days(
                                'call_week_monday', 'case when isodow(conversation_date) <= 5 then 4 else 11 end'
                            ) }}
                        when regexp_matches(phrase, 'month') then last_day(conversation_date)
                        when regexp_matches(phrase, 'quarter')
                            then last_day(cast(date_trunc('quarter', conversation_date) as date) + interval 2 month)
                        else make_date(year(conversation_date), 12, 31)
                    end
            else {{ add_days('conversation_date', 'date_diff(\'day\', symbl_reference_date, symbl_due_date)') }}
        end as due_date
    from classified
),

owned as (
    select
        *,
        case
            when coalesce(nullif(trim(assignee_email), ''), nullif(trim(assignee_name), '')) is not null
                then 'assignee'
            when coalesce(nullif(trim(from_email), ''), nullif(trim(from_name), '')) is not null then 'speaker'
        end as owner_source,
        coalesce(
            nullif(trim(assignee_email), ''), nullif(trim(assignee_name), ''),
            nullif(trim(from_email), ''), nullif(trim(from_name), '')
        ) as owner
    from anchored
),

sided as (
    select
        *,
        case owner_source
            when 'assignee'
                then
                    case
                        when
                            {{ is_rep('assignee_email', 'null', 'assignee_name', 'rep_email', 'host_name') }}
                            or split_part(assignee_email, '@', 2) = split_part(rep_email, '@', 2) then 'rep'
                        else 'customer'
                    end
            when 'speaker'
                then
                    case
                        when
                            {{ is_rep('from_email', 'null', 'from_name', 'rep_email', 'host_name') }}
                            or split_part(from_email, '@', 2) = split_part(rep_email, '@', 2) then 'rep'
                        else 'customer'
                    end
            else 'unknown'
        end as owner_side
    from owned
),

-- The first later call with the same account (any rep): the next chance the commitment was followed up.
next_calls as (
    select
        s.conversation_id,
        s.action_item_id,
        min(later.conversation_date) as next_account_call_date
    from sided as s
    inner join conversations as later
        on s.account_name = later.account_name and s.started_at < later.started_at
    group by s.conversation_id, s.action_item_id
)

select
    s.conversation_id,
    s.action_item_id,
    s.recording_id,
    s.action_item_text,
    s.score,
    s.is_definitive,
    s.owner,
    s.owner_side,
    s.owner_source,
    s.assignee_name,
    s.assignee_email,
    s.rep_email,
    s.rep_name,
    s.team,
    s.account_name,
    s.conversation_date,
    s.fiscal_quarter,
    s.due_phrase,
    s.symbl_due_date,
    s.symbl_reference_date,
    s.due_date,
    s.due_date_anchoring,
    n.next_account_call_date,
    -- Symbl has no completion signal. Closed: the account was met again on or after the due date (or, with no
    -- due date, at all), so the commitment came due before a follow-up conversation. Open: otherwise.
    case
        when
            n.next_account_call_date is not null
            and (s.due_date is null or n.next_account_call_date >= s.due_date) then 'closed'
        else 'open'
    end as status,
    -- Open, and its (anchored) due date has passed.
    not coalesce(
        n.next_account_call_date is not null
        and (s.due_date is null or n.next_account_call_date >= s.due_date), false
    ) and coalesce(s.due_date < current_date, false) as is_overdue
from sided as s
left join next_calls as n
    on s.conversation_id = n.conversation_id and s.action_item_id = n.action_item_id
