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
    used twice, so that DuckDB does not materialise every line in memory.

    In a refresh (macro staging_refresh) the copies among the reused rows stand (a new row
    comes after every reused one, so it is never the first copy of a reused line), and the
    appended rows are compared with every line, reused and new: the candidates are the lines
    whose invoice number and hash are those of a usable new line, ranked exactly as in a full
    build, and the copies among the new rows are appended. -#}
{%- set refresh = retention.staging_refresh() -%}
{{ config(
    materialized='incremental' if target.type == 'duckdb' else 'table',
    incremental_strategy='append',
    on_schema_change='fail',
    full_refresh=not refresh,
) }}
{%- set appending = refresh and is_incremental() -%}
{%- set reused = retention.staging_reused_rows() -%}
{%- set raw_columns -%}
    invoice_no_raw, stock_code_raw, description_raw, quantity_raw,
    invoice_date_raw, unit_price_raw, customer_id_raw, country_raw
{%- endset -%}

with

{%- if appending %}

new_lines as (
    select invoice_no_raw, hash({{ raw_columns }}) as row_hash
    from {{ ref('base_transaction_lines') }}
    where invalid_reason is null
        and raw_row_id > {{ reused }}
),

candidates as (
    select raw_row_id, {{ raw_columns }}
    from {{ ref('base_transaction_lines') }}
    where invalid_reason is null
        and invoice_no_raw in (select invoice_no_raw from new_lines)
        and hash({{ raw_columns }}) in (select row_hash from new_lines)
),
{%- else %}

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
{%- endif %}

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
        {%- if appending %}
        and raw_row_id > {{ reused }}
        {%- endif %}
)

select * from final
