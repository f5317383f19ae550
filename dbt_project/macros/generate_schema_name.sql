{#- Models land in a schema named after their layer (staging, intermediate, features, ml,
    marts; seeds in reference) rather than dbt's default <target>_<layer>, so analysts and
    BI tools see short, stable names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
