-- One row per completed Symbl conversation: its recording's rep, account and day, and the fiscal year and quarter of
-- that day (macros/fiscal_calendar.sql). The start month is passed explicitly so that a unit test can override it.
{%- set start_month = var('fiscal_year_start_month', 1) %}

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
    {{ fiscal_year('r.partition_date', start_month) }} as fiscal_year,
    {{ fiscal_quarter_label('r.partition_date', start_month) }} as fiscal_quarter,
    r.duration_seconds as recording_duration_seconds,
    r.media_kind,
    c.submitted_at,
    r.has_channel_map,
    -- The host is on a channel of the channel map: their channel's speech is theirs, even when silent.
    coalesce(
        list_contains(
            -- RF02 reads the lambda's parameter `x` as an unqualified column
            list_transform(json_extract_string(r.channel_map, '$[*].email'), lambda x: lower(trim(x))), -- noqa: RF02
            r.host_email
        ),
        false
    ) as rep_has_channel
from {{ ref('stg_symbl__conversations') }} as c
inner join {{ ref('int_recordings_normalized') }} as r on c.recording_id = r.recording_id
where c.status = 'completed' and c.conversation_id is not null
