{{ config(materialized="view") }}

with

base as (
    select * from {{ ref('base_transactions') }}
),

final as (
    select
        raw_row_id,
        invoice_no_raw as invoice_no,
        stock_code_raw as stock_code,
        description_raw as description,
        quantity_raw as quantity,
        invoice_date_raw as invoice_date,
        unit_price_raw as unit_price,
        customer_id_raw as customer_id,
        country_raw as country,
        rejection_reason,
        source_file
    from base
    where rejection_reason is not null
)

select * from final
