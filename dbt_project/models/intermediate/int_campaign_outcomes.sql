{#- What happened to every customer of a past campaign in its window (doc block campaign_window):
    the orders in [contacted_at, contacted_at + window_days), cut at as_of_date while the window
    is open, their revenue, the value of the first (the order a discount would be redeemed on),
    and whether the customer had ordered before the contact. One row per usable assignment. -#}
with

assignments as (
    select * from {{ ref('stg_campaign_assignments') }}
),

orders as (
    select * from {{ ref('int_orders') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

windows as (
    select
        assignments.campaign_id,
        assignments.customer_id,
        assignments.campaign_group,
        assignments.is_treated,
        assignments.contacted_at,
        parameters.campaign_window_days as window_days,
        cast(assignments.contacted_at + parameters.campaign_window_days as date) as window_end_date,
        parameters.as_of_date
    from assignments
    cross join parameters
),

window_orders as (
    select
        windows.campaign_id,
        windows.customer_id,
        orders.order_value,
        row_number() over (
            partition by windows.campaign_id, windows.customer_id
            order by orders.order_at, orders.invoice_no
        ) as order_number
    from windows
    inner join orders
        on orders.customer_id = windows.customer_id
        and orders.order_date >= windows.contacted_at
        and orders.order_date < windows.window_end_date
),

window_totals as (
    select
        campaign_id,
        customer_id,
        count(*) as orders_in_window,
        sum(order_value) as revenue_in_window,
        max(case when order_number = 1 then order_value end) as first_order_value_in_window
    from window_orders
    group by 1, 2
),

earlier_orders as (
    select distinct
        windows.campaign_id,
        windows.customer_id
    from windows
    inner join orders
        on orders.customer_id = windows.customer_id
        and orders.order_date < windows.contacted_at
),

final as (
    select
        windows.campaign_id,
        windows.customer_id,
        windows.campaign_group,
        windows.window_days,
        greatest(0, least(windows.window_days,
            {{ dbt.datediff('windows.contacted_at', 'windows.as_of_date', 'day') }})) as observed_days,
        coalesce(window_totals.orders_in_window, 0) as orders_in_window,
        coalesce(window_totals.revenue_in_window, 0) as revenue_in_window,
        coalesce(window_totals.first_order_value_in_window, 0) as first_order_value_in_window,
        windows.is_treated,
        coalesce(window_totals.orders_in_window, 0) > 0 as is_retained,
        windows.window_end_date <= windows.as_of_date as is_window_complete,
        earlier_orders.customer_id is not null as has_order_before_contact,
        windows.contacted_at,
        windows.window_end_date
    from windows
    left join window_totals
        on windows.campaign_id = window_totals.campaign_id
        and windows.customer_id = window_totals.customer_id
    left join earlier_orders
        on windows.campaign_id = earlier_orders.campaign_id
        and windows.customer_id = earlier_orders.customer_id
)

select * from final
