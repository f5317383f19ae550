{#- The BTYD summary of the orders in `orders` dated before `end_date` (a SQL date
    expression): lifetimes.summary_data_from_transaction_data(freq='D') with
    observation_period_end = end_date - 1 day. Used for the current view and for the CLV
    holdout check's calibration period. -#}
{% macro btyd_summary(orders, end_date) %}
    with

    order_days as (
        select
            customer_id,
            order_date,
            sum(order_value) as day_value,
            row_number() over (partition by customer_id order by order_date) as day_number
        from {{ orders }}
        where order_date < {{ end_date }}
        group by 1, 2
    )

    select
        customer_id,
        count(*) - 1 as frequency,
        {{ dbt.datediff('min(order_date)', 'max(order_date)', 'day') }} as recency,
        {{ dbt.datediff('min(order_date)', 'cast(' ~ end_date ~ ' - 1 as date)', 'day') }} as {{ adapter.quote('T') }},
        {#- the exact decimal sum over the count, not an average of doubles: the same double on
            every engine (Spark would add the doubles in another order) -#}
        coalesce({{ retention.as_double('sum(case when day_number > 1 then day_value end)') }}
            / count(case when day_number > 1 then day_value end), 0) as monetary_value,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        cast({{ end_date }} - 1 as date) as observation_period_end
    from order_days
    group by 1
{% endmacro %}
