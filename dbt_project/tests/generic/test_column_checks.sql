{#- The rules written on a model's columns, checked in one pass over the model (one test node per
    model instead of one per rule: dbt's fixed cost per node was half of a small build).

    A column states its rules in `config: {meta: {checks: {...}}}`:
      not_null: true      no NULL
      min: X / max: Y     every non-NULL value in [X, Y]; with inclusive: false, in (X, Y)
      values: [a, b]      every non-NULL value is one of these (compared as text)
      expression: "..."   a condition on the row's columns that must be true (NULL fails),
                          e.g. "orders_90d >= orders_30d"

    Declared once on the model (`data_tests: [column_checks]`; a `where` config applies to every
    rule). Returns one row per broken rule, with the column, the rule and how many rows break it;
    the test fails with their sum, and the build's failure message lists the rows. -#}
{% test column_checks(model) %}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set rules = [] %}
{%- if execute %}
    {%- set node = column_checks_model_node(this.identifier) %}
    {%- for column in node.columns.values() %}
        {%- set checks = (column.meta or {}).get('checks', {}) %}
        {%- set name = adapter.quote(column.name) if column.quote else column.name %}
        {%- set strict = checks.get('inclusive', true) is false %}
        {%- if checks.get('not_null') %}
            {%- do rules.append((name, 'not null', name ~ ' is null')) %}
        {%- endif %}
        {%- for bound, strict_op, op in [('min', '>', '>='), ('max', '<', '<=')] if checks.get(bound) is not none %}
            {%- set op = strict_op if strict else op %}
            {%- do rules.append((name, op ~ ' ' ~ checks[bound], name ~ ' is not null and not (' ~ name ~ ' ' ~ op ~ ' ' ~ checks[bound] ~ ')')) %}
        {%- endfor %}
        {%- if checks.get('values') is not none %}
            {%- set listed = [] %}
            {%- for value in checks['values'] %}{% do listed.append("'" ~ (value | string | replace("'", "''")) ~ "'") %}{% endfor %}
            {%- do rules.append((name, 'one of ' ~ (checks['values'] | join(', ')), name ~ ' is not null and cast(' ~ name ~ ' as ' ~ dbt.type_string() ~ ') not in (' ~ (listed | join(', ')) ~ ')')) %}
        {%- endif %}
        {%- if checks.get('expression') is not none %}
            {%- do rules.append((name, checks['expression'], 'not coalesce(' ~ checks['expression'] ~ ', false)')) %}
        {%- endif %}
    {%- endfor %}
    {%- if not rules %}
        {{ exceptions.raise_compiler_error("column_checks on " ~ node.name ~ ": no column of it has meta.checks; remove the test or add the rules (" ~ node.original_file_path ~ ")") }}
    {%- endif %}
{%- endif %}
with broken as (
    select
    {%- for column, rule, condition in rules %}
        sum(case when {{ condition }} then 1 else 0 end) as rule_{{ loop.index }}{{ ',' if not loop.last }}
    {%- endfor %}
    from {{ model }}
)
{%- for column, rule, condition in rules %}
select '{{ column | replace('"', '') }}' as column_name, '{{ rule | replace("'", "''") }}' as rule, rule_{{ loop.index }} as failing_rows
from broken where rule_{{ loop.index }} > 0
{{ 'union all' if not loop.last }}
{%- endfor %}
{% endtest %}
