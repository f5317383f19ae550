{#- Vars as SQL literals, checked against the rules in var `var_rules` of dbt_project.yml (the
    one owner of the bounds: the runner's preflight reads the same rules before any SQL runs).
    A var that breaks its rule stops the compile with the fix; nothing a var holds can become
    SQL other than a checked number or date. -#}

{% macro as_of_date_literal() -%}
    {#- The as_of_date var as a SQL date literal, or none when it is not set. -#}
    {{- return(date_var_sql('as_of_date')) -}}
{%- endmacro %}


{% macro date_var_sql(name) -%}
    {#- A date var (YYYY-MM-DD) as a SQL date literal, or none when it is not set. -#}
    {%- set value = var(name, '') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ "='" ~ text ~ "' is not a date. Use YYYY-MM-DD, e.g. --vars '{" ~ name ~ ": 2011-12-10}'.") }}
    {%- endif -%}
    {{ return("date '" ~ text ~ "'") }}
{%- endmacro %}


{% macro campaign_id_literal() -%}
    {#- The var campaign_id as a SQL string literal, or none when it is not set (the campaign is
        then named retention_<as_of_date>). Letters, digits and _ . - : only, at most 64. -#}
    {%- set value = var('campaign_id', '') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[A-Za-z0-9_.:-]{1,64}$', text) -%}
        {{ exceptions.raise_compiler_error("var campaign_id='" ~ text ~ "' may hold letters, digits and _ . - : "
            ~ "only (at most 64). Fix: e.g. --campaign-id spring_2012.") }}
    {%- endif -%}
    {{ return("'" ~ text ~ "'") }}
{%- endmacro %}


{% macro choice_var(name, choices) -%}
    {#- A var that must be one of a few words, as a SQL string literal. -#}
    {%- set value = var(name) | string | trim -%}
    {%- if value not in choices -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ "='" ~ value ~ "' must be one of " ~ choices | join(', ')
            ~ ". Fix: --vars '{" ~ name ~ ": " ~ choices[0] ~ "}'.") }}
    {%- endif -%}
    {{- return("'" ~ value ~ "'") -}}
{%- endmacro %}


{% macro _check_number(name, value, rule) -%}
    {%- set text = value | string | trim -%}
    {%- set pattern = '^[0-9]+$' if rule.type == 'integer' else '^-?[0-9]+([.][0-9]+)?$' -%}
    {%- set low, high = rule.get('min'), rule.get('max') -%}
    {%- set ok = value is not boolean and modules.re.match(pattern, text) is not none -%}
    {%- if ok and low is not none -%}
        {%- set ok = (text | float) > low if rule.get('exclusive_min') else (text | float) >= low -%}
    {%- endif -%}
    {%- if ok and high is not none -%}{%- set ok = (text | float) <= high -%}{%- endif -%}
    {%- if not ok -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ "='" ~ value ~ "' must be "
            ~ ("a whole number" if rule.type == 'integer' else "a number")
            ~ ((" above " if rule.get('exclusive_min') else " from ") ~ low if low is not none else "")
            ~ (" to " ~ high if high is not none else "") ~ ". Fix: --vars '{" ~ name ~ ": ...}'.") }}
    {%- endif -%}
    {{- return((text | int) if rule.type == 'integer' else (text | float)) -}}
{%- endmacro %}


{% macro checked_var(name) -%}
    {#- The value of a var after its rule: a number, a list of numbers, or none for an unset
        optional var. -#}
    {%- set rule = var('var_rules')[name] -%}
    {%- set value = var(name, none) -%}
    {%- if value is none or (value is string and value | trim == '') -%}
        {%- if rule.get('optional') -%}{{ return(none) }}{%- endif -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " is not set. Fix: --vars '{" ~ name ~ ": ...}'.") }}
    {%- endif -%}
    {%- if rule.type == 'number_list' -%}
        {%- if value is string or value is not iterable or value | length == 0 -%}
            {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a list of numbers, e.g. [0.1, 0.2].") }}
        {%- endif -%}
        {%- set numbers = [] -%}
        {%- for item in value -%}
            {%- do numbers.append(retention._check_number(name, item, {'type': 'number', 'min': rule.get('min'), 'max': rule.get('max')})) -%}
        {%- endfor -%}
        {{- return(numbers) -}}
    {%- endif -%}
    {{- return(retention._check_number(name, value, rule)) -}}
{%- endmacro %}


{% macro var_literal(name) -%}
    {#- A checked numeric var as SQL: the number, or a typed null for an unset optional var. -#}
    {%- set value = checked_var(name) -%}
    {%- if value is none -%}
        {{- return('cast(null as double)') -}}
    {%- endif -%}
    {{- return(value) -}}
{%- endmacro %}




{% macro scenario_var(name) -%}
    {#- A var naming a scenario of seed campaign_scenarios, as a SQL string literal. -#}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.match('^[A-Za-z0-9_]+$', value) -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ "='" ~ value ~ "' is not a scenario name of seed campaign_scenarios.") }}
    {%- endif -%}
    {{- return("'" ~ value ~ "'") -}}
{%- endmacro %}
