{#
  Fiscal calendar. The fiscal year starts in month `start_month` (var `fiscal_year_start_month`, default 1) and is
  named by the calendar year in which it ENDS: with start month 2, 2026-03-15 falls in FY2027 (Feb 2026 - Jan 2027)
  Q1; with start month 1, 2026-04-07 is FY2026 Q2. Every macro takes an optional explicit start month so the
  convention can be tested independently of the project's var.
#}

{% macro fiscal_start_month(start_month=none) -%}
    {%- set month = (start_month if start_month is not none else var('fiscal_year_start_month', 1)) | int -%}
    {%- if month < 1 or month > 12 -%}
        {{ exceptions.raise_compiler_error("fiscal_year_start_month must be 1..12, got " ~ month) }}
    {%- endif -%}
    {{ return(month) }}
{%- endmacro %}

{% macro fiscal_year(date_expr, start_month=none) -%}
    {%- set month = fiscal_start_month(start_month) -%}
    {%- if month == 1 -%}
        cast(year({{ date_expr }}) as integer)
    {%- else -%}
        {#- Months from the start month onwards belong to the fiscal year ending next calendar year. -#}
        cast(year({{ date_expr }}) + case when month({{ date_expr }}) >= {{ month }} then 1 else 0 end as integer)
    {%- endif -%}
{%- endmacro %}

{% macro fiscal_quarter_number(date_expr, start_month=none) -%}
    {%- set month = fiscal_start_month(start_month) -%}
    cast((month({{ date_expr }}) - {{ month }} + 12) % 12 // 3 + 1 as integer)
{%- endmacro %}

{% macro fiscal_quarter_label(date_expr, start_month=none) -%}
    ('FY' || cast({{ fiscal_year(date_expr, start_month) }} as varchar)
        || '-Q' || cast({{ fiscal_quarter_number(date_expr, start_month) }} as varchar))
{%- endmacro %}
