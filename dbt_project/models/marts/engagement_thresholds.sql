{#- The "aha moment": churn rate by how engaged a customer was at a cutoff (orders, and
    distinct months with an order), on training snapshots with a complete label window.
    The threshold is the smallest level whose churn rate is below half the base rate,
    among levels with at least var engagement_min_rows rows. -#}
with

snapshots as (
    select * from {{ ref('training_snapshots') }} where is_label_window_complete
),

customer_days as (
    select * from {{ ref('int_customer_days') }}
),

active_months as (
    select
        snapshots.customer_id,
        snapshots.cutoff_date,
        count(distinct {{ dbt.date_trunc('month', 'customer_days.activity_date') }}) as active_months
    from snapshots
    inner join customer_days
        on customer_days.customer_id = snapshots.customer_id
        and customer_days.activity_date < snapshots.cutoff_date
        and customer_days.orders > 0
    group by 1, 2
),

levels as (
    select
        snapshots.churned,
        least(snapshots.frequency, 10) as orders_level,
        least(active_months.active_months, 10) as active_months_level
    from snapshots
    inner join active_months
        on snapshots.customer_id = active_months.customer_id
        and snapshots.cutoff_date = active_months.cutoff_date
),

by_level as (
    select 'orders' as dimension, orders_level as level, count(*) as customers,
        avg(churned) as churn_rate
    from levels group by 1, 2
    union all
    select 'active_months' as dimension, active_months_level as level, count(*) as customers,
        avg(churned) as churn_rate
    from levels group by 1, 2
),

with_base as (
    select
        by_level.*,
        (select avg(churned) from levels) as base_rate
    from by_level
),

first_below_half as (
    select dimension, min(level) as threshold_level
    from with_base
    where churn_rate < base_rate / 2
        and customers >= {{ checked_var('engagement_min_rows') }}
    group by 1
),

final as (
    select
        with_base.dimension,
        with_base.level,
        case when with_base.level = 10 then '10+' else cast(with_base.level as {{ dbt.type_string() }}) end
            as level_label,
        with_base.customers,
        with_base.churn_rate,
        with_base.base_rate,
        coalesce(with_base.level = first_below_half.threshold_level, false) as is_threshold
    from with_base
    left join first_below_half
        on with_base.dimension = first_below_half.dimension
)

select * from final
order by dimension, level
