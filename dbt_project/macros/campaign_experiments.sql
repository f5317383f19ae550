{#- The arithmetic of campaign experiments, in one place: the holdout assignment, the 95%
    intervals of a retention rate (Wilson) and of the difference of two (Newcombe's hybrid score
    interval, doc block uplift_interval), and the figures of a campaign or a segment of it from the
    sums of its customers' outcomes (campaign_results, campaign_results_by_segment and the
    scenario 'measured' of plan_scenarios use these). -#}

{% macro campaign_bucket(campaign_id, customer_id) -%}
    {#- The assignment bucket 0 .. 9999 of a customer in a campaign: a stable hash (macro
        hash_bucket: the same on every engine and in every build) of 'campaign_id:customer_id'. -#}
    {{ retention.hash_bucket("concat(" ~ campaign_id ~ ", ':', " ~ customer_id ~ ")", 10000) }}
{%- endmacro %}


{% macro is_control_bucket(bucket, control_share) -%}
    {#- Held out when the bucket is below control_share x 10000 (so about that share). -#}
    ({{ bucket }} < ({{ control_share }}) * 10000)
{%- endmacro %}


{% macro _z95() -%}1.959963984540054{%- endmacro %}


{% macro wilson_bound(successes, n, sign) -%}
    {#- One end of the 95% Wilson score interval of successes / n (sign -1: lower, +1: upper);
        NULL when n = 0. Held to [0, 1], where the interval lies (rounding can put an end of 0
        successes a hair below 0). -#}
    case when ({{ n }}) > 0 then {{ 'greatest(0.0, ' if sign < 0 else 'least(1.0, ' }}
        (cast({{ successes }} as double) / ({{ n }}) + {{ _z95() }} * {{ _z95() }} / (2.0 * ({{ n }}))
            {{ '-' if sign < 0 else '+' }} {{ _z95() }} * sqrt(
                (cast({{ successes }} as double) / ({{ n }})) * (1 - cast({{ successes }} as double) / ({{ n }})) / ({{ n }})
                + {{ _z95() }} * {{ _z95() }} / (4.0 * ({{ n }}) * ({{ n }}))))
        / (1 + {{ _z95() }} * {{ _z95() }} / ({{ n }})))
    end
{%- endmacro %}


{% macro campaign_outcome_sums() -%}
    {#- Aggregates over rows of marts.campaign_customer_outcomes (one per customer of a campaign). -#}
        count(case when is_treated then 1 end) as treated_customers,
        count(case when not is_treated then 1 end) as control_customers,
        count(case when is_treated and is_retained then 1 end) as treated_retained_customers,
        count(case when not is_treated and is_retained then 1 end) as control_retained_customers,
        coalesce(sum(case when is_treated then orders_in_window end), 0) as treated_orders,
        coalesce(sum(case when not is_treated then orders_in_window end), 0) as control_orders,
        coalesce(sum(case when is_treated then revenue_in_window end), 0) as treated_revenue,
        coalesce(sum(case when not is_treated then revenue_in_window end), 0) as control_revenue,
        coalesce(sum(case when is_treated then first_order_value_in_window end), 0) as treated_first_order_value,
        count(case when not is_window_complete then 1 end) as open_window_customers
{%- endmacro %}


{% macro retention_rate_columns(alias) -%}
    {#- The two retention rates and their Wilson intervals, over the sums (alias) of
        campaign_outcome_sums. -#}
        cast({{ alias }}.treated_retained_customers as double) / nullif({{ alias }}.treated_customers, 0)
            as treated_retention_rate,
        cast({{ alias }}.control_retained_customers as double) / nullif({{ alias }}.control_customers, 0)
            as control_retention_rate,
        {{ wilson_bound(alias ~ '.treated_retained_customers', alias ~ '.treated_customers', -1) }}
            as treated_retention_rate_low,
        {{ wilson_bound(alias ~ '.treated_retained_customers', alias ~ '.treated_customers', 1) }}
            as treated_retention_rate_high,
        {{ wilson_bound(alias ~ '.control_retained_customers', alias ~ '.control_customers', -1) }}
            as control_retention_rate_low,
        {{ wilson_bound(alias ~ '.control_retained_customers', alias ~ '.control_customers', 1) }}
            as control_retention_rate_high
{%- endmacro %}


{% macro uplift_columns(alias, gross_margin, discount, cost_per_contact) -%}
    {#- Uplift with its 95% interval (Newcombe), the incremental orders, revenue and margin (the
        treated group's totals minus what the control group's rates give for as many customers),
        and the realised cost and ROI: cost per contact x treated + discount x the first order in
        the window of every treated customer who ordered. Over a relation (alias) with the
        columns of campaign_outcome_sums and retention_rate_columns. -#}
        {{ alias }}.treated_retention_rate - {{ alias }}.control_retention_rate as uplift,
        {{ alias }}.treated_retention_rate - {{ alias }}.control_retention_rate - sqrt(
            power({{ alias }}.treated_retention_rate - {{ alias }}.treated_retention_rate_low, 2)
            + power({{ alias }}.control_retention_rate_high - {{ alias }}.control_retention_rate, 2)) as uplift_ci_low,
        {{ alias }}.treated_retention_rate - {{ alias }}.control_retention_rate + sqrt(
            power({{ alias }}.treated_retention_rate_high - {{ alias }}.treated_retention_rate, 2)
            + power({{ alias }}.control_retention_rate - {{ alias }}.control_retention_rate_low, 2)) as uplift_ci_high,
        ({{ alias }}.treated_retention_rate - {{ alias }}.control_retention_rate) * {{ alias }}.treated_customers
            as incremental_customers_retained,
        {{ alias }}.treated_orders - {{ alias }}.treated_customers
            * cast({{ alias }}.control_orders as double) / nullif({{ alias }}.control_customers, 0) as incremental_orders,
        {{ alias }}.treated_revenue - {{ alias }}.treated_customers
            * {{ retention.as_double(alias ~ '.control_revenue') }} / nullif({{ alias }}.control_customers, 0)
            as incremental_revenue,
        ({{ gross_margin }}) * ({{ alias }}.treated_revenue - {{ alias }}.treated_customers
            * {{ retention.as_double(alias ~ '.control_revenue') }} / nullif({{ alias }}.control_customers, 0))
            as incremental_margin,
        ({{ cost_per_contact }}) * {{ alias }}.treated_customers
            + ({{ discount }}) * {{ retention.as_double(alias ~ '.treated_first_order_value') }} as realised_cost
{%- endmacro %}
