{#- The decision matrix: every customer placed by value (value if retained at or above the
    var high_value_percentile) and risk (churn probability at or above the churn model's
    threshold) into one of the quadrants of seed decision_quadrants, for communication. Value
    is what the customer is worth if they stay, never multiplied by a chance of staying, so
    the two axes are separate signals. Who to contact comes from the retention plan; the
    expected incremental profit here is the plan scenario's. -#}
with

rfm as (
    select * from {{ ref('customer_rfm') }}
),

churn as (
    select * from {{ ref('churn_scores') }}
),

customer_value as (
    select * from {{ ref('customer_value') }}
),

clv as (
    select * from {{ ref('customer_clv') }}
),

segments as (
    select * from {{ ref('customer_segments') }}
),

quadrants as (
    select * from {{ ref('decision_quadrants') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

profits as (
    select * from {{ ref('campaign_customer_profits') }}
),

plan_profits as (
    select profits.*
    from profits
    inner join parameters
        on profits.scenario = parameters.plan_scenario
),

value_cut as (
    select
        {{ retention.percentile_cont('value_if_retained', checked_var('high_value_percentile')) }}
            as high_value_cut
    from customer_value
),

customers as (
    select
        rfm.customer_id,
        rfm.country,
        rfm.rfm_segment,
        rfm.rfm_score,
        segments.cluster_id,
        segments.cluster_name,
        churn.risk_band,
        churn.top_drivers,
        rfm.recency_days,
        rfm.frequency,
        rfm.monetary,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        churn.churn_probability,
        customer_value.value_if_retained,
        customer_value.revenue_if_retained,
        customer_value.expected_order_value,
        clv.clv,
        customer_value.value_if_retained >= value_cut.high_value_cut as is_high_value,
        churn.is_predicted_churner as is_high_risk,
        rfm.last_order_date,
        rfm.as_of_date
    from rfm
    inner join churn on rfm.customer_id = churn.customer_id
    inner join customer_value on rfm.customer_id = customer_value.customer_id
    inner join clv on rfm.customer_id = clv.customer_id
    inner join segments on rfm.customer_id = segments.customer_id
    cross join value_cut
),

final as (
    select
        customers.customer_id,
        customers.country,
        customers.rfm_segment,
        customers.rfm_score,
        customers.cluster_id,
        customers.cluster_name,
        customers.risk_band,
        case when customers.is_high_value then 'high' else 'low' end as value_tier,
        quadrants.decision_quadrant,
        quadrants.quadrant_key,
        quadrants.strategy,
        quadrants.action,
        customers.top_drivers,
        customers.recency_days,
        customers.frequency,
        customers.monetary,
        customers.r_score,
        customers.f_score,
        customers.m_score,
        customers.churn_probability,
        customers.value_if_retained,
        customers.revenue_if_retained,
        customers.expected_order_value,
        customers.clv,
        plan_profits.expected_incremental_profit,
        customers.is_high_value,
        customers.is_high_risk,
        quadrants.is_in_plan,
        customers.last_order_date,
        customers.as_of_date
    from customers
    inner join quadrants
        on customers.is_high_value = quadrants.is_high_value
        and customers.is_high_risk = quadrants.is_high_risk
    inner join plan_profits
        on customers.customer_id = plan_profits.customer_id
)

select * from final
