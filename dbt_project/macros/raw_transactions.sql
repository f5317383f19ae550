{#- Reading the raw transactions file and mapping its column names. -#}

{% macro normalise_column_name(name) -%}
    {{- return(modules.re.sub('[^a-z0-9]', '', (name | string) | lower)) -}}
{%- endmacro %}


{% macro quote_identifier(name) -%}
    {#- A column name of the input file as a SQL identifier. The name comes from the file's
        header (which anyone can write), so embedded double quotes are doubled: a header
        like `x"; drop table t; --` stays one harmless identifier. -#}
    {{- return('"' ~ (name | string).replace('"', '""') ~ '"') -}}
{%- endmacro %}


{% macro transaction_files() -%}
    {#- The input path(s) as a list of strings (var transactions_path: one path or a list). -#}
    {%- set p = var('transactions_path', env_var('RETENTION_TRANSACTIONS', 'warehouse/demo/transactions.parquet')) -%}
    {{- return([p | string] if p is string else p | map('string') | list) -}}
{%- endmacro %}


{% macro transaction_columns() %}
    {#- Returns {canonical name: column name in the file} for the eight input columns.
        var('column_map') wins; otherwise the first of var('column_aliases') present in
        the file. Names match ignoring case, spaces and punctuation. A column that cannot
        be found is a compile error that names the file, the column, what the file has,
        and how to map it. -#}
    {%- set canonical = ['invoice_no', 'stock_code', 'description', 'quantity',
                         'invoice_date', 'unit_price', 'customer_id', 'country'] -%}
    {%- if not execute -%}
        {%- set placeholder = {} -%}
        {%- for name in canonical -%}{%- do placeholder.update({name: name}) -%}{%- endfor -%}
        {{ return(placeholder) }}
    {%- endif -%}
    {%- set path = transaction_files() | join("', '") -%}
    {%- set described = run_query('describe select * from ' ~ source('raw', 'transactions')) -%}
    {%- set found = described.columns[0].values() | list -%}
    {%- set by_normal = {} -%}
    {%- for name in found -%}
        {%- do by_normal.setdefault(normalise_column_name(name), name) -%}
    {%- endfor -%}
    {%- set overrides = var('column_map', {}) or {} -%}
    {%- set aliases = var('column_aliases') -%}
    {%- for key in overrides -%}
        {%- if key not in canonical -%}
            {{ exceptions.raise_compiler_error(
                "var column_map has an unknown key '" ~ key ~ "'. Keys are the canonical names: "
                ~ canonical | join(', ') ~ ".") }}
        {%- endif -%}
    {%- endfor -%}
    {%- set mapping = {} -%}
    {%- set missing = [] -%}
    {%- for name in canonical -%}
        {%- set candidates = [overrides[name]] if name in overrides else aliases.get(name, []) -%}
        {%- set ns = namespace(hit=none) -%}
        {%- for candidate in candidates -%}
            {%- if ns.hit is none and normalise_column_name(candidate) in by_normal -%}
                {%- set ns.hit = by_normal[normalise_column_name(candidate)] -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if ns.hit is none -%}
            {%- do missing.append(name ~ " (looked for " ~ candidates | join(', ') ~ ")") -%}
        {%- else -%}
            {%- do mapping.update({name: ns.hit}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
        {{ exceptions.raise_compiler_error(
            "Transactions file '" ~ path ~ "' is missing required column(s): " ~ missing | join('; ')
            ~ ". The file has: " ~ found | join(', ')
            ~ ". Fix: rename the column in the file, or map it, e.g. --vars '{column_map: {"
            ~ missing[0].split(' ')[0] ~ ": \"<your column name>\"}}'.") }}
    {%- endif -%}
    {{ return(mapping) }}
{% endmacro %}

{#- SQL list of DuckDB's numeric type names as typeof() reports them, for columns a typed
    file (Parquet) already stores as numbers. -#}
{% macro numeric_type_names() -%}
'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER',
'UBIGINT', 'UHUGEINT', 'FLOAT', 'DOUBLE'
{%- endmacro %}
