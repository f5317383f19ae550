{#- Every customer under every scenario of marts.plan_scenarios (the seed's and, once campaigns
    have measured it, 'measured'): the expected value saved, the expected cost of the contact and
    the discount, and the expected incremental profit (doc block expected_incremental_profit;
    macros in campaign_economics.sql). When the uplift model was fitted, the same figures with its
    predicted uplift in place of churn probability x save rate (the uplift_* columns; NULL
    otherwise); retention_plan chooses which ranks (var plan_ranking). -#}
with

churn as (
    select * from {{ ref('churn_scores') }}
),

customer_value as (
    select * from {{ ref('customer_value') }}
),

uplift as (
    select * from {{ ref('customer_uplift') }}
),

scenarios as (
    select * from {{ ref('plan_scenarios') }}
),

customers as (
    select
        churn.customer_id,
        churn.churn_probability,
        customer_value.value_if_retained,
        customer_value.revenue_if_retained,
        customer_value.expected_order_value,
        {#- least and greatest skip NULLs: without a prediction the uplift stays NULL -#}
        case when uplift.predicted_uplift is not null then
            greatest(-(1 - churn.churn_probability), least(churn.churn_probability, uplift.predicted_uplift))
        end as predicted_uplift
    from churn
    inner join customer_value
        on churn.customer_id = customer_value.customer_id
    left join uplift
        on churn.customer_id = uplift.customer_id
),

final as (
    select
        customers.customer_id,
        scenarios.scenario,
        scenarios.discount,
        scenarios.cost_per_contact,
        scenarios.save_rate,
        customers.churn_probability,
        customers.value_if_retained,
        customers.revenue_if_retained,
        customers.expected_order_value,
        customers.churn_probability * customers.revenue_if_retained as revenue_at_risk,
        {{ campaign_value_saved('customers.churn_probability * customers.value_if_retained', 'scenarios.save_rate') }}
            as expected_value_saved,
        {{ campaign_cost('1', 'customers.expected_order_value',
                         'customers.churn_probability * customers.expected_order_value',
                         'scenarios.discount', 'scenarios.cost_per_contact', 'scenarios.save_rate') }}
            as expected_cost,
        {{ expected_incremental_profit('customers.churn_probability * customers.value_if_retained', '1',
                                       'customers.expected_order_value',
                                       'customers.churn_probability * customers.expected_order_value',
                                       'scenarios.discount', 'scenarios.cost_per_contact', 'scenarios.save_rate') }}
            as expected_incremental_profit,
        customers.predicted_uplift,
        customers.predicted_uplift * customers.value_if_retained as uplift_expected_value_saved,
        {{ uplift_campaign_cost('1', 'customers.expected_order_value',
                                'customers.churn_probability * customers.expected_order_value',
                                'customers.predicted_uplift * customers.expected_order_value',
                                'scenarios.discount', 'scenarios.cost_per_contact') }}
            as uplift_expected_cost,
        {{ uplift_expected_incremental_profit('customers.predicted_uplift * customers.value_if_retained', '1',
                                              'customers.expected_order_value',
                                              'customers.churn_probability * customers.expected_order_value',
                                              'customers.predicted_uplift * customers.expected_order_value',
                                              'scenarios.discount', 'scenarios.cost_per_contact') }}
            as uplift_expected_incremental_profit
    from customers
    cross join scenarios
)

select * from final
