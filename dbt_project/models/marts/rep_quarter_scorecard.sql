-- One row per rep x fiscal quarter in which the rep had at least one completed conversation.
select
    f.rep_email,
    any_value(f.rep_name) as rep_name,
    any_value(f.team) as team,
    any_value(f.region) as region,
    f.fiscal_year,
    f.fiscal_quarter,
    {{ scorecard_metrics('f') }}
from {{ ref('fct_conversations') }} as f
group by f.rep_email, f.fiscal_year, f.fiscal_quarter
