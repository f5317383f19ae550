{%- set as_of = as_of_date_literal() -%}

with

transactions as (
    select * from {{ ref('stg_transactions') }}
),

data_range as (
    select
        min(invoice_date) as first_transaction_date,
        max(invoice_date) as last_transaction_date
    from transactions
),

dated as (
    select
        {%- if as_of is none %}
        cast(last_transaction_date + 1 as date) as as_of_date,
        false as is_as_of_date_set,
        {%- else %}
        {{ as_of }} as as_of_date,
        true as is_as_of_date_set,
        {%- endif %}
        first_transaction_date,
        last_transaction_date
    from data_range
),

final as (
    select
        as_of_date,
        is_as_of_date_set,
        {{ positive_int_var('churn_horizon_days') }} as churn_horizon_days,
        {{ positive_int_var('snapshot_cadence_days') }} as snapshot_cadence_days,
        {{ positive_int_var('snapshot_count') }} as snapshot_count,
        {{ number_var('churn_recall_target', 0.05, 0.99) }} as churn_recall_target,
        {{ number_var('segment_count', 0, 20) | int }} as segment_count,
        {{ positive_int_var('clv_horizon_days') }} as clv_horizon_days,
        {{ number_var('clv_margin', 0, 1) }} as clv_margin,
        {{ number_var('clv_annual_discount_rate', 0, 1) }} as clv_annual_discount_rate,
        {{ positive_int_var('clv_holdout_days') }} as clv_holdout_days,
        cast(as_of_date - {{ positive_int_var('clv_holdout_days') }} as date) as calibration_end_date,
        {{ number_var('high_value_clv_percentile', 0.01, 0.99) }} as high_value_clv_percentile,
        first_transaction_date,
        last_transaction_date
    from dated
)

select * from final
