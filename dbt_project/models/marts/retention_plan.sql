{#- The budgeted retention plan: every customer ranked by expected incremental profit under the
    var plan_scenario, best first (ties by customer_id; customers of a quadrant whose strategy
    keeps it out of campaigns, seed decision_quadrants.is_in_plan, come last), with the running
    totals down the ranking. A customer is targeted when their expected profit is positive,
    their quadrant is in the plan, and the plan is still within both budgets at their rank: var
    campaign_max_contacts (contacts) and var campaign_budget (money: contact cost + expected
    discount), each unlimited when empty. The budgets cut the ranking once: the best customers
    until a budget runs out. -#}
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
    from profits
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
        flagged.decision_quadrant,
        flagged.quadrant_key,
        flagged.risk_band,
        case
            when not flagged.is_in_plan then concat(
                'no contact: the strategy of the ', flagged.decision_quadrant,
                ' quadrant keeps it out of campaigns (seed decision_quadrants)')
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
