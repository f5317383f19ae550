{% macro as_of_date_literal() -%}
    {#- The as_of_date var as a SQL date literal, or none when it is not set.
        Validated so that a var can never inject SQL. -#}
    {%- set value = var('as_of_date', '') -%}
    {%- if value is none or (value | string | trim) == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error(
            "var as_of_date='" ~ text ~ "' is not a date. Use YYYY-MM-DD, e.g. --vars '{as_of_date: 2011-12-10}'.") }}
    {%- endif -%}
    {{ return("date '" ~ text ~ "'") }}
{%- endmacro %}


{% macro positive_int_var(name) -%}
    {%- set value = var(name) -%}
    {%- if not modules.re.match('^[0-9]+$', value | string | trim) or (value | int) < 1 -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ "='" ~ value ~ "' must be a whole number of at least 1.") }}
    {%- endif -%}
    {{- return(value | int) -}}
{%- endmacro %}


{% macro number_var(name, min_value, max_value) -%}
    {#- A numeric var as a SQL literal, validated to lie in [min_value, max_value]. -#}
    {%- set value = var(name) -%}
    {%- if not modules.re.match('^-?[0-9]+([.][0-9]+)?$', value | string | trim)
           or (value | float) < min_value or (value | float) > max_value -%}
        {{ exceptions.raise_compiler_error(
            "var " ~ name ~ "='" ~ value ~ "' must be a number from " ~ min_value ~ " to " ~ max_value ~ ".") }}
    {%- endif -%}
    {{- return(value | float) -}}
{%- endmacro %}
