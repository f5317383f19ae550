{#- When each customer first ordered each product: distinct products at any cutoff is a
    count of the rows dated before it. -#}
with

transactions as (
    select * from {{ ref('stg_transactions') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

final as (
    select
        transactions.customer_id,
        transactions.stock_code,
        min(orders.order_date) as first_ordered_date
    from transactions
    inner join orders
        on transactions.invoice_no = orders.invoice_no
        and transactions.customer_id = orders.customer_id
    where transactions.is_product
        and transactions.quantity > 0
        and transactions.unit_price > 0
    group by 1, 2
)

select * from final
