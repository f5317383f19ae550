{#- Features at past cutoffs with the churn label from the horizon after each: the
    training and evaluation rows of the churn and value models. Features only see activity
    before the cutoff; the labels only see activity in [cutoff, cutoff + horizon). -#}
with

features_by_cutoff as (
    select * from {{ ref('int_customer_features_by_cutoff') }}
),

cutoffs as (
    select * from {{ ref('int_cutoffs') }}
),

customer_days as (
    select * from {{ ref('int_customer_days') }}
),

past_snapshots as (
    select
        features_by_cutoff.*,
        cutoffs.label_window_end_date,
        cutoffs.is_label_window_complete
    from features_by_cutoff
    inner join cutoffs
        on features_by_cutoff.cutoff_date = cutoffs.cutoff_date
    where features_by_cutoff.snapshot_index >= 1
),

label_window_orders as (
    select
        past_snapshots.customer_id,
        past_snapshots.cutoff_date,
        cast(sum(customer_days.orders) as bigint) as orders_in_label_window,
        sum(customer_days.net_amount) as revenue_in_label_window
    from past_snapshots
    inner join customer_days
        on customer_days.customer_id = past_snapshots.customer_id
        and customer_days.activity_date >= past_snapshots.cutoff_date
        and customer_days.activity_date < past_snapshots.label_window_end_date
    group by 1, 2
),

final as (
    select
        past_snapshots.*,
        coalesce(label_window_orders.orders_in_label_window, 0) as orders_in_label_window,
        coalesce(label_window_orders.revenue_in_label_window, 0) as revenue_in_label_window,
        case when coalesce(label_window_orders.orders_in_label_window, 0) = 0
            then 1 else 0 end as churned
    from past_snapshots
    left join label_window_orders
        on past_snapshots.customer_id = label_window_orders.customer_id
        and past_snapshots.cutoff_date = label_window_orders.cutoff_date
)

select * from final
