-- One row per team x fiscal quarter, aggregated over the team's conversations (not over rep averages).
select
    f.team,
    f.fiscal_year,
    f.fiscal_quarter,
    count(distinct f.rep_email) as active_reps,
    {{ scorecard_metrics('f') }}
from {{ ref('fct_conversations') }} as f
group by f.team, f.fiscal_year, f.fiscal_quarter
