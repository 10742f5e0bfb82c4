-- One row per completed conversation: did the call hit every required-disclosure tracker
-- (var required_disclosure_trackers, tracker names from trackers.yaml)? A hit counts from any speaker's message.
{%- set required = var('required_disclosure_trackers', []) %}
{%- set required_list -%}
    [{% for t in required %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %}]::varchar[]
{%- endset %}
with required as (
    select unnest({{ required_list }}) as tracker_name
),

hits as (
    select distinct
        conversation_id,
        tracker_name
    from {{ ref('stg_symbl__tracker_hits') }}
    where coalesce(ref_type, 'message') = 'message'
),

missing as (
    select
        f.conversation_id,
        list_sort(list(r.tracker_name)) as missing_disclosures
    from {{ ref('fct_conversations') }} as f
    cross join required as r
    left join hits as h on f.conversation_id = h.conversation_id and r.tracker_name = h.tracker_name
    where h.conversation_id is null
    group by f.conversation_id
)

select
    f.conversation_id,
    f.recording_id,
    f.rep_email,
    f.rep_name,
    f.team,
    f.account_name,
    f.call_type,
    f.conversation_date,
    f.fiscal_quarter,
    coalesce(m.missing_disclosures, []::varchar[]) as missing_disclosures,
    {{ required_list }} as required_disclosures,
    m.conversation_id is null as is_compliant
from {{ ref('fct_conversations') }} as f
left join missing as m on f.conversation_id = m.conversation_id
