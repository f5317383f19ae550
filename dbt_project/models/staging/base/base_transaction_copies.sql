{#- Later copies of a usable line: identical raw text in all eight columns, also across
    files. The first copy (by file order, then row order) is kept; each later copy is
    listed here with the row it repeats, and base_transactions rejects it as 'duplicate'.

    Only lines without another rejection reason are compared: identical text gives
    identical reasons, so an invalid line's copies are rejected for that reason anyway.
    A window partitioned by eight text columns would sort every row (the slowest step of
    the build at 10M rows, and it spilled gigabytes at 100M). Instead the eight columns
    are hashed, only lines whose hash occurs more than once (about 1%) are ranked, and the
    ranking partitions by the exact text, so a hash collision between different lines
    cannot make a duplicate. The lines table is referenced directly, not through a CTE
    used twice, so that DuckDB does not materialise every line in memory. -#}
{%- set raw_columns -%}
    invoice_no_raw, stock_code_raw, description_raw, quantity_raw,
    invoice_date_raw, unit_price_raw, customer_id_raw, country_raw
{%- endset -%}

with

repeated_hashes as (
    select hash({{ raw_columns }}) as row_hash
    from {{ ref('base_transaction_lines') }}
    where invalid_reason is null
    group by 1
    having count(*) > 1
),

candidates as (
    select raw_row_id, {{ raw_columns }}
    from {{ ref('base_transaction_lines') }}
    where invalid_reason is null
        and hash({{ raw_columns }}) in (select row_hash from repeated_hashes)
),

ranked as (
    select
        raw_row_id,
        first_value(raw_row_id) over (
            partition by {{ raw_columns }}
            order by raw_row_id
        ) as first_copy_raw_row_id
    from candidates
),

final as (
    select
        raw_row_id,
        first_copy_raw_row_id
    from ranked
    where raw_row_id <> first_copy_raw_row_id
)

select * from final
