with

orders as (
    select * from {{ ref('int_orders') }}
),

customer_days as (
    select * from {{ ref('int_customer_days') }}
),

customer_months as (
    select distinct
        customer_id,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as month
    from orders
),

first_months as (
    select customer_id, min(month) as first_month from customer_months group by 1
),

monthly as (
    select
        customer_months.month,
        count(*) as active_customers,
        count(case when first_months.first_month = customer_months.month then 1 end)
            as new_customers,
        count(previous.customer_id) as kept_from_previous_month
    from customer_months
    inner join first_months
        on customer_months.customer_id = first_months.customer_id
    left join customer_months as previous
        on customer_months.customer_id = previous.customer_id
        and previous.month = {{ retention.add_months('customer_months.month', -1) }}
    group by 1
),

revenue as (
    select
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as month,
        sum(net_amount) as revenue
    from customer_days
    group by 1
),

final as (
    select
        monthly.month,
        monthly.active_customers,
        monthly.new_customers,
        monthly.active_customers - monthly.new_customers as returning_customers,
        coalesce(revenue.revenue, 0) as revenue,
        monthly.kept_from_previous_month / previous.active_customers as retention_rate
    from monthly
    left join revenue
        on monthly.month = revenue.month
    left join monthly as previous
        on previous.month = {{ retention.add_months('monthly.month', -1) }}
)

select * from final
order by month
