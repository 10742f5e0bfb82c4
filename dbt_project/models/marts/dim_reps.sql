-- Every rep: the roster, plus every recording host missing from it. The `unassigned` convention: a host that is
-- not in the roster still gets a row (so their calls are never dropped from the marts), with team and region
-- 'unassigned', no manager, is_rostered = false, and the name they used on their most recent recording.
with roster as (
    select
        lower(trim(rep_email)) as rep_email,
        rep_name,
        team,
        region,
        lower(trim(manager_email)) as manager_email
    from {{ ref('rep_roster') }}
),

unrostered_hosts as (
    select
        host_email as rep_email,
        arg_max(host_name, started_at) as rep_name
    from {{ ref('int_recordings_normalized') }}
    where host_email not in (select roster.rep_email from roster)
    group by host_email
)

select
    rep_email,
    rep_name,
    team,
    region,
    manager_email,
    true as is_rostered
from roster

union all

select
    rep_email,
    coalesce(rep_name, rep_email) as rep_name,
    'unassigned' as team,
    'unassigned' as region,
    cast(null as varchar) as manager_email,
    false as is_rostered
from unrostered_hosts
