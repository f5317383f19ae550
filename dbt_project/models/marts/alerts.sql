{#- For account managers: customers in the high-value at-risk quadrant now who were not
    flagged at risk at the previous cutoff (scored by the same model), or were not yet
    customers then. Best first by expected incremental profit. -#}
with

decisions as (
    select * from {{ ref('customer_decisions') }}
),

previous_scores as (
    select * from {{ ref('churn_scores_previous') }}
),

previous_segments as (
    select * from {{ ref('int_customer_segments_by_cutoff') }} where snapshot_index = 1
),

final as (
    select
        decisions.customer_id,
        decisions.country,
        decisions.rfm_segment,
        coalesce(previous_segments.rfm_segment, 'New') as previous_rfm_segment,
        decisions.top_drivers,
        decisions.value_if_retained,
        decisions.churn_probability,
        previous_scores.churn_probability as previous_churn_probability,
        decisions.expected_incremental_profit,
        decisions.last_order_date
    from decisions
    left join previous_scores
        on decisions.customer_id = previous_scores.customer_id
    left join previous_segments
        on decisions.customer_id = previous_segments.customer_id
    where decisions.quadrant_key = 'high_value_high_risk'
        and not coalesce(previous_scores.is_predicted_churner, false)
)

select * from final
order by expected_incremental_profit desc, customer_id
