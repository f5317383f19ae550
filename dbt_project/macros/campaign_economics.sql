{#- Campaign arithmetic over the per-quadrant sums of campaign_inputs (alias `i`) for a
    discount, cost per contact and save rate (SQL expressions). One definition for
    campaign_roi and campaign_sensitivity. -#}
{% macro campaign_economics(discount, cost_per_contact, save_rate) %}
        i.contacts * {{ cost_per_contact }} as contact_cost,
        {{ discount }} * ({{ save_rate }} * i.sum_churn_x_eov + i.sum_eov - i.sum_churn_x_eov)
            as discount_cost,
        i.contacts * {{ cost_per_contact }}
            + {{ discount }} * ({{ save_rate }} * i.sum_churn_x_eov + i.sum_eov - i.sum_churn_x_eov)
            as total_cost,
        {{ save_rate }} * i.sum_churn_probability as expected_customers_saved,
        {{ save_rate }} * i.sum_churn_x_clv as revenue_saved,
        {{ save_rate }} * i.sum_churn_x_clv
            - i.contacts * {{ cost_per_contact }}
            - {{ discount }} * ({{ save_rate }} * i.sum_churn_x_eov + i.sum_eov - i.sum_churn_x_eov)
            as net_profit
{% endmacro %}
