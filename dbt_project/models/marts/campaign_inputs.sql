{#- Per quadrant, the sums that campaign economics are linear in: any (discount d,
    cost per contact c, save rate s) gives
      saved = s * sum_churn_probability,  revenue_saved = s * sum_churn_x_clv,
      discount_cost = d * (s * sum_churn_x_eov + sum_eov - sum_churn_x_eov),
      total_cost = c * contacts + discount_cost.
    campaign_roi, campaign_sensitivity and the report's simulator all use these. -#}
with

decisions as (
    select * from {{ ref('customer_decisions') }}
),

quadrants as (
    select * from {{ ref('decision_quadrants') }}
),

sums as (
    select
        quadrant_key,
        count(*) as contacts,
        sum(churn_probability) as sum_churn_probability,
        sum(churn_probability * clv) as sum_churn_x_clv,
        sum(expected_order_value) as sum_eov,
        sum(churn_probability * expected_order_value) as sum_churn_x_eov
    from decisions
    group by 1
),

final as (
    select
        quadrants.decision_quadrant,
        quadrants.quadrant_key,
        coalesce(sums.contacts, 0) as contacts,
        coalesce(sums.sum_churn_probability, 0) as sum_churn_probability,
        coalesce(sums.sum_churn_x_clv, 0) as sum_churn_x_clv,
        coalesce(sums.sum_eov, 0) as sum_eov,
        coalesce(sums.sum_churn_x_eov, 0) as sum_churn_x_eov
    from quadrants
    left join sums
        on quadrants.quadrant_key = sums.quadrant_key
)

select * from final
