{#- What each list would earn under each scenario of marts.plan_scenarios (seed campaign_scenarios
    and, once past campaigns measured it, 'measured'), at the var
    gross_margin: the retention plan's targeted customers (the campaign the warehouse
    recommends, when its profit is positive) and, for comparison only, each decision quadrant
    contacted whole. -#}
with

inputs as (
    select * from {{ ref('campaign_inputs') }}
),

scenarios as (
    select * from {{ ref('plan_scenarios') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

economics as (
    select
        i.target_key,
        i.target_name,
        i.target_type,
        s.scenario,
        s.discount,
        s.cost_per_contact,
        s.save_rate,
        parameters.gross_margin,
        i.contacts,
        {{ campaign_economics('s.discount', 's.cost_per_contact', 's.save_rate', 'parameters.gross_margin') }}
    from inputs as i
    cross join scenarios as s
    cross join parameters
),

final as (
    select
        *,
        net_profit / nullif(total_cost, 0) as roi,
        target_type = 'plan' and contacts > 0 and net_profit > 0 as is_recommended,
        case
            when target_type = 'plan' and contacts = 0 then 'no customer has a positive expected profit: no campaign'
            when target_type = 'plan' and net_profit > 0 then 'run: the customers the retention plan targets'
            when target_type = 'plan' then 'do not run: the list loses money under this scenario'
            else 'for comparison only: the plan chooses customers one by one, not by quadrant'
        end as recommendation
    from economics
)

select * from final
