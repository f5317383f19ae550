{#- The figures of campaign_results per segment of each past campaign, so a manager can see who the
    campaign actually moved: by the decision quadrant, the churn risk band and the RFM segment the
    customers were in at contacted_at (marts.campaign_customer_outcomes). The same macros, so each
    segment's uplift has the same 95% interval (doc block uplift_interval). -#}
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

segmented as (
    {%- for dimension in ['decision_quadrant', 'risk_band', 'rfm_segment'] %}
    select
        campaign_id,
        '{{ dimension }}' as dimension,
        {{ dimension }} as segment,
        is_treated,
        is_retained,
        orders_in_window,
        revenue_in_window,
        first_order_value_in_window,
        is_window_complete
    from outcomes
    {{- ' union all' if not loop.last }}
    {%- endfor %}
),

sums as (
    select
        campaign_id,
        dimension,
        segment,
        {{ campaign_outcome_sums() }}
    from segmented
    group by 1, 2, 3
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
        {{ uplift_columns('rates', 'parameters.gross_margin', 'cost_scenario.discount', 'cost_scenario.cost_per_contact') }}
    from rates
    cross join cost_scenario
    cross join parameters
),

final as (
    select
        campaign_id,
        dimension,
        segment,
        treated_customers,
        control_customers,
        treated_retained_customers,
        control_retained_customers,
        treated_retention_rate,
        control_retention_rate,
        uplift,
        uplift_ci_low,
        uplift_ci_high,
        incremental_customers_retained,
        incremental_orders,
        incremental_revenue,
        incremental_margin,
        realised_cost,
        incremental_margin - realised_cost as realised_net_profit,
        (incremental_margin - realised_cost) / nullif(realised_cost, 0) as realised_roi,
        open_window_customers = 0 as is_window_complete
    from figures
)

select * from final
