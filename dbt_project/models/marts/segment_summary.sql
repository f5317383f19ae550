with

decisions as (
    select * from {{ ref('customer_decisions') }}
),

by_dimension as (
    {%- for dimension, column in [('rfm_segment', 'rfm_segment'), ('cluster', 'cluster_name'),
                                  ('quadrant', 'decision_quadrant')] %}
    select
        '{{ dimension }}' as dimension,
        {{ column }} as segment,
        count(*) as customers,
        sum(monetary) as revenue,
        avg(churn_probability) as avg_churn_probability,
        sum(churn_probability * revenue_if_retained) as revenue_at_risk,
        avg(value_if_retained) as avg_value_if_retained,
        sum(value_if_retained) as total_value_if_retained,
        avg(clv) as avg_clv
    from decisions
    group by {{ column }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

final as (
    select
        dimension,
        segment,
        customers,
        customers / sum(customers) over (partition by dimension) as share_of_customers,
        revenue,
        {{ retention.as_double('revenue') }}
            / nullif({{ retention.as_double('sum(revenue) over (partition by dimension)') }}, 0)
            as revenue_share,
        avg_churn_probability,
        revenue_at_risk,
        avg_value_if_retained,
        total_value_if_retained,
        avg_clv
    from by_dimension
)

select * from final
