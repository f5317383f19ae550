{#- What a campaign would earn, per quadrant and scenario (seed campaign_scenarios). -#}
with

inputs as (
    select * from {{ ref('campaign_inputs') }}
),

scenarios as (
    select * from {{ ref('campaign_scenarios') }}
),

economics as (
    select
        i.decision_quadrant,
        i.quadrant_key,
        s.scenario,
        s.discount,
        s.cost_per_contact,
        s.save_rate,
        i.contacts,
        {{ campaign_economics('s.discount', 's.cost_per_contact', 's.save_rate') }}
    from inputs as i
    cross join scenarios as s
),

final as (
    select
        *,
        net_profit / nullif(total_cost, 0) as roi
    from economics
)

select * from final
