with

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

first_order as (
    select min(order_date) as first_order_date from orders
),

snapshot_numbers as (
    select cast(generated_number - 1 as integer) as snapshot_index
    from ({{ dbt.generate_series(checked_var("snapshot_count") + 1) }}) as series
),

cutoffs as (
    select
        snapshot_numbers.snapshot_index,
        cast(parameters.as_of_date - snapshot_numbers.snapshot_index
            * parameters.snapshot_cadence_days as date) as cutoff_date,
        parameters.churn_horizon_days,
        parameters.as_of_date
    from snapshot_numbers
    cross join parameters
),

final as (
    select
        cutoffs.snapshot_index,
        cutoffs.cutoff_date,
        cast(cutoffs.cutoff_date + cutoffs.churn_horizon_days as date) as label_window_end_date,
        cutoffs.cutoff_date + cutoffs.churn_horizon_days <= cutoffs.as_of_date
            as is_label_window_complete
    from cutoffs
    cross join first_order
    where first_order.first_order_date < cutoffs.cutoff_date
)

select * from final
