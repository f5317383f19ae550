{#- Every customer of a past campaign: group, outcome in the window (doc block campaign_window) and
    who they were at the contact, from the point-in-time features as of contacted_at: RFM segment,
    churn probability and risk band (ml.churn_scores_at_contact), value if retained
    (ml.customer_value_at_contact) and the decision quadrant these place them in (value at or
    above the var high_value_percentile of that day's customers, risk at or above the churn
    model's threshold). A customer without an order before the contact, or contacted on or after
    as_of_date, has no segments ('no order before contact', 'contacted on or after as_of_date'). -#}
with

outcomes as (
    select * from {{ ref('int_campaign_outcomes') }}
),

features_at_contact as (
    select * from {{ ref('int_customer_features_at_contact') }}
),

rfm_segments as (
    select * from {{ ref('rfm_segments') }}
),

churn_at_contact as (
    select * from {{ ref('churn_scores_at_contact') }}
),

value_at_contact as (
    select * from {{ ref('customer_value_at_contact') }}
),

quadrants as (
    select * from {{ ref('decision_quadrants') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

value_cuts as (
    select
        cutoff_date,
        {{ retention.percentile_cont('value_if_retained', checked_var('high_value_percentile')) }}
            as high_value_cut
    from value_at_contact
    group by 1
),

placed as (
    select
        outcomes.*,
        rfm_segments.rfm_segment,
        churn_at_contact.risk_band,
        churn_at_contact.churn_probability,
        value_at_contact.value_if_retained,
        value_at_contact.value_if_retained >= value_cuts.high_value_cut as is_high_value,
        churn_at_contact.is_predicted_churner as is_high_risk,
        case
            when not outcomes.has_order_before_contact then 'no order before contact'
            when outcomes.contacted_at >= parameters.as_of_date then 'contacted on or after as_of_date'
            else 'unknown'
        end as missing_segment
    from outcomes
    cross join parameters
    left join features_at_contact
        on outcomes.customer_id = features_at_contact.customer_id
        and outcomes.contacted_at = features_at_contact.cutoff_date
    left join rfm_segments
        on features_at_contact.r_score between rfm_segments.r_score_min and rfm_segments.r_score_max
        and features_at_contact.f_score between rfm_segments.f_score_min and rfm_segments.f_score_max
    left join churn_at_contact
        on outcomes.customer_id = churn_at_contact.customer_id
        and outcomes.contacted_at = churn_at_contact.cutoff_date
    left join value_at_contact
        on outcomes.customer_id = value_at_contact.customer_id
        and outcomes.contacted_at = value_at_contact.cutoff_date
    left join value_cuts
        on outcomes.contacted_at = value_cuts.cutoff_date
),

final as (
    select
        placed.campaign_id,
        placed.customer_id,
        placed.campaign_group,
        coalesce(placed.rfm_segment, placed.missing_segment) as rfm_segment,
        coalesce(placed.risk_band, placed.missing_segment) as risk_band,
        coalesce(quadrants.decision_quadrant, placed.missing_segment) as decision_quadrant,
        quadrants.quadrant_key,
        placed.churn_probability,
        placed.value_if_retained,
        placed.window_days,
        placed.observed_days,
        placed.orders_in_window,
        placed.revenue_in_window,
        placed.first_order_value_in_window,
        placed.is_treated,
        placed.is_retained,
        placed.is_window_complete,
        placed.has_order_before_contact,
        placed.contacted_at,
        placed.window_end_date
    from placed
    left join quadrants
        on placed.is_high_value = quadrants.is_high_value
        and placed.is_high_risk = quadrants.is_high_risk
)

select * from final
