{%- set as_of = as_of_date_literal() -%}
{%- set contacted_at = date_var_sql('campaign_contacted_at') -%}
{%- set campaign_id = campaign_id_literal() -%}

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
        {{ checked_var('churn_horizon_days') }} as churn_horizon_days,
        {{ checked_var('snapshot_cadence_days') }} as snapshot_cadence_days,
        {{ checked_var('snapshot_count') }} as snapshot_count,
        {{ checked_var('churn_recall_target') }} as churn_recall_target,
        {{ checked_var('segment_count') }} as segment_count,
        {{ checked_var('gross_margin') }} as gross_margin,
        {{ checked_var('clv_horizon_days') }} as clv_horizon_days,
        {{ checked_var('clv_annual_discount_rate') }} as clv_annual_discount_rate,
        {{ checked_var('clv_holdout_days') }} as clv_holdout_days,
        cast(as_of_date - {{ checked_var('clv_holdout_days') }} as date) as calibration_end_date,
        {{ checked_var('high_value_percentile') }} as high_value_percentile,
        {{ scenario_var('plan_scenario') }} as plan_scenario,
        {{ var_literal('campaign_max_contacts') }} as campaign_max_contacts,
        {{ var_literal('campaign_budget') }} as campaign_budget,
        {{ checked_var('control_share') }} as control_share,
        {{ campaign_id if campaign_id is not none
           else "concat('retention_', cast(as_of_date as " ~ dbt.type_string() ~ "))" }} as campaign_id,
        {{ contacted_at if contacted_at is not none else 'as_of_date' }} as campaign_contacted_at,
        {{ [checked_var('campaign_window_days'), checked_var('churn_horizon_days')] | reject('none') | first }}
            as campaign_window_days,
        {{ scenario_var('campaign_cost_scenario') }} as campaign_cost_scenario,
        {{ checked_var('uplift_min_customers') }} as uplift_min_customers,
        {{ choice_var('plan_ranking', ['auto', 'risk', 'uplift']) }} as plan_ranking,
        first_transaction_date,
        last_transaction_date
    from dated
)

select * from final
