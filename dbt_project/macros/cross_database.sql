{#- The few places where DuckDB and Spark SQL really differ. Everything else in the models
    is plain SQL or one of dbt's cross-database macros (dbt.datediff, dbt.dateadd,
    dbt.date_trunc, dbt.type_string, dbt.split_part, ...). Each macro here has a
    default__ implementation (DuckDB, the main target) and a spark__ one; the DuckDB SQL is
    exactly what the models used before they ran on Spark. -#}


{% macro quote_identifier(name) -%}
    {#- A column name of the input file as a SQL identifier. The name comes from the file's
        header (which anyone can write), so the quote character is doubled inside it: a
        header like `x"; drop table t; --` stays one harmless identifier. -#}
    {{- return(adapter.dispatch('quote_identifier', 'retention')(name)) -}}
{%- endmacro %}

{% macro default__quote_identifier(name) -%}
    {{- return('"' ~ (name | string).replace('"', '""') ~ '"') -}}
{%- endmacro %}

{% macro spark__quote_identifier(name) -%}
    {{- return('`' ~ (name | string).replace('`', '``') ~ '`') -}}
{%- endmacro %}


{% macro sql_string_literal(text) -%}
    {#- A SQL string literal of any text: the text cannot end the literal early. -#}
    {{- return(adapter.dispatch('sql_string_literal', 'retention')(text)) -}}
{%- endmacro %}

{% macro default__sql_string_literal(text) -%}
    {{- return("'" ~ (text | string).replace("'", "''") ~ "'") -}}
{%- endmacro %}

{% macro spark__sql_string_literal(text) -%}
    {#- Spark SQL escapes with backslashes ('' is two adjacent literals, not a quote). -#}
    {{- return("'" ~ (text | string).replace('\\', '\\\\').replace("'", "\\'") ~ "'") -}}
{%- endmacro %}


{% macro regexp_full_match(expression, pattern) -%}
    {#- True when the whole text matches the pattern (a pattern without backslashes). -#}
    {{- return(adapter.dispatch('regexp_full_match', 'retention')(expression, pattern)) -}}
{%- endmacro %}

{% macro default__regexp_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regexp_full_match(expression, pattern) -%}
    {#- Java's `$` also matches before a final line break: anchor at the very end (\z). -#}
    {%- set anchored = '^(' ~ pattern.lstrip('^').rstrip('$') ~ ')\\\\z' -%}
    ({{ expression }} rlike '{{ anchored }}')
{%- endmacro %}


{% macro is_finite(expression) -%}
    {{- return(adapter.dispatch('is_finite', 'retention')(expression)) -}}
{%- endmacro %}

{% macro default__is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}

{% macro spark__is_finite(expression) -%}
    (not isnan({{ expression }}) and abs({{ expression }}) <> double('infinity'))
{%- endmacro %}


{% macro parse_iso_timestamp(expression) -%}
    {#- An ISO date or timestamp text ('2011-12-09', '2011-12-09 12:50:00', 'T' separator,
        fractions of a second) as a timestamp, else null. A UTC offset is dropped, not
        applied (DuckDB's cast to a timestamp without time zone does that). -#}
    {{- return(adapter.dispatch('parse_iso_timestamp', 'retention')(expression)) -}}
{%- endmacro %}

{% macro default__parse_iso_timestamp(expression) -%}
    try_cast({{ expression }} as timestamp)
{%- endmacro %}

{% macro spark__parse_iso_timestamp(expression) -%}
    {#- Spark's cast also takes '2011' or '2011-12' as timestamps: accept only what DuckDB
        accepts (an offset such as Shopify's '2023-03-09 14:34:28 -0500' is dropped, as there). -#}
    cast(nullif(regexp_extract({{ expression }},
        '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([ T][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2}([.][0-9]+)?)?)?)( ?[+-][0-9]{2}(:?[0-9]{2})?|Z| ?UTC)?$',
        1), '') as timestamp)
{%- endmacro %}


{% macro parse_timestamp(expression, format) -%}
    {#- The text read with a strptime format (e.g. '%m/%d/%Y %H:%M'), else null. -#}
    {{- return(adapter.dispatch('parse_timestamp', 'retention')(expression, format)) -}}
{%- endmacro %}

{% macro default__parse_timestamp(expression, format) -%}
    try_strptime({{ expression }}, '{{ format | replace("'", "''") }}')
{%- endmacro %}

{% macro spark__parse_timestamp(expression, format) -%}
    to_timestamp({{ expression }}, '{{ java_datetime_pattern(format) | replace("\\", "\\\\") | replace("'", "\\'") }}')
{%- endmacro %}

{% macro java_datetime_pattern(format) -%}
    {#- A strptime format as a Java (Spark) datetime pattern. Single pattern letters, like
        strptime, read one or two digits ('12/1/2010 8:26'). A directive without a
        counterpart stops the build and says which. -#}
    {%- set directives = {'Y': 'y', 'y': 'yy', 'm': 'M', 'd': 'd', 'H': 'H', 'I': 'h', 'M': 'm',
                          'S': 's', 'p': 'a', 'b': 'MMM', 'B': 'MMMM', 'f': 'SSSSSS', '%': '%'} -%}
    {%- set ns = namespace(out='', literal='', escape=false) -%}
    {%- for char in format -%}
        {%- if ns.escape -%}
            {%- if char not in directives -%}
                {{ exceptions.raise_compiler_error(
                    "var invoice_date_formats: '%" ~ char ~ "' in '" ~ format ~ "' has no counterpart on Spark. "
                    ~ "Supported: %" ~ directives.keys() | join(', %') ~ ".") }}
            {%- endif -%}
            {%- if ns.literal -%}{%- set ns.out = ns.out ~ "'" ~ ns.literal ~ "'" -%}{%- set ns.literal = '' -%}{%- endif -%}
            {%- set ns.out = ns.out ~ ("'%'" if char == '%' else directives[char]) -%}
            {%- set ns.escape = false -%}
        {%- elif char == '%' -%}
            {%- set ns.escape = true -%}
        {%- elif char.isalpha() or char == "'" -%}
            {%- set ns.literal = ns.literal ~ ("''" if char == "'" else char) -%}
        {%- else -%}
            {%- if ns.literal -%}{%- set ns.out = ns.out ~ "'" ~ ns.literal ~ "'" -%}{%- set ns.literal = '' -%}{%- endif -%}
            {%- set ns.out = ns.out ~ char -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if ns.literal -%}{%- set ns.out = ns.out ~ "'" ~ ns.literal ~ "'" -%}{%- endif -%}
    {{- return(ns.out) -}}
{%- endmacro %}


{% macro timestamp_text(expression) -%}
    {#- 'YYYY-MM-DD HH:MM:SS': sorts like the timestamp. -#}
    {{- return(adapter.dispatch('timestamp_text', 'retention')(expression)) -}}
{%- endmacro %}

{% macro default__timestamp_text(expression) -%}
    strftime({{ expression }}, '%Y-%m-%d %H:%M:%S')
{%- endmacro %}

{% macro spark__timestamp_text(expression) -%}
    date_format({{ expression }}, 'yyyy-MM-dd HH:mm:ss')
{%- endmacro %}


{% macro exact_sum(expression) -%}
    {#- A sum of doubles that does not depend on the order of the rows. DuckDB and Spark add a
        double sum in whatever order their threads finish, so the last digits (1e-14 relative)
        changed from build to build; here each term is rounded to 12 decimals and added as a
        decimal, exactly, then turned back into a double. -#}
    cast(sum(cast({{ expression }} as decimal(38, 12))) as double)
{%- endmacro %}


{% macro arg_max(value, key) -%}
    {#- The value of the row with the largest key among rows whose value is not null. -#}
    {{- return(adapter.dispatch('arg_max', 'retention')(value, key)) -}}
{%- endmacro %}

{% macro default__arg_max(value, key) -%}
    arg_max({{ value }}, {{ key }})
{%- endmacro %}

{% macro spark__arg_max(value, key) -%}
    {#- max_by would return the null value of the latest row; DuckDB's arg_max skips it. -#}
    max_by({{ value }}, case when {{ value }} is not null then {{ key }} end)
{%- endmacro %}


{% macro arg_min(value, key) -%}
    {#- The value of the row with the smallest key among rows whose value and key are not null. -#}
    {{- return(adapter.dispatch('arg_min', 'retention')(value, key)) -}}
{%- endmacro %}

{% macro default__arg_min(value, key) -%}
    arg_min({{ value }}, {{ key }})
{%- endmacro %}

{% macro spark__arg_min(value, key) -%}
    min_by({{ value }}, case when {{ value }} is not null then {{ key }} end)
{%- endmacro %}


{% macro percentile_cont(expression, fraction) -%}
    {#- The interpolated percentile (0-1) of a numeric column. -#}
    {{- return(adapter.dispatch('percentile_cont', 'retention')(expression, fraction)) -}}
{%- endmacro %}

{% macro default__percentile_cont(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile_cont(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}


{% macro as_double(expression) -%}
    {#- A decimal (money) as a double before dividing or averaging it. DuckDB does this on its
        own (decimal / integer and avg(decimal) are doubles), so the expression stays as it
        is there; Spark keeps decimals, rounded to a fixed scale. -#}
    {{- return(adapter.dispatch('as_double', 'retention')(expression)) -}}
{%- endmacro %}

{% macro default__as_double(expression) -%}
    ({{ expression }})
{%- endmacro %}

{% macro spark__as_double(expression) -%}
    cast({{ expression }} as double)
{%- endmacro %}


{% macro month_series(start_date, end_date) -%}
    {#- A query of the first days of the months from start_date to end_date (both first
        days of a month, SQL expressions), one row each, in a column month_start. -#}
    {{- return(adapter.dispatch('month_series', 'retention')(start_date, end_date)) -}}
{%- endmacro %}

{% macro default__month_series(start_date, end_date) -%}
    select cast(month_start as date) as month_start
    from unnest(generate_series(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp),
        interval 1 month
    )) as spine(month_start)
{%- endmacro %}

{% macro spark__month_series(start_date, end_date) -%}
    select explode(sequence(
        cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 month
    )) as month_start
{%- endmacro %}


{% macro error_function() -%}
    {#- The name of the function that stops a query with a message. -#}
    {{- return(adapter.dispatch('error_function', 'retention')()) -}}
{%- endmacro %}

{% macro default__error_function() -%}
    {{- return('error') -}}
{%- endmacro %}

{% macro spark__error_function() -%}
    {{- return('raise_error') -}}
{%- endmacro %}


{% macro string_agg_ordered(expression, separator, order_by) -%}
    {{- return(adapter.dispatch('string_agg_ordered', 'retention')(expression, separator, order_by)) -}}
{%- endmacro %}

{% macro default__string_agg_ordered(expression, separator, order_by) -%}
    string_agg({{ expression }}, {{ separator }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__string_agg_ordered(expression, separator, order_by) -%}
    listagg({{ expression }}, {{ separator }}) within group (order by {{ order_by }})
{%- endmacro %}


{% macro columns_except(relation, excluded) -%}
    {#- The relation's columns but the excluded ones, comma-separated (DuckDB's
        `* exclude (...)`, which Spark SQL lacks). -#}
    {%- if not execute -%}{{ return('*') }}{%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
        {%- if column.name | lower not in excluded | map('lower') | list -%}
            {%- do names.append(adapter.quote(column.name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(names | join(', ')) -}}
{%- endmacro %}


{% macro double_values(column, values) -%}
    {#- A query of one double column with one row per value of a list var. -#}
    {%- set rows = [] -%}
    {%- for value in values -%}
        {%- do rows.append('select cast(' ~ (value | float) ~ ' as double) as ' ~ column) -%}
    {%- endfor -%}
    {{- return(rows | join(' union all ')) -}}
{%- endmacro %}


{% macro raw_source_file() -%}
    {#- In a query straight over source('raw', 'transactions'): the name of the file a row
        comes from, or the name var source_file_names gives its path (the sheet of a
        workbook the runner read into its cache: 'book.xlsx [Sheet 1]'). -#}
    {{- return(adapter.dispatch('raw_source_file', 'retention')()) -}}
{%- endmacro %}

{% macro default__raw_source_file() -%}
    {%- set names = var('source_file_names', {}) or {} -%}
    {%- if names -%}
    case filename
        {%- for path, name in names.items() %}
        when {{ sql_string_literal(path) }} then {{ sql_string_literal(name) }}
        {%- endfor %}
        else parse_filename(filename)
    end
    {%- else -%}
    parse_filename(filename)
    {%- endif -%}
{%- endmacro %}

{% macro spark__raw_source_file() -%}
    _file_name
{%- endmacro %}


{% macro raw_row_number(files=none) -%}
    {#- Numbers the raw rows 1, 2, ... in file order (the files in the order given). Used in a
        query straight over the source. `files`: the paths this query reads, in order (none: a
        small source, numbered by row_number() over ()). On DuckDB, Parquet files carry each
        row's position (file_row_number), so the rows are numbered in parallel: position + 1 +
        the rows of the files before it (from the files' metadata); CSV is numbered in reading
        order, which a window over the whole read keeps on one thread. On Spark the view made
        by create_raw_transactions carries each row's file number and position in its file. -#}
    {{- return(adapter.dispatch('raw_row_number', 'retention')(files)) -}}
{%- endmacro %}

{% macro default__raw_row_number(files) -%}
    {#- the source reads every file as its first file's kind (Parquet or CSV) -#}
    {%- set first = (transaction_files()[0] | lower) if files else '' -%}
    {%- set parquet = files and execute and (first.endswith('.parquet') or first.endswith('.parq')) -%}
    {%- if not parquet -%}
    row_number() over ()
    {%- elif files | length == 1 -%}
    (file_row_number + 1)
    {%- else -%}
    {%- set listed = [] -%}
    {%- for path in files -%}{%- do listed.append(sql_string_literal(path)) -%}{%- endfor -%}
    {%- set counts = run_query('select file_name, num_rows from parquet_file_metadata([' ~ listed | join(', ') ~ '])') -%}
    {%- set rows_of = {} -%}
    {%- for row in counts.rows -%}{%- do rows_of.update({row[0]: row[1] | int}) -%}{%- endfor -%}
    {%- for path in files if path not in rows_of -%}
        {{ exceptions.raise_compiler_error("raw_row_number: the Parquet metadata of '" ~ path ~ "' was not found "
            ~ "(it lists " ~ rows_of.keys() | list | join(', ') ~ "); its rows could not be numbered.") }}
    {%- endfor -%}
    {%- set ns = namespace(offset=0) -%}
    (file_row_number + 1 + case filename
        {%- for path in files %}
        when {{ sql_string_literal(path) }} then {{ ns.offset }}
        {%- set ns.offset = ns.offset + rows_of[path] -%}
        {%- endfor %}
    end)
    {%- endif -%}
{%- endmacro %}

{% macro spark__raw_row_number(files) -%}
    row_number() over (order by _file_number, _file_row)
{%- endmacro %}


{% macro add_months(date_expression, months) -%}
    {#- The date moved by a whole number of months, as a date. -#}
    {{- return(adapter.dispatch('add_months', 'retention')(date_expression, months)) -}}
{%- endmacro %}

{% macro default__add_months(date_expression, months) -%}
    cast({{ dbt.dateadd('month', months, date_expression) }} as date)
{%- endmacro %}

{% macro spark__add_months(date_expression, months) -%}
    {#- dbt-spark's dateadd goes through unix seconds and to_timestamp, which fails on
        timestamps without a time zone (the profile's spark.sql.timestampType). -#}
    add_months({{ date_expression }}, {{ months }})
{%- endmacro %}


{% macro regexp_replace(expression, pattern, replacement) -%}
    {#- Replaces the matches of the pattern; the replacement refers to groups as \1. -#}
    {{- return(adapter.dispatch('regexp_replace', 'retention')(expression, pattern, replacement)) -}}
{%- endmacro %}

{% macro default__regexp_replace(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, '{{ pattern }}', '{{ replacement }}')
{%- endmacro %}

{% macro spark__regexp_replace(expression, pattern, replacement) -%}
    {#- Java writes groups as $1, and its `$` also matches before a final line break. -#}
    {%- set java_pattern = pattern[:-1] ~ '\\\\z' if pattern.endswith('$') else pattern -%}
    regexp_replace({{ expression }}, '{{ java_pattern }}', '{{ modules.re.sub("\\\\(\\d)", "$\\1", replacement) }}')
{%- endmacro %}


{% macro is_numeric_type(column) -%}
    {#- True when the column is stored as a number (a typed Parquet file), not as text. The
        type is the column's, so the engine settles it once per query, not per row. -#}
    {{- return(adapter.dispatch('is_numeric_type', 'retention')(column)) -}}
{%- endmacro %}

{% macro default__is_numeric_type(column) -%}
    (typeof({{ column }}) in ({{ numeric_type_names() }})
                or starts_with(typeof({{ column }}), 'DECIMAL'))
{%- endmacro %}

{% macro spark__is_numeric_type(column) -%}
    (typeof({{ column }}) in ('tinyint', 'smallint', 'int', 'bigint', 'float', 'double')
        or typeof({{ column }}) like 'decimal%')
{%- endmacro %}


{% macro is_timestamp_type(column) -%}
    {#- True when the column is stored as a date or timestamp (a typed Parquet file). -#}
    {{- return(adapter.dispatch('is_timestamp_type', 'retention')(column)) -}}
{%- endmacro %}

{% macro default__is_timestamp_type(column) -%}
    typeof({{ column }}) in ('DATE', 'TIMESTAMP', 'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS')
{%- endmacro %}

{% macro spark__is_timestamp_type(column) -%}
    typeof({{ column }}) in ('date', 'timestamp', 'timestamp_ntz')
{%- endmacro %}


{% macro hash_bucket(expression, buckets) -%}
    {#- A stable bucket 0 .. buckets - 1 of a text, the same on every engine (the first 32 bits
        of its MD5): fixed samples of customers that do not change between builds or targets. -#}
    {{- return(adapter.dispatch('hash_bucket', 'retention')(expression, buckets)) -}}
{%- endmacro %}

{% macro default__hash_bucket(expression, buckets) -%}
    (cast(('0x' || left(md5(cast({{ expression }} as varchar)), 8)) as bigint) % {{ buckets }})
{%- endmacro %}

{% macro spark__hash_bucket(expression, buckets) -%}
    (cast(conv(substr(md5(cast({{ expression }} as string)), 1, 8), 16, 10) as bigint) % {{ buckets }})
{%- endmacro %}


{% macro number_text(expression, decimals=0) -%}
    {#- A number as text with thousands separators and a fixed number of decimals ('1,234'). -#}
    {{- return(adapter.dispatch('number_text', 'retention')(expression, decimals)) -}}
{%- endmacro %}

{% macro default__number_text(expression, decimals) -%}
    format('{:,.{{ decimals }}f}', cast({{ expression }} as double))
{%- endmacro %}

{% macro spark__number_text(expression, decimals) -%}
    format_number(cast({{ expression }} as double), {{ decimals }})
{%- endmacro %}
