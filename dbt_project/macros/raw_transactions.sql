{#- Reading the raw transactions file and mapping its column names. -#}

{% macro normalise_column_name(name) -%}
    {{- return(modules.re.sub('[^a-z0-9]', '', (name | string) | lower)) -}}
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


{% macro create_raw_transactions() -%}
    {#- Run by on-run-start: makes source('raw', 'transactions') readable. DuckDB needs
        nothing (the source reads the file(s) in place through its external_location). -#}
    {{- return(adapter.dispatch('create_raw_transactions', 'retention')()) -}}
{%- endmacro %}

{% macro default__create_raw_transactions() -%}
    {{- return('') -}}
{%- endmacro %}

{% macro spark__create_raw_transactions() -%}
    {#- On Spark: one external table per input file (USING csv / parquet over the path, the
        file stays where it is) and the view raw.transactions over them in the order given,
        with each row's file number, file name and position in its file, so that staging
        numbers rows as DuckDB does (first file first, then by line). CSV is read as text,
        with RFC 4180 quoting (a doubled quote inside quotes) and quoted line breaks; the
        delimiter is var csv_delimiter (default comma: Spark does not detect it; the runner
        passes the detected one). Returns the last statement for the hook to run. -#}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set paths = transaction_files() -%}
    {%- set is_parquet = paths[0].lower().endswith('.parquet') or paths[0].lower().endswith('.parq') -%}
    {%- set encodings = {'utf-8': 'UTF-8', 'latin-1': 'ISO-8859-1', 'utf-16': 'UTF-16'} -%}
    {%- set encoding = var('csv_encoding', '') | string | lower -%}
    {%- set delimiter = var('csv_delimiter', '') | string -%}
    {%- set schema = source('raw', 'transactions').schema -%}
    {%- set names = var('source_file_names', {}) or {} -%}
    {%- do run_query('create schema if not exists ' ~ schema) -%}
    {%- set selects = [] -%}
    {%- set ns = namespace(columns=none) -%}
    {%- for path in paths -%}
        {%- set table = schema ~ '.transactions_file_' ~ loop.index -%}
        {%- set options = ['path ' ~ sql_string_literal(path)] -%}
        {%- if not is_parquet -%}
            {%- do options.extend(["header 'true'", "inferSchema 'false'", "multiLine 'true'",
                                   "quote '\"'", "escape '\"'", "mode 'PERMISSIVE'",
                                   "sep " ~ sql_string_literal(delimiter or ','),
                                   "encoding " ~ sql_string_literal(encodings.get(encoding, 'UTF-8'))]) -%}
        {%- endif -%}
        {%- do run_query('drop table if exists ' ~ table) -%}
        {%- do run_query('create table ' ~ table ~ ' using ' ~ ('parquet' if is_parquet else 'csv')
                         ~ ' options (' ~ options | join(', ') ~ ')') -%}
        {%- if ns.columns is none -%}
            {%- set ns.columns = run_query('describe table ' ~ table).columns[0].values() | list -%}
            {%- set ns.columns = ns.columns[:ns.columns.index('') if '' in ns.columns else ns.columns | length]
                                 | reject('equalto', '# Partition Information') | list -%}
        {%- endif -%}
        {%- set quoted = [] -%}
        {%- for column in ns.columns -%}{%- do quoted.append(quote_identifier(column)) -%}{%- endfor -%}
        {%- do selects.append('select ' ~ quoted | join(', ')
            ~ ', ' ~ loop.index ~ ' as _file_number'
            ~ ', ' ~ sql_string_literal(names.get(path, path.replace('\\', '/').split('/')[-1])) ~ ' as _file_name'
            ~ ', monotonically_increasing_id() as _file_row'
            ~ ' from ' ~ table) -%}
    {%- endfor -%}
    {%- do run_query(spark_campaigns_view(schema)) -%}
    {{- return('create or replace view ' ~ schema ~ '.transactions as ' ~ selects | join(' union all ')) -}}
{%- endmacro %}


{% macro spark_campaigns_view(schema) -%}
    {#- On Spark: the view raw.campaigns over the campaign files (var campaigns_path; CSV with a
        comma delimiter, read as text, or Parquet), with each row's file number, file name and
        position like raw.transactions; without campaign files, an empty view of the same
        columns. Returns the statement. -#}
    {%- set files = campaign_files() -%}
    {%- if not files -%}
        {{- return('create or replace view ' ~ schema ~ '.campaigns as select '
            ~ 'cast(null as string) as campaign_id, cast(null as string) as customer_id, '
            ~ 'cast(null as string) as `group`, cast(null as string) as contacted_at, '
            ~ 'cast(null as int) as _file_number, cast(null as string) as _file_name, '
            ~ 'cast(null as bigint) as _file_row from (select 1 as one) as single_row where 1 = 0') -}}
    {%- endif -%}
    {%- set is_parquet = files[0].lower().endswith('.parquet') or files[0].lower().endswith('.parq') -%}
    {%- set selects = [] -%}
    {%- for path in files -%}
        {%- set table = schema ~ '.campaigns_file_' ~ loop.index -%}
        {%- set options = ['path ' ~ sql_string_literal(path)] -%}
        {%- if not is_parquet -%}
            {%- do options.extend(["header 'true'", "inferSchema 'false'", "multiLine 'true'", "quote '\"'",
                                   "escape '\"'", "mode 'PERMISSIVE'", "sep ','"]) -%}
        {%- endif -%}
        {%- do run_query('drop table if exists ' ~ table) -%}
        {%- do run_query('create table ' ~ table ~ ' using ' ~ ('parquet' if is_parquet else 'csv')
                         ~ ' options (' ~ options | join(', ') ~ ')') -%}
        {%- do selects.append('select cast(campaign_id as string) as campaign_id, '
            ~ 'cast(customer_id as string) as customer_id, cast(`group` as string) as `group`, '
            ~ 'cast(contacted_at as string) as contacted_at, ' ~ loop.index ~ ' as _file_number, '
            ~ sql_string_literal(path.replace('\\', '/').split('/')[-1]) ~ ' as _file_name, '
            ~ 'monotonically_increasing_id() as _file_row from ' ~ table) -%}
    {%- endfor -%}
    {{- return('create or replace view ' ~ schema ~ '.campaigns as ' ~ selects | join(' union all ')) -}}
{%- endmacro %}


{% macro campaign_files() -%}
    {#- The campaign file(s) as a list of strings (var campaigns_path: one path, a glob or a
        list; empty: none). -#}
    {%- set p = var('campaigns_path', '') or [] -%}
    {{- return(([p | string] if p is string else p | map('string') | list) | reject('equalto', '') | list) -}}
{%- endmacro %}


{% macro clean_customer_id(expression) -%}
    {#- A customer id as text, the same in every file: trimmed, the placeholders that
        spreadsheet and pandas exports write for "no customer" (nan, none, n/a, ...) as null, and
        a float's '.0' dropped ('12346.0' -> '12346'). -#}
    case
            when lower(trim({{ expression }})) in ('nan', 'none', 'null', 'n/a', 'na', '#n/a', '-')
                then null
            when contains({{ expression }}, '.')
                then {{ retention.regexp_replace("nullif(trim(" ~ expression ~ "), '')", '^([0-9]+)[.]0+$', '\\1') }}
            else nullif(trim({{ expression }}), '')
        end
{%- endmacro %}
