{#- The decision matrix: every customer placed by value (CLV percentile) and risk (the
    churn model's threshold) into one of the quadrants of seed decision_quadrants, with its
    strategy and the expected value of acting under the base campaign scenario. -#}
with

rfm as (
    select * from {{ ref('customer_rfm') }}
),

churn as (
    select * from {{ ref('churn_scores') }}
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

base_scenario as (
    select * from {{ ref('campaign_scenarios') }} where scenario = 'base'
),

value_cut as (
    select
        {{ retention.percentile_cont('clv', number_var('high_value_clv_percentile', 0.01, 0.99)) }}
            as high_value_clv
    from clv
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
        clv.clv,
        clv.p_alive,
        clv.expected_order_value,
        clv.clv >= value_cut.high_value_clv as is_high_value,
        churn.is_predicted_churner as is_high_risk,
        rfm.last_order_date,
        rfm.as_of_date
    from rfm
    inner join churn on rfm.customer_id = churn.customer_id
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
        customers.clv,
        customers.p_alive,
        customers.expected_order_value,
        -- base scenario: value kept by saving would-be churners, minus the contact and the
        -- discount that everyone who orders (saved or staying anyway) redeems
        customers.churn_probability * base_scenario.save_rate * customers.clv
            - base_scenario.cost_per_contact
            - (customers.churn_probability * base_scenario.save_rate
                + 1 - customers.churn_probability)
                * base_scenario.discount * customers.expected_order_value
            as expected_value_of_acting,
        customers.is_high_value,
        customers.is_high_risk,
        customers.last_order_date,
        customers.as_of_date
    from customers
    inner join quadrants
        on customers.is_high_value = quadrants.is_high_value
        and customers.is_high_risk = quadrants.is_high_risk
    cross join base_scenario
)

select * from final
