{#- One row per customer and day with any clean activity before as_of_date: the daily
    totals every per-cutoff feature is summed from, with the products the customer ordered
    that day for the first time (distinct products at a cutoff = their sum before it). -#}
with

transactions as (
    select * from {{ ref('stg_transactions') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

line_days as (
    select
        transactions.customer_id,
        transactions.invoice_date as activity_date,
        -- a line of an order the export marks refunded is sold and returned (net 0), as a
        -- cancelled Online Retail order is its invoice plus a C invoice reversing it
        sum(transactions.line_amount)
            - sum(case when transactions.is_refunded then transactions.line_amount else 0 end)
            as net_amount,
        -sum(case when transactions.quantity < 0 then transactions.line_amount else 0 end)
            + sum(case when transactions.is_refunded then transactions.line_amount else 0 end)
            as returned_amount
    from transactions
    cross join parameters
    where transactions.invoice_date < parameters.as_of_date
    group by 1, 2
),

keyed_orders as (
    select
        *,
        -- sorts orders by time, then invoice number: the latest order carries the country
        {{ retention.timestamp_text('order_at') }} || '|' || invoice_no as order_key
    from orders
),

order_days as (
    select
        customer_id,
        order_date as activity_date,
        count(*) as orders,
        sum(order_value) as order_value,
        count(case when month(order_date) in (10, 11, 12) then 1 end) as q4_orders,
        max(order_key) as last_order_key,
        {{ retention.arg_max('country', 'order_key') }} as last_order_country
    from keyed_orders
    group by 1, 2
),

{#- When each customer first ordered each product (product lines of orders), counted per
    customer and day: the customer-product pairs are never written (5M at 10M rows). -#}
product_first_days as (
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
),

new_product_days as (
    select
        customer_id,
        first_ordered_date as activity_date,
        count(*) as new_products
    from product_first_days
    group by 1, 2
),

final as (
    select
        coalesce(line_days.customer_id, order_days.customer_id) as customer_id,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.order_value, 0) as order_value,
        coalesce(order_days.q4_orders, 0) as q4_orders,
        coalesce(line_days.net_amount, 0) as net_amount,
        coalesce(line_days.returned_amount, 0) as returned_amount,
        order_days.last_order_key,
        order_days.last_order_country,
        {#- a first order of a product is an order: its day is an order day -#}
        coalesce(new_product_days.new_products, 0) as new_products,
        coalesce(line_days.activity_date, order_days.activity_date) as activity_date
    from line_days
    full outer join order_days
        on line_days.customer_id = order_days.customer_id
        and line_days.activity_date = order_days.activity_date
    left join new_product_days
        on order_days.customer_id = new_product_days.customer_id
        and order_days.activity_date = new_product_days.activity_date
)

select * from final
