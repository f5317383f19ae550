with

decisions as (
    select * from {{ ref('customer_decisions') }}
),

snapshots as (
    select * from {{ ref('training_snapshots') }}
),

metrics as (
    select * from {{ ref('churn_model_metrics') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

plan as (
    select * from {{ ref('retention_plan') }}
),

plan_totals as (
    select
        count(case when is_targeted then 1 end) as plan_targeted_customers,
        coalesce(sum(case when is_targeted then expected_incremental_profit end), 0) as plan_expected_profit,
        coalesce(sum(case when is_targeted then expected_cost end), 0) as plan_expected_cost
    from plan
),

latest_labelled as (
    select
        avg(churned) as observed_churn_rate,
        any_value(cutoff_date) as observed_cutoff_date
    from snapshots
    where cutoff_date = (select max(cutoff_date) from snapshots where is_label_window_complete)
),

chosen_model as (
    select
        max(case when metric = 'is_chosen' and value = 1 then model end) as model_name
    from metrics
),

model_quality as (
    select
        chosen_model.model_name,
        max(case when metrics.metric = 'roc_auc' then metrics.value end) as model_roc_auc,
        max(case when metrics.metric = 'threshold' then metrics.value end) as model_threshold
    from metrics
    cross join chosen_model
    where metrics.model = chosen_model.model_name || '_calibrated'
    group by chosen_model.model_name
),

customer_totals as (
    select
        count(*) as total_customers,
        count(case when decisions.recency_days <= parameters.churn_horizon_days then 1 end)
            as active_customers,
        avg(decisions.churn_probability) as predicted_churn_rate,
        sum(decisions.churn_probability * decisions.revenue_if_retained) as revenue_at_risk,
        sum(decisions.churn_probability * decisions.value_if_retained) as value_at_risk,
        avg(decisions.value_if_retained) as avg_value_if_retained,
        sum(decisions.value_if_retained) as total_value_if_retained,
        avg(decisions.clv) as avg_clv,
        sum(decisions.clv) as total_clv,
        count(case when decisions.quadrant_key = 'high_value_high_risk' then 1 end)
            as high_value_at_risk_customers
    from decisions
    cross join parameters
),

final as (
    select
        parameters.as_of_date,
        customer_totals.total_customers,
        customer_totals.active_customers,
        customer_totals.active_customers / customer_totals.total_customers as active_rate,
        latest_labelled.observed_churn_rate,
        1 - latest_labelled.observed_churn_rate as observed_retention_rate,
        latest_labelled.observed_cutoff_date,
        customer_totals.predicted_churn_rate,
        customer_totals.revenue_at_risk,
        customer_totals.value_at_risk,
        customer_totals.avg_value_if_retained,
        customer_totals.total_value_if_retained,
        customer_totals.avg_clv,
        customer_totals.total_clv,
        parameters.gross_margin,
        parameters.churn_horizon_days,
        plan_totals.plan_targeted_customers,
        plan_totals.plan_expected_profit,
        plan_totals.plan_expected_cost,
        customer_totals.high_value_at_risk_customers,
        model_quality.model_name,
        model_quality.model_roc_auc,
        model_quality.model_threshold
    from customer_totals
    cross join parameters
    cross join latest_labelled
    cross join model_quality
    cross join plan_totals
)

select * from final
