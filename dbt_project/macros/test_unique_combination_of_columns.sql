{#
  Generic test: no two rows share the same values in `combination_of_columns` (NULLs compare equal, as in
  GROUP BY). The project avoids dbt_utils (no package downloads), so this is its own small version.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns_csv = combination_of_columns | join(', ') %}
    select {{ columns_csv }}, count(*) as n_rows
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}
