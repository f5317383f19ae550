{#- The rows an uplift model learns from: every customer of a past campaign whose window is
    complete, with the point-in-time features as of contacted_at (activity strictly before the
    contact) and the outcome from the window after it (doc block campaign_window). Customers
    without an order before the contact have no features and are not here. -#}
with

outcomes as (
    select * from {{ ref('int_campaign_outcomes') }}
),

features_at_contact as (
    select * from {{ ref('int_customer_features_at_contact') }}
),

final as (
    select
        outcomes.campaign_id,
        outcomes.campaign_group,
        outcomes.orders_in_window,
        outcomes.revenue_in_window,
        case when outcomes.is_treated then 1 else 0 end as is_treated,
        case when outcomes.is_retained then 1 else 0 end as is_retained,
        outcomes.contacted_at,
        features_at_contact.*
    from outcomes
    inner join features_at_contact
        on outcomes.customer_id = features_at_contact.customer_id
        and outcomes.contacted_at = features_at_contact.cutoff_date
    where outcomes.is_window_complete
)

select * from final
