{%- set as_of = as_of_date_literal() -%}

with

transactions as (
    select * from {{ ref('stg_transactions') }}
),

data_range as (
    select
        min(invoice_date) as first_transaction_date,
        max(invoice_date) as last_transaction_date,
    from transactions
),

final as (
    select
        {%- if as_of is none %}
        cast(last_transaction_date + 1 as date) as as_of_date,
        false as is_as_of_date_set,
        {%- else %}
        {{ as_of }} as as_of_date,
        true as is_as_of_date_set,
        {%- endif %}
        {{ positive_int_var('churn_horizon_days') }} as churn_horizon_days,
        {{ positive_int_var('snapshot_cadence_days') }} as snapshot_cadence_days,
        {{ positive_int_var('snapshot_count') }} as snapshot_count,
        first_transaction_date,
        last_transaction_date,
    from data_range
)

select * from final
