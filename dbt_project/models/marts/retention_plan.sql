{#- The budgeted retention plan: every customer ranked by expected incremental profit under the
    var plan_scenario (a row of marts.plan_scenarios), best first (ties by customer_id; customers of a quadrant whose strategy
    keeps it out of campaigns, seed decision_quadrants.is_in_plan, come last), with the running
    totals down the ranking. A customer is targeted when their expected profit is positive,
    their quadrant is in the plan, and the plan is still within both budgets at their rank: var
    campaign_max_contacts (contacts) and var campaign_budget (money: contact cost + expected
    discount), each unlimited when empty. The budgets cut the ranking once: the best customers
    until a budget runs out. The profit is churn probability x save rate x value (ranking
    churn_risk) or, when the uplift model beat ranking by churn probability on its held-out
    campaigns (var plan_ranking auto) or when var plan_ranking is uplift, predicted uplift x value
    (ranking predicted_uplift; the scenario's discount and cost per contact, its save rate unused). -#}
with

profits as (
    select * from {{ ref('campaign_customer_profits') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

decisions as (
    select * from {{ ref('customer_decisions') }}
),

uplift_metrics as (
    select * from {{ ref('uplift_model_metrics') }}
),

uplift_choice as (
    select
        coalesce(max(case when model = 'choice' and metric = 'is_fitted' then value end), 0) as is_fitted,
        coalesce(max(case when model = 'choice' and metric = 'use_uplift' then value end), 0) as use_uplift
    from uplift_metrics
),

ranking as (
    select
        case
            when parameters.plan_ranking = 'uplift' and uplift_choice.is_fitted = 0
                then {{ retention.error_function() }}(
                    'var plan_ranking = uplift, but no uplift model was fitted (ml.uplift_model_metrics says why). Fix: give --campaigns with enough treated and control customers with a complete window (var uplift_min_customers), or use plan_ranking auto or risk.')
            when parameters.plan_ranking = 'uplift' then 'predicted_uplift'
            when parameters.plan_ranking = 'auto' and uplift_choice.use_uplift = 1 then 'predicted_uplift'
            else 'churn_risk'
        end as ranking
    from parameters
    cross join uplift_choice
),

chosen as (
    select
        profits.customer_id,
        profits.scenario,
        ranking.ranking,
        profits.churn_probability,
        profits.value_if_retained,
        profits.expected_order_value,
        profits.revenue_at_risk,
        profits.predicted_uplift,
        case when ranking.ranking = 'predicted_uplift' then profits.uplift_expected_value_saved
            else profits.expected_value_saved end as expected_value_saved,
        case when ranking.ranking = 'predicted_uplift' then profits.uplift_expected_cost
            else profits.expected_cost end as expected_cost,
        case when ranking.ranking = 'predicted_uplift' then profits.uplift_expected_incremental_profit
            else profits.expected_incremental_profit end as expected_incremental_profit
    from profits
    cross join ranking
),

ranked as (
    select
        profits.*,
        decisions.decision_quadrant,
        decisions.quadrant_key,
        decisions.risk_band,
        decisions.is_in_plan,
        parameters.campaign_max_contacts,
        parameters.campaign_budget,
        row_number() over (
            order by case when decisions.is_in_plan then 0 else 1 end,
                profits.expected_incremental_profit desc, profits.customer_id
        ) as plan_rank
    from chosen as profits
    inner join parameters
        on profits.scenario = parameters.plan_scenario
    inner join decisions
        on profits.customer_id = decisions.customer_id
),

running as (
    select
        *,
        sum(expected_cost) over (order by plan_rank rows between unbounded preceding and current row)
            as cumulative_cost,
        sum(expected_incremental_profit) over (
            order by plan_rank rows between unbounded preceding and current row) as cumulative_profit,
        sum(revenue_at_risk) over (order by plan_rank rows between unbounded preceding and current row)
            as cumulative_revenue_at_risk
    from ranked
),

flagged as (
    select
        *,
        expected_incremental_profit > 0 and is_in_plan as is_profitable,
        campaign_max_contacts is null or plan_rank <= campaign_max_contacts as is_within_contacts,
        campaign_budget is null or cumulative_cost <= campaign_budget as is_within_budget
    from running
),

final as (
    select
        flagged.customer_id,
        flagged.scenario,
        flagged.ranking,
        flagged.decision_quadrant,
        flagged.quadrant_key,
        flagged.risk_band,
        case
            when not flagged.is_in_plan then concat(
                'no contact: the strategy of the ', flagged.decision_quadrant,
                ' quadrant keeps it out of campaigns (seed decision_quadrants)')
            when flagged.is_profitable and flagged.is_within_contacts and flagged.is_within_budget
                and flagged.ranking = 'predicted_uplift' then concat(
                'contact: the campaign is predicted to raise their chance of ordering by ',
                {{ retention.number_text('100 * flagged.predicted_uplift', 1) }}, ' points (uplift model), worth ',
                {{ retention.number_text('flagged.value_if_retained') }}, ' if retained; expected profit ',
                {{ retention.number_text('flagged.expected_incremental_profit') }}, ' after ',
                {{ retention.number_text('flagged.expected_cost') }}, ' of contact and discount')
            when flagged.is_profitable and flagged.is_within_contacts and flagged.is_within_budget then concat(
                'contact: ', {{ retention.number_text('100 * flagged.churn_probability') }}, '% likely to leave, worth ',
                {{ retention.number_text('flagged.value_if_retained') }}, ' if retained; expected profit ',
                {{ retention.number_text('flagged.expected_incremental_profit') }}, ' after ',
                {{ retention.number_text('flagged.expected_cost') }}, ' of contact and discount')
            when not flagged.is_profitable then concat(
                'no contact: expected profit ', {{ retention.number_text('flagged.expected_incremental_profit') }},
                ' (', {{ retention.number_text('100 * flagged.churn_probability') }}, '% likely to leave, worth ',
                {{ retention.number_text('flagged.value_if_retained') }}, ' if retained, against ',
                {{ retention.number_text('flagged.expected_cost') }}, ' of contact and discount)')
            when not flagged.is_within_contacts then concat(
                'no contact: expected profit ', {{ retention.number_text('flagged.expected_incremental_profit') }},
                ', but beyond the ', {{ retention.number_text('flagged.campaign_max_contacts') }},
                ' contacts of var campaign_max_contacts')
            else concat(
                'no contact: expected profit ', {{ retention.number_text('flagged.expected_incremental_profit') }},
                ', but beyond the budget of ', {{ retention.number_text('flagged.campaign_budget') }},
                ' (var campaign_budget)')
        end as reason,
        flagged.plan_rank,
        flagged.churn_probability,
        flagged.predicted_uplift,
        flagged.value_if_retained,
        flagged.expected_order_value,
        flagged.revenue_at_risk,
        flagged.expected_value_saved,
        flagged.expected_cost,
        flagged.expected_incremental_profit,
        flagged.plan_rank as cumulative_contacts,
        flagged.cumulative_cost,
        flagged.cumulative_profit,
        flagged.cumulative_revenue_at_risk,
        flagged.is_profitable and flagged.is_within_contacts and flagged.is_within_budget as is_targeted
    from flagged
)

select * from final
