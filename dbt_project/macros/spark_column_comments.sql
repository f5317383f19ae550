{#- A view's column descriptions as Spark stores them (dbt-spark's own macro, with one change). The
    local metastore (Derby) keeps a column comment in VARCHAR(256): with a longer description the
    view's columns fail to be written, and the Hive client retries that 10 times, 2 s apart (20 s per
    view), before going on without them. The metastore gets the description cut to 256 characters;
    the docs site and DuckDB keep it whole. -#}
{% macro get_column_comment_sql(column_name, column_dict) -%}
  {%- set column_comment_clause = "" %}
  {%- if column_name in column_dict and column_dict[column_name]["description"] -%}
    {%- set description = column_dict[column_name]["description"] | trim %}
    {%- if description | length > spark_comment_limit() %}
      {%- set description = description[:spark_comment_limit() - 1] ~ "…" %}
    {%- endif %}
    {%- set column_comment_clause = "comment '" ~ (description | replace("\\", "\\\\") | replace("'", "\\'")) ~ "'" %}
  {%- endif -%}
  {{ adapter.quote(column_name) }} {{ column_comment_clause }}
{% endmacro %}

{#- The longest column comment the local metastore stores (Derby's COLUMNS_V2.COMMENT). -#}
{% macro spark_comment_limit() %}{{ return(256) }}{% endmacro %}
