{#- Every customer under every scenario of seed campaign_scenarios: the expected value saved,
    the expected cost of the contact and the discount, and the expected incremental profit
    (doc block expected_incremental_profit; macros in campaign_economics.sql). -#}
with

churn as (
    select * from {{ ref('churn_scores') }}
),

customer_value as (
    select * from {{ ref('customer_value') }}
),

scenarios as (
    select * from {{ ref('campaign_scenarios') }}
),

customers as (
    select
        churn.customer_id,
        churn.churn_probability,
        customer_value.value_if_retained,
        customer_value.revenue_if_retained,
        customer_value.expected_order_value
    from churn
    inner join customer_value
        on churn.customer_id = customer_value.customer_id
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
            as expected_incremental_profit
    from customers
    cross join scenarios
)

select * from final
