with

orders as (
    select * from {{ ref('int_orders') }}
),

customer_days as (
    select * from {{ ref('int_customer_days') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

customer_cohorts as (
    select
        customer_id,
        cast({{ dbt.date_trunc('month', 'min(order_date)') }} as date) as cohort_month
    from orders
    group by 1
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_size
    from customer_cohorts
    group by 1
),

months as (
    select month_start as activity_month
    from (
        {{ retention.month_series(
            '(select min(cohort_month) from customer_cohorts)',
            "(select " ~ dbt.date_trunc('month', 'as_of_date - 1') ~ " from parameters)") }}
    ) as spine
),

cohort_months as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.cohort_size,
        months.activity_month
    from cohort_sizes
    inner join months
        on months.activity_month >= cohort_sizes.cohort_month
),

active as (
    select
        customer_cohorts.cohort_month,
        cast({{ dbt.date_trunc('month', 'orders.order_date') }} as date) as activity_month,
        count(distinct orders.customer_id) as active_customers
    from orders
    inner join customer_cohorts
        on orders.customer_id = customer_cohorts.customer_id
    group by 1, 2
),

revenue as (
    select
        customer_cohorts.cohort_month,
        cast({{ dbt.date_trunc('month', 'customer_days.activity_date') }} as date) as activity_month,
        sum(customer_days.net_amount) as net_revenue
    from customer_days
    inner join customer_cohorts
        on customer_days.customer_id = customer_cohorts.customer_id
    group by 1, 2
),

final as (
    select
        cohort_months.cohort_month,
        {{ dbt.datediff('cohort_months.cohort_month', 'cohort_months.activity_month', 'month') }}
            as month_offset,
        cohort_months.cohort_size,
        coalesce(active.active_customers, 0) as active_customers,
        coalesce(active.active_customers, 0) / cohort_months.cohort_size as retention_rate,
        coalesce(revenue.net_revenue, 0) as net_revenue,
        cohort_months.activity_month
    from cohort_months
    left join active
        on cohort_months.cohort_month = active.cohort_month
        and cohort_months.activity_month = active.activity_month
    left join revenue
        on cohort_months.cohort_month = revenue.cohort_month
        and cohort_months.activity_month = revenue.activity_month
)

select * from final
