{#
  Drops the views in the project's view schemas (staging, intermediate) that no model defines any more, after a
  `dbt run` or `dbt build`. dbt never drops a relation it stopped managing, so a renamed staging model would leave
  its old view behind in the live warehouse and in every analysts' copy published from it (the stg_<table> views
  renamed to stg_<source>__<entity> are the case in point). Tables (the marts) are never touched.
#}
{% macro drop_orphaned_views(schemas=['staging', 'intermediate']) %}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- set defined = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
            {%- do defined.append((node.schema ~ '.' ~ node.alias) | lower) -%}
        {%- endfor -%}
        {%- set found = run_query(
            "select schema_name, view_name from duckdb_views()"
            ~ " where not internal and database_name = current_database()"
            ~ " and schema_name in ('" ~ schemas | join("', '") ~ "')"
        ) -%}
        {%- for row in found.rows -%}
            {%- if (row[0] ~ '.' ~ row[1]) | lower not in defined -%}
                {%- do log('dropping view ' ~ row[0] ~ '.' ~ row[1] ~ ': no model defines it any more', info=true) -%}
                {%- do run_query('drop view if exists "' ~ row[0] ~ '"."' ~ row[1] ~ '"') -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}
