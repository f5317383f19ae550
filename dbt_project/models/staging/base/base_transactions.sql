{#- Every raw row, once: its raw text, its parsed values and, for rows that cannot be
    used, the reason. stg_transactions and stg_transactions_rejected split this table,
    so raw = clean + rejected by construction (and a test checks it against the file).
    Several input files are read as one table, in the order given: raw_row_id numbers the
    rows of the first file, then those of the second, and so on. -#}
{%- set col = transaction_columns() -%}
{%- set date_formats = var('invoice_date_formats', []) or [] -%}
{#- A number as exports write it: optional sign, digits with at most one decimal point,
    optional exponent. Anything else (currency symbols, thousands separators, decimal
    commas, NaN, inf) is not parsed, so the row is rejected with its raw text. -#}
{%- set number_pattern = '^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$' -%}

with

source as (
    select
        *,
        filename as _source_file_path,
    from {{ source('raw', 'transactions') }}
),

raw_rows as (
    select
        row_number() over () as raw_row_id,
        parse_filename(_source_file_path) as source_file,
        {%- for name in ['invoice_no', 'stock_code', 'description', 'quantity',
                         'invoice_date', 'unit_price', 'customer_id', 'country'] %}
        cast({{ quote_identifier(col[name]) }} as varchar) as {{ name }}_raw,
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
        -- placeholders that spreadsheet and pandas exports write for "no customer"
        case
            when lower(trim(customer_id_raw)) in ('nan', 'none', 'null', 'n/a', 'na', '#n/a', '-')
                then null
            else regexp_replace(nullif(trim(customer_id_raw), ''), '^([0-9]+)[.]0+$', '\1')
        end as customer_id,
        case when regexp_full_match(trim(quantity_raw), '{{ number_pattern }}')
            then try_cast(trim(quantity_raw) as double) end as quantity_number,
        case when regexp_full_match(trim(unit_price_raw), '{{ number_pattern }}')
            then try_cast(trim(unit_price_raw) as double) end as unit_price_number,
        coalesce(
            try_cast(trim(invoice_date_raw) as timestamp)
            {%- for fmt in date_formats %},
            try_strptime(trim(invoice_date_raw), '{{ fmt | replace("'", "''") }}')
            {%- endfor %}
        ) as invoice_at,
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
                or not isfinite(quantity_number)
                or quantity_number <> floor(quantity_number)
                -- a billion units on one line is a data error (e.g. a barcode pasted
                -- into the quantity column), not a sale
                or abs(quantity_number) >= 1e9 then 'invalid_quantity'
            when unit_price_number is null
                or not isfinite(unit_price_number)
                or abs(unit_price_number) >= 1e12 then 'invalid_unit_price'
            when upper(invoice_no) like 'A%' then 'adjustment'
            when customer_id is null then 'missing_customer'
            -- identical raw text in all eight columns, also across files: the first copy
            -- (by file order, then row order) is kept
            when row_number() over (
                partition by
                    invoice_no_raw, stock_code_raw, description_raw, quantity_raw,
                    invoice_date_raw, unit_price_raw, customer_id_raw, country_raw
                order by raw_row_id
            ) > 1 then 'duplicate'
        end as rejection_reason,
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
        case when rejection_reason is null then cast(quantity_number as bigint) end as quantity,
        case when rejection_reason is null
            then cast(unit_price_number as decimal(18, 6)) end as unit_price,
        invoice_at,
        rejection_reason,
    from flagged
)

select * from final
