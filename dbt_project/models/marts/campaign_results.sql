{#- One row per past campaign: who was treated and who held out, the share of each group retained
    in the window (doc block campaign_window) with its Wilson interval, the uplift with its 95%
    interval (doc block uplift_interval), the incremental orders, revenue and margin, and the
    realised cost and ROI at the discount and cost per contact of the scenario of var
    campaign_cost_scenario (macros in campaign_experiments.sql). A campaign whose window is still
    open reports what is known so far and says so. -#}
with

outcomes as (
    select * from {{ ref('campaign_customer_outcomes') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

cost_scenario as (
    select scenarios.*
    from {{ ref('campaign_scenarios') }} as scenarios
    inner join parameters
        on scenarios.scenario = parameters.campaign_cost_scenario
),

sums as (
    select
        campaign_id,
        max(window_days) as window_days,
        min(observed_days) as observed_days,
        max(observed_days) as max_observed_days,
        {{ campaign_outcome_sums() }},
        min(contacted_at) as first_contacted_at,
        max(contacted_at) as last_contacted_at,
        max(window_end_date) as window_end_date
    from outcomes
    group by 1
),

rates as (
    select
        sums.*,
        {{ retention_rate_columns('sums') }}
    from sums
),

figures as (
    select
        rates.*,
        cost_scenario.scenario as cost_scenario,
        cost_scenario.discount,
        cost_scenario.cost_per_contact,
        parameters.gross_margin,
        {{ uplift_columns('rates', 'parameters.gross_margin', 'cost_scenario.discount', 'cost_scenario.cost_per_contact') }}
    from rates
    cross join cost_scenario
    cross join parameters
),

final as (
    select
        campaign_id,
        case
            when open_window_customers = 0 then 'complete'
            when max_observed_days = 0 then 'not started'
            else 'in progress'
        end as window_status,
        case
            when open_window_customers = 0 then concat('complete: the ', cast(window_days as {{ dbt.type_string() }}),
                ' days after every contact are observed')
            when max_observed_days = 0 then 'not started: contacted on or after as_of_date, no outcome yet'
            else concat('in progress: the window ends ', cast(window_end_date as {{ dbt.type_string() }}), ', ',
                cast(observed_days as {{ dbt.type_string() }}), ' of ', cast(window_days as {{ dbt.type_string() }}),
                ' days observed so far; the rates and the uplift are what is known to date')
        end as status_note,
        cost_scenario,
        window_days,
        observed_days,
        treated_customers,
        control_customers,
        treated_retained_customers,
        control_retained_customers,
        treated_retention_rate,
        treated_retention_rate_low,
        treated_retention_rate_high,
        control_retention_rate,
        control_retention_rate_low,
        control_retention_rate_high,
        uplift,
        uplift_ci_low,
        uplift_ci_high,
        incremental_customers_retained,
        treated_orders,
        control_orders,
        incremental_orders,
        treated_revenue,
        control_revenue,
        incremental_revenue,
        gross_margin,
        incremental_margin,
        discount,
        cost_per_contact,
        realised_cost,
        incremental_margin - realised_cost as realised_net_profit,
        (incremental_margin - realised_cost) / nullif(realised_cost, 0) as realised_roi,
        open_window_customers = 0 as is_window_complete,
        first_contacted_at,
        last_contacted_at,
        window_end_date
    from figures
)

select * from final
