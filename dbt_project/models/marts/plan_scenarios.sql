{#- The scenarios the plan and the ROI tables are priced under: the rows of seed
    campaign_scenarios (assumed save rates) and, once a past campaign's window is complete, the
    scenario 'measured', whose save rate comes from the campaigns' results:

      save rate = uplift / control churn rate

    (a contact that keeps a share s of would-be churners lifts retention by s x (1 - control
    retention), so s = (treated - control retention rate) / (1 - control retention rate)), with the
    campaigns of a complete window pooled, each weighted by its customers: uplift = sum(n_c x
    uplift_c) / sum(n_c), control churn = sum(n_c x (1 - control rate_c)) / sum(n_c). Its interval
    is the pooled uplift's (each campaign's Newcombe interval combined: lower = uplift -
    sqrt(sum(n_c^2 x ((p_t - l_t)^2 + (u_c - p_c)^2))) / sum(n_c), upper likewise; for one campaign
    exactly its interval) divided by the control churn rate, whose own uncertainty is left out. The
    save rate the plan uses is held to [0, 1]: a campaign that did not help gives 0 and the plan
    contacts nobody. Discount and cost per contact are those of var campaign_cost_scenario. The
    plan uses 'measured' only when var plan_scenario says so; asked for without a measured row,
    the build stops and says why. -#}
with

seed_scenarios as (
    select * from {{ ref('campaign_scenarios') }}
),

results as (
    select * from {{ ref('campaign_results') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

cost_scenario as (
    select seed_scenarios.*
    from seed_scenarios
    inner join parameters
        on seed_scenarios.scenario = parameters.campaign_cost_scenario
),

completed as (
    select
        *,
        treated_customers + control_customers as customers
    from results
    where is_window_complete
        and treated_customers > 0
        and control_customers > 0
),

pooled as (
    select
        count(*) as campaigns,
        sum(customers) as customers,
        sum(customers * uplift) / sum(customers) as uplift,
        sqrt(sum(customers * customers * (power(treated_retention_rate - treated_retention_rate_low, 2)
            + power(control_retention_rate_high - control_retention_rate, 2)))) / sum(customers) as low_margin,
        sqrt(sum(customers * customers * (power(treated_retention_rate_high - treated_retention_rate, 2)
            + power(control_retention_rate - control_retention_rate_low, 2)))) / sum(customers) as high_margin,
        sum(customers * (1 - control_retention_rate)) / sum(customers) as control_churn_rate
    from completed
),

measured as (
    select
        'measured' as scenario,
        concat('Measured: the save rate of ', cast(pooled.campaigns as {{ dbt.type_string() }}),
            ' past campaign(s) with a random holdout (', cast(pooled.customers as {{ dbt.type_string() }}),
            ' customers), at the costs of scenario ', cost_scenario.scenario) as description,
        'measured' as source,
        cost_scenario.discount,
        cost_scenario.cost_per_contact,
        greatest(0.0, least(1.0, pooled.uplift / pooled.control_churn_rate)) as save_rate,
        pooled.uplift / pooled.control_churn_rate as measured_save_rate,
        (pooled.uplift - pooled.low_margin) / pooled.control_churn_rate as save_rate_low,
        (pooled.uplift + pooled.high_margin) / pooled.control_churn_rate as save_rate_high,
        pooled.campaigns,
        pooled.customers
    from pooled
    cross join cost_scenario
    where pooled.campaigns > 0
        and pooled.control_churn_rate > 0
),

unioned as (
    select
        scenario,
        description,
        'seed' as source,
        discount,
        cost_per_contact,
        save_rate,
        save_rate as measured_save_rate,
        cast(null as double) as save_rate_low,
        cast(null as double) as save_rate_high,
        cast(null as bigint) as campaigns,
        cast(null as bigint) as customers
    from seed_scenarios
    union all
    select
        scenario,
        description,
        source,
        discount,
        cost_per_contact,
        save_rate,
        measured_save_rate,
        save_rate_low,
        save_rate_high,
        campaigns,
        customers
    from measured
),

{#- var plan_scenario = measured without a measured row: stop with the reason, not an empty plan -#}
checked as (
    select
        case
            when parameters.plan_scenario = 'measured' and (select count(*) from measured) = 0
                then {{ retention.error_function() }}(
                    'var plan_scenario = measured, but no campaign has a complete window with treated and control customers (marts.campaign_results). Fix: give --campaigns with past campaigns, wait for their windows to end, or choose a scenario of seeds/campaign_scenarios.csv.')
            else 1
        end as is_checked
    from parameters
),

final as (
    select unioned.*
    from unioned
    cross join checked
    where checked.is_checked = 1
)

select * from final
