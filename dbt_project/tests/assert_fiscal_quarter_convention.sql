-- The fiscal calendar macros against hand-checked dates. The fiscal year is named by the calendar year in which it
-- ENDS. Each case passes its own start month, so the convention is tested whatever the project's var says.
-- Returns the cases that disagree (a passing test returns no rows).
{%- set cases = [
    ('2026-03-15', 2, 2027, 1, 'FY2027-Q1'),
    ('2026-01-31', 2, 2026, 4, 'FY2026-Q4'),
    ('2026-02-01', 2, 2027, 1, 'FY2027-Q1'),
    ('2026-04-07', 1, 2026, 2, 'FY2026-Q2'),
    ('2026-01-01', 1, 2026, 1, 'FY2026-Q1'),
    ('2026-12-31', 1, 2026, 4, 'FY2026-Q4'),
    ('2026-06-30', 7, 2026, 4, 'FY2026-Q4'),
    ('2026-07-01', 7, 2027, 1, 'FY2027-Q1'),
    ('2026-10-15', 10, 2027, 1, 'FY2027-Q1'),
    ('2026-09-30', 10, 2026, 4, 'FY2026-Q4'),
    ('2026-11-30', 12, 2026, 4, 'FY2026-Q4'),
    ('2026-12-01', 12, 2027, 1, 'FY2027-Q1'),
    ('2027-02-28', 12, 2027, 1, 'FY2027-Q1'),
    ('2027-03-01', 12, 2027, 2, 'FY2027-Q2'),
] %}

with results as (
    {% for day, start_month, expected_year, expected_quarter, expected_label in cases %}
        select
            date '{{ day }}' as day,
            {{ start_month }} as start_month,
            {{ fiscal_year("date '" ~ day ~ "'", start_month) }} as fiscal_year,
            {{ fiscal_quarter_number("date '" ~ day ~ "'", start_month) }} as fiscal_quarter_number,
            {{ fiscal_quarter_label("date '" ~ day ~ "'", start_month) }} as fiscal_quarter,
            {{ expected_year }} as expected_year,
            {{ expected_quarter }} as expected_quarter_number,
            '{{ expected_label }}' as expected_quarter
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select *
from results
where
    fiscal_year <> expected_year
    or fiscal_quarter_number <> expected_quarter_number
    or fiscal_quarter <> expected_quarter
