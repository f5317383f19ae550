{#- The input of probabilistic CLV, exactly as lifetimes.summary_data_from_transaction_data
    with freq='D', observation_period_end = as_of_date - 1 day, on orders. -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

order_days as (
    select
        customer_id,
        order_date,
        sum(order_value) as day_value,
        row_number() over (partition by customer_id order by order_date) as day_number,
    from orders
    group by 1, 2
),

final as (
    select
        order_days.customer_id,
        count(*) - 1 as frequency,
        date_diff('day', min(order_days.order_date), max(order_days.order_date)) as recency,
        date_diff('day', min(order_days.order_date), any_value(parameters.as_of_date) - 1) as "T",
        coalesce(avg(case when order_days.day_number > 1 then order_days.day_value end), 0)
            as monetary_value,
        min(order_days.order_date) as first_order_date,
        max(order_days.order_date) as last_order_date,
        cast(any_value(parameters.as_of_date) - 1 as date) as observation_period_end,
    from order_days
    cross join parameters
    group by 1
)

select * from final
