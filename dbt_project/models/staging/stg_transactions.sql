{{ config(materialized="view") }}

with

base as (
    select * from {{ ref('base_transactions') }}
),

non_product_codes as (
    select upper(trim(stock_code)) as stock_code from {{ ref('non_product_stock_codes') }}
),

final as (
    select
        base.raw_row_id,
        base.invoice_no,
        base.stock_code,
        base.description,
        base.country,
        base.customer_id,
        base.quantity,
        base.unit_price,
        base.quantity * base.unit_price as line_amount,
        upper(base.invoice_no) like 'C%' as is_cancellation,
        base.is_order_refunded as is_refunded,
        non_product_codes.stock_code is null as is_product,
        base.invoice_at,
        cast(base.invoice_at as date) as invoice_date,
        base.source_file
    from base
    left join non_product_codes
        on upper(base.stock_code) = non_product_codes.stock_code
    where base.rejection_reason is null
)

select * from final
