{#- For the CLV holdout check: the BTYD summary as of the calibration end
    (as_of_date - clv_holdout_days) and, per customer, the purchase days actually seen in
    the holdout period [calibration end, as_of_date). -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

calibration as (
    {{ btyd_summary('orders', '(select calibration_end_date from parameters)') }}
),

holdout as (
    select
        orders.customer_id,
        count(distinct orders.order_date) as holdout_purchases
    from orders
    cross join parameters
    where orders.order_date >= parameters.calibration_end_date
    group by 1
),

final as (
    select
        calibration.*,
        coalesce(holdout.holdout_purchases, 0) as holdout_purchases
    from calibration
    left join holdout
        on calibration.customer_id = holdout.customer_id
)

select * from final
