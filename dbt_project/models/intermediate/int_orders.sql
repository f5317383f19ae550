with

transactions as (
    select * from {{ ref('stg_transactions') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

order_lines as (
    select transactions.*
    from transactions
    cross join parameters
    where not transactions.is_cancellation
        and transactions.quantity > 0
        and transactions.unit_price > 0
        and transactions.invoice_date < parameters.as_of_date
),

orders as (
    select
        invoice_no,
        customer_id,
        min(country) as country,
        min(invoice_at) as order_at,
        sum(line_amount) as order_value,
        count(*) as line_count,
        cast(sum(quantity) as bigint) as item_quantity
    from order_lines
    group by invoice_no, customer_id
),

final as (
    select
        invoice_no,
        customer_id,
        country,
        order_value,
        line_count,
        item_quantity,
        order_at,
        cast(order_at as date) as order_date
    from orders
)

select * from final
