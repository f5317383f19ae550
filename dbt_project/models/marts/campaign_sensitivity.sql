{#- Net profit and ROI of the retention plan's targeted customers over a grid of discount and
    save rate (vars sensitivity_discounts, sensitivity_save_rates), at the plan scenario's cost
    per contact and the var gross_margin. -#}
with

inputs as (
    select * from {{ ref('campaign_inputs') }} where target_key = 'retention_plan'
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

plan_scenario as (
    select scenarios.*
    from {{ ref('plan_scenarios') }} as scenarios
    inner join parameters
        on scenarios.scenario = parameters.plan_scenario
),

grid as (
    select discounts.discount, save_rates.save_rate
    from ({{ double_values('discount', checked_var('sensitivity_discounts')) }}) as discounts
    cross join ({{ double_values('save_rate', checked_var('sensitivity_save_rates')) }}) as save_rates
),

economics as (
    select
        g.discount,
        g.save_rate,
        b.cost_per_contact,
        parameters.gross_margin,
        i.contacts,
        {{ campaign_economics('g.discount', 'b.cost_per_contact', 'g.save_rate', 'parameters.gross_margin') }}
    from inputs as i
    cross join plan_scenario as b
    cross join parameters
    cross join grid as g
),

final as (
    select
        *,
        net_profit / nullif(total_cost, 0) as roi
    from economics
)

select * from final
