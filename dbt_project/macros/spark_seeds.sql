{#- Seeds on Spark. dbt-spark's `session` method writes seed values into the INSERT
    unescaped ("Can't Lose" ends the string literal early) and a missing value as the text
    'None'; this override (found before the adapter's own) writes every value as a
    literal: strings escaped, empty cells null. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set rows = [] -%}
        {%- for row in chunk -%}
            {%- set values = [] -%}
            {%- for col_name in agate_table.column_names -%}
                {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                {%- set value = row[loop.index0] -%}
                {%- if value is none -%}
                    {%- set literal = 'null' -%}
                {%- elif value is sameas true or value is sameas false -%}
                    {%- set literal = value | string | lower -%}
                {%- elif value is number -%}
                    {%- set literal = value | string -%}
                {%- else -%}
                    {%- set literal = sql_string_literal(value) -%}
                {%- endif -%}
                {%- do values.append('cast(' ~ literal ~ ' as ' ~ type ~ ')') -%}
            {%- endfor -%}
            {%- do rows.append('(' ~ values | join(', ') ~ ')') -%}
        {%- endfor -%}
        {%- set sql = 'insert into ' ~ this.render() ~ ' values\n' ~ rows | join(',\n') -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- do statements.append(sql) if loop.first -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
