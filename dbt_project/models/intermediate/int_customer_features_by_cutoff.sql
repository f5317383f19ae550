{#- Behaviour of every customer with at least one order before each cutoff, computed
    only from activity strictly before that cutoff (point in time: removing later
    transactions cannot change a row). The "same window last year" columns look at
    [cutoff - 365 days, cutoff - 365 days + churn_horizon_days), cut at the cutoff. -#}
{%- set last_year_window_end = 365 - [checked_var('churn_horizon_days'), 365] | min %}
with

customer_days as (
    select * from {{ ref('int_customer_days') }}
),

cutoffs as (
    select * from {{ ref('int_cutoffs') }}
),

activity as (
    select
        customer_days.customer_id,
        cutoffs.cutoff_date,
        cutoffs.snapshot_index,
        {{ retention.arg_max('customer_days.last_order_country', 'customer_days.last_order_key') }}
            as country,
        min(case when customer_days.orders > 0 then customer_days.activity_date end)
            as first_order_date,
        max(case when customer_days.orders > 0 then customer_days.activity_date end)
            as last_order_date,
        cast(sum(customer_days.orders) as bigint) as frequency,
        count(case when customer_days.orders > 0 then 1 end) as distinct_order_days,
        sum(customer_days.net_amount) as monetary,
        sum(customer_days.order_value) as total_order_value,
        sum(customer_days.returned_amount) as returned_amount,
        cast(sum(customer_days.q4_orders) as bigint) as q4_orders,
        cast(sum(customer_days.new_products) as bigint) as distinct_products,
        {#- the first order day is before every cutoff the customer is seen at -#}
        {{ retention.arg_min('customer_days.order_value',
                             'case when customer_days.orders > 0 then customer_days.activity_date end') }}
            as first_order_day_value,
        cast(sum(case when customer_days.activity_date >= cutoffs.cutoff_date - 365
            and customer_days.activity_date < cutoffs.cutoff_date - {{ last_year_window_end }}
            then customer_days.orders else 0 end) as bigint) as orders_last_year_window,
        sum(case when customer_days.activity_date >= cutoffs.cutoff_date - 365
            and customer_days.activity_date < cutoffs.cutoff_date - {{ last_year_window_end }}
            then customer_days.net_amount else 0 end) as revenue_last_year_window,
        {%- for days in [30, 90, 180] %}
        cast(sum(case when customer_days.activity_date >= cutoffs.cutoff_date - {{ days }}
            then customer_days.orders else 0 end) as bigint) as orders_{{ days }}d,
        sum(case when customer_days.activity_date >= cutoffs.cutoff_date - {{ days }}
            then customer_days.net_amount else 0 end) as revenue_{{ days }}d
        {{- ',' if not loop.last }}
        {%- endfor %}
    from customer_days
    inner join cutoffs
        on customer_days.activity_date < cutoffs.cutoff_date
    group by 1, 2, 3
    having sum(customer_days.orders) > 0
),

{#- The churn rate of the whole population in the same window one year before each
    cutoff: the share of the customers who had ordered before it that did not order in
    it. NULL when no customer had ordered a year before the cutoff. -#}
last_year_rates as (
    select
        cutoff_date,
        {#- doubles, not decimal literals: Spark would average decimals to 5 places -#}
        avg(case when first_order_date < cutoff_date - 365
            then case when orders_last_year_window = 0 then cast(1 as double) else cast(0 as double) end end)
            as churn_rate_same_window_last_year
    from activity
    group by 1
),

features as (
    select
        activity.customer_id,
        activity.country,
        activity.snapshot_index,
        {{ dbt.datediff('activity.first_order_date', 'activity.cutoff_date', 'day') }} as tenure_days,
        {{ dbt.datediff('activity.last_order_date', 'activity.cutoff_date', 'day') }} as recency_days,
        activity.frequency,
        activity.monetary,
        activity.distinct_order_days,
        {{ retention.as_double('activity.total_order_value') }} / activity.frequency as avg_order_value,
        case when activity.distinct_order_days >= 2
            then {{ dbt.datediff('activity.first_order_date', 'activity.last_order_date', 'day') }}
                / (activity.distinct_order_days - 1)
        end as mean_days_between_orders,
        activity.orders_30d,
        activity.orders_90d,
        activity.orders_180d,
        activity.revenue_30d,
        activity.revenue_90d,
        activity.revenue_180d,
        activity.orders_90d - (activity.orders_180d - activity.orders_90d) as orders_trend_90d,
        activity.revenue_90d - (activity.revenue_180d - activity.revenue_90d)
            as revenue_trend_90d,
        {{ retention.as_double('activity.returned_amount') }}
            / {{ retention.as_double('activity.total_order_value') }} as return_rate,
        activity.distinct_products,
        activity.q4_orders / activity.frequency as q4_order_share,
        case when activity.distinct_order_days >= 2
            then {{ retention.as_double('activity.total_order_value - activity.first_order_day_value') }}
                / (activity.distinct_order_days - 1)
        end as mean_repeat_order_value,
        {#- NULL, not 0, for a customer whose history is shorter than a year -#}
        case when activity.first_order_date < activity.cutoff_date - 365
            then activity.orders_last_year_window end as orders_same_window_last_year,
        case when activity.first_order_date < activity.cutoff_date - 365
            then activity.revenue_last_year_window end as revenue_same_window_last_year,
        last_year_rates.churn_rate_same_window_last_year,
        activity.first_order_date,
        activity.last_order_date,
        activity.cutoff_date
    from activity
    inner join last_year_rates
        on activity.cutoff_date = last_year_rates.cutoff_date
),

final as (
    select
        customer_id,
        country,
        snapshot_index,
        tenure_days,
        recency_days,
        frequency,
        monetary,
        distinct_order_days,
        avg_order_value,
        mean_days_between_orders,
        orders_30d,
        orders_90d,
        orders_180d,
        revenue_30d,
        revenue_90d,
        revenue_180d,
        orders_trend_90d,
        revenue_trend_90d,
        return_rate,
        distinct_products,
        q4_order_share,
        mean_repeat_order_value,
        orders_same_window_last_year,
        revenue_same_window_last_year,
        churn_rate_same_window_last_year,
        ntile(5) over (
            partition by cutoff_date order by recency_days desc, customer_id
        ) as r_score,
        ntile(5) over (partition by cutoff_date order by frequency, customer_id) as f_score,
        ntile(5) over (partition by cutoff_date order by monetary, customer_id) as m_score,
        first_order_date,
        last_order_date,
        cutoff_date
    from features
)

select * from final
