{#- Every raw row, once: its raw text, its parsed values and, for rows that cannot be
    used on their own, the reason (every reason but 'duplicate', which needs the other
    rows: base_transaction_copies). The file is read once, here; base_transactions adds
    the duplicates and stg_transactions / stg_transactions_rejected split the result, so
    raw = clean + rejected by construction (and a test checks it against the file).
    Several input files are read as one table, in the order given: raw_row_id numbers the
    rows of the first file, then those of the second, and so on.
    In a refresh (macro staging_refresh) only the new files are read and appended, numbered
    after the reused rows; the files are still bound together, so each column has the type a
    full build gives it. -#}
{%- set refresh = retention.staging_refresh() -%}
{{ config(
    materialized='incremental' if target.type == 'duckdb' else 'table',
    incremental_strategy='append',
    on_schema_change='fail',
    full_refresh=not refresh,
    post_hook="{{ retention.refresh_refunded_orders() }}",
) }}
{%- set appending = refresh and is_incremental() -%}
{%- set col = transaction_columns() -%}
{#- Dates: ISO first, then var invoice_date_formats, or (when that is empty) the formats of
    var invoice_date_convention, which the runner reads from the data before any SQL runs. -#}
{%- set date_formats = var('invoice_date_formats', []) or var('invoice_date_conventions')[var('invoice_date_convention')] -%}
{#- A number as exports write it: optional sign, digits with at most one decimal separator
    (var decimal_separator: '.', or ',' for a decimal-comma export), optional exponent.
    Anything else (currency symbols, thousands separators, the other decimal separator, NaN,
    inf) is not parsed, so the row is rejected with its raw text. -#}
{%- set decimal = var('decimal_separator', '.') -%}
{%- if decimal not in ['.', ','] -%}
    {{ exceptions.raise_compiler_error("var decimal_separator must be '.' or ',', got '" ~ decimal ~ "'.") }}
{%- endif -%}
{%- set number_pattern = '^[+-]?([0-9]+([' ~ decimal ~ '][0-9]*)?|[' ~ decimal ~ '][0-9]+)([eE][+-]?[0-9]+)?$' -%}
{%- set number_text = "replace(trim({}), ',', '.')" if decimal == ',' else "trim({})" -%}
{#- Orders an export marks refunded (var refund_marker, set by a preset such as shopify): the
    marker may be filled on one row of the order only (Shopify fills order-level columns on
    the first line item), so it holds for every row of an invoice that has it on any row. -#}
{%- set marker = var('refund_marker', {}) or {} -%}

with

{#- the files this build reads: every input, or in a refresh the new ones only -#}
{%- set read_files = (refresh.get('new_files') or []) if appending else retention.transaction_files() %}

source as (
    select
        *,
        {{ retention.raw_source_file() }} as _source_file,
        {{ retention.raw_row_number(read_files) }} as _row_in_read
    from {{ source('raw', 'transactions') }}
    {%- if appending %}
    where {% if read_files %}filename in (
        {%- for path in read_files %}{{ retention.sql_string_literal(path) }}{{ ', ' if not loop.last }}{% endfor -%}
    ){% else %}false{% endif %}
    {%- endif %}
),

raw_rows as (
    select
        {% if appending %}{{ retention.staging_reused_rows() }} + {% endif -%}
        _row_in_read as raw_row_id,
        _source_file as source_file,
        {%- for name in ['invoice_no', 'stock_code', 'description', 'quantity',
                         'invoice_date', 'unit_price', 'customer_id', 'country'] %}
        cast({{ quote_identifier(col[name]) }} as {{ dbt.type_string() }}) as {{ name }}_raw,
        {%- endfor %}
        {#- typed values as the file has them (Parquet): read directly, see parsed #}
        {%- if marker %}
        cast({{ quote_identifier(marker['column']) }} as {{ dbt.type_string() }}) as refund_marker_raw,
        {%- endif %}
        {%- for name in ['quantity', 'unit_price', 'invoice_date'] %}
        {{ quote_identifier(col[name]) }} as {{ name }}_value
        {{- ',' if not loop.last }}
        {%- endfor %}
    from source
),

parsed as (
    select
        *,
        nullif(trim(invoice_no_raw), '') as invoice_no,
        nullif(trim(stock_code_raw), '') as stock_code,
        nullif(trim(description_raw), '') as description,
        nullif(trim(country_raw), '') as country,
        {{ clean_customer_id('customer_id_raw') }} as customer_id,
        {#- A column that is already numeric or a timestamp (typed Parquet) is converted
            directly; text is validated and parsed. typeof() is the column's type, so
            DuckDB settles the branch once per query, not per row. #}
        {%- for name in ['quantity', 'unit_price'] %}
        case
            when {{ retention.is_numeric_type(name ~ '_value') }}
                then try_cast({{ name }}_value as double)
            when {{ retention.regexp_full_match('trim(' ~ name ~ '_raw)', number_pattern) }}
                then try_cast({{ number_text | replace('{}', name ~ '_raw') }} as double)
        end as {{ name }}_number,
        {%- endfor %}
        case
            when {{ retention.is_timestamp_type('invoice_date_value') }}
                then cast(invoice_date_value as timestamp)
            else coalesce(
                {{ retention.parse_iso_timestamp('trim(invoice_date_raw)') }}
                {%- for fmt in date_formats %},
                {{ retention.parse_timestamp('trim(invoice_date_raw)', fmt) }}
                {%- endfor %}
            )
        end as invoice_at,
        {%- if marker %}
        max(case when lower(trim(refund_marker_raw)) in (
            {%- for value in marker['values'] %}{{ sql_string_literal(value | lower) }}{{ ', ' if not loop.last }}{% endfor -%}
        ) then 1 else 0 end) over (partition by nullif(trim(invoice_no_raw), '')) = 1
        {%- if appending %}
        {#- in a refresh, an order may have rows in the reused files too: refunded when one of those is #}
        or nullif(trim(invoice_no_raw), '') in (
            select invoice_no from {{ this }} where is_order_refunded and invoice_no is not null)
        or (nullif(trim(invoice_no_raw), '') is null and exists (
            select 1 from {{ this }} where is_order_refunded and invoice_no is null))
        {%- endif %} as is_order_refunded
        {%- else %}
        false as is_order_refunded
        {%- endif %}
    from raw_rows
),

flagged as (
    select
        *,
        case
            when invoice_no is null then 'missing_invoice_no'
            when stock_code is null then 'missing_stock_code'
            when invoice_at is null then 'invalid_invoice_date'
            -- spreadsheet "zero dates" (1899-12-30, 1900-01-01) and other typos
            when invoice_at < timestamp '1990-01-01' then 'implausible_date'
            when quantity_number is null
                or not {{ retention.is_finite('quantity_number') }}
                or quantity_number <> floor(quantity_number)
                -- a billion units on one line is a data error (e.g. a barcode pasted
                -- into the quantity column), not a sale
                or abs(quantity_number) >= 1e9 then 'invalid_quantity'
            when unit_price_number is null
                or not {{ retention.is_finite('unit_price_number') }}
                or abs(unit_price_number) >= 1e12 then 'invalid_unit_price'
            when upper(invoice_no) like 'A%' then 'adjustment'
            when customer_id is null then 'missing_customer'
        end as invalid_reason
    from parsed
),

final as (
    select
        raw_row_id,
        source_file,
        invoice_no_raw,
        stock_code_raw,
        description_raw,
        quantity_raw,
        invoice_date_raw,
        unit_price_raw,
        customer_id_raw,
        country_raw,
        invoice_no,
        stock_code,
        description,
        country,
        customer_id,
        case when invalid_reason is null then cast(quantity_number as bigint) end as quantity,
        case when invalid_reason is null
            then cast(unit_price_number as decimal(18, 6)) end as unit_price,
        invoice_at,
        is_order_refunded,
        invalid_reason
    from flagged
)

select * from final
