{#
  Models land in exactly the schema they configure (`staging`, `marts`, `seeds`), not dbt's default
  `<target schema>_<custom schema>`: analysts and the Dagster assets address `marts.fct_conversations`.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
