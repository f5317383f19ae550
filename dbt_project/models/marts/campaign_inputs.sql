{#- Per list, the sums the campaign arithmetic is linear in (macros in campaign_economics.sql):
    the retention plan's targeted customers, and each decision quadrant for comparison. For any
    discount d, cost per contact c and save rate s:
      value saved = s * sum_churn_x_value, contact cost = c * contacts,
      discount cost = d * (sum_eov - (1 - s) * sum_churn_x_eov).
    campaign_roi, campaign_sensitivity and the report's simulator all use these. -#}
with

plan as (
    select * from {{ ref('retention_plan') }}
),

decisions as (
    select * from {{ ref('customer_decisions') }}
),

quadrants as (
    select * from {{ ref('decision_quadrants') }}
),

members as (
    select
        'retention_plan' as target_key,
        plan.customer_id
    from plan
    where plan.is_targeted
    union all
    select
        decisions.quadrant_key as target_key,
        decisions.customer_id
    from decisions
),

sums as (
    select
        members.target_key,
        count(*) as contacts,
        {{ exact_sum('decisions.churn_probability') }} as sum_churn_probability,
        {{ exact_sum('decisions.churn_probability * decisions.value_if_retained') }} as sum_churn_x_value,
        {{ exact_sum('decisions.churn_probability * decisions.revenue_if_retained') }} as sum_churn_x_revenue,
        {{ exact_sum('decisions.expected_order_value') }} as sum_eov,
        {{ exact_sum('decisions.churn_probability * decisions.expected_order_value') }} as sum_churn_x_eov
    from members
    inner join decisions
        on members.customer_id = decisions.customer_id
    group by 1
),

targets as (
    select
        'retention_plan' as target_key,
        'Retention plan' as target_name,
        'plan' as target_type,
        0 as sort_order
    from (select 1 as one) as single_row
    union all
    select
        quadrant_key as target_key,
        decision_quadrant as target_name,
        'quadrant' as target_type,
        1 as sort_order
    from quadrants
),

final as (
    select
        targets.target_key,
        targets.target_name,
        targets.target_type,
        targets.sort_order,
        coalesce(sums.contacts, 0) as contacts,
        coalesce(sums.sum_churn_probability, 0) as sum_churn_probability,
        coalesce(sums.sum_churn_x_value, 0) as sum_churn_x_value,
        coalesce(sums.sum_churn_x_revenue, 0) as sum_churn_x_revenue,
        coalesce(sums.sum_eov, 0) as sum_eov,
        coalesce(sums.sum_churn_x_eov, 0) as sum_churn_x_eov
    from targets
    left join sums
        on targets.target_key = sums.target_key
)

select * from final
