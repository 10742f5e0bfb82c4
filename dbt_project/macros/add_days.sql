{#- A date plus a whole number of days, as a DATE (DuckDB 2.x has no DATE + BIGINT). -#}
{% macro add_days(date_expr, days_expr) -%}
    cast({{ date_expr }} + to_days(cast({{ days_expr }} as integer)) as date)
{%- endmacro %}
