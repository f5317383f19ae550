{#- Net profit and ROI of a campaign on the at-risk quadrant over a grid of discount and
    save rate (vars sensitivity_discounts, sensitivity_save_rates), at the base scenario's
    cost per contact. -#}
with

inputs as (
    select * from {{ ref('campaign_inputs') }} where quadrant_key = 'high_value_high_risk'
),

base_scenario as (
    select * from {{ ref('campaign_scenarios') }} where scenario = 'base'
),

grid as (
    select discounts.discount, save_rates.save_rate
    from ({{ double_values('discount', var('sensitivity_discounts')) }}) as discounts
    cross join ({{ double_values('save_rate', var('sensitivity_save_rates')) }}) as save_rates
),

economics as (
    select
        g.discount,
        g.save_rate,
        b.cost_per_contact,
        i.contacts,
        {{ campaign_economics('g.discount', 'b.cost_per_contact', 'g.save_rate') }}
    from inputs as i
    cross join base_scenario as b
    cross join grid as g
),

final as (
    select
        *,
        net_profit / nullif(total_cost, 0) as roi
    from economics
)

select * from final
