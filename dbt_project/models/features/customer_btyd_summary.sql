{#- The input of probabilistic CLV, exactly as lifetimes.summary_data_from_transaction_data
    with freq='D', observation_period_end = as_of_date - 1 day, on orders. -#}
with

orders as (
    select * from {{ ref('int_orders') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

final as (
    {{ btyd_summary('orders', '(select as_of_date from parameters)') }}
)

select * from final
