{#- The campaign arithmetic, in one place (doc block expected_incremental_profit). Every term is
    linear in per-customer quantities, so the same macros price one customer (pass the
    customer's values and contacts = 1) or a whole list (pass their sums):

      value saved    = save_rate * sum(churn_probability * value_if_retained)
      contact cost   = cost_per_contact * contacts
      discount cost  = discount * (sum(expected_order_value)
                                   - (1 - save_rate) * sum(churn_probability * expected_order_value))
      profit         = value saved - contact cost - discount cost

    The discount is redeemed on one order by everyone contacted who orders in the window: those
    who would have stayed anyway, (1 - p), and the saved, p * save_rate; so per customer it is
    discount * expected_order_value * (1 - p + p * save_rate). The report's simulator mirrors
    these lines (retention/outputs/report/assets/report.js), tested equal. -#}

{% macro campaign_value_saved(p_x_value, save_rate) -%}
    ({{ save_rate }}) * ({{ p_x_value }})
{%- endmacro %}

{% macro campaign_contact_cost(contacts, cost_per_contact) -%}
    ({{ cost_per_contact }}) * ({{ contacts }})
{%- endmacro %}

{% macro campaign_discount_cost(eov, p_x_eov, discount, save_rate) -%}
    ({{ discount }}) * (({{ eov }}) - (1 - ({{ save_rate }})) * ({{ p_x_eov }}))
{%- endmacro %}

{% macro campaign_cost(contacts, eov, p_x_eov, discount, cost_per_contact, save_rate) -%}
    ({{ campaign_contact_cost(contacts, cost_per_contact) }}
        + {{ campaign_discount_cost(eov, p_x_eov, discount, save_rate) }})
{%- endmacro %}

{% macro expected_incremental_profit(p_x_value, contacts, eov, p_x_eov, discount, cost_per_contact, save_rate) -%}
    ({{ campaign_value_saved(p_x_value, save_rate) }}
        - {{ campaign_cost(contacts, eov, p_x_eov, discount, cost_per_contact, save_rate) }})
{%- endmacro %}

{% macro campaign_economics(discount, cost_per_contact, save_rate, margin) -%}
    {#- The columns of a campaign over the sums of a list (alias `i`, columns of
        campaign_inputs): costs, customers and value saved, net profit, and the break-even
        gross margin (the margin at which the net profit is 0; value scales with margin). -#}
        {{ campaign_contact_cost('i.contacts', cost_per_contact) }} as contact_cost,
        {{ campaign_discount_cost('i.sum_eov', 'i.sum_churn_x_eov', discount, save_rate) }} as discount_cost,
        {{ campaign_cost('i.contacts', 'i.sum_eov', 'i.sum_churn_x_eov', discount, cost_per_contact, save_rate) }}
            as total_cost,
        ({{ save_rate }}) * i.sum_churn_probability as expected_customers_saved,
        ({{ save_rate }}) * i.sum_churn_x_revenue as revenue_saved,
        {{ campaign_value_saved('i.sum_churn_x_value', save_rate) }} as value_saved,
        {{ expected_incremental_profit('i.sum_churn_x_value', 'i.contacts', 'i.sum_eov', 'i.sum_churn_x_eov',
                                       discount, cost_per_contact, save_rate) }} as net_profit,
        {{ campaign_cost('i.contacts', 'i.sum_eov', 'i.sum_churn_x_eov', discount, cost_per_contact, save_rate) }}
            / nullif(({{ save_rate }}) * i.sum_churn_x_revenue, 0) as break_even_margin
{%- endmacro %}


{#- The same arithmetic when a model predicts the uplift u itself: the lift in a customer's chance
    of ordering in the window that the contact causes (in the lines above, u = save_rate x churn
    probability). Per customer, u is held to [-(1 - p), p] first, so that the chance of ordering
    when contacted, 1 - p + u, is a probability:

      value saved    = sum(u * value_if_retained)
      discount cost  = discount * (sum(expected_order_value) - sum(p * expected_order_value)
                                   + sum(u * expected_order_value))
      profit         = value saved - contact cost - discount cost

    With u = save_rate * p these are exactly the macros above (a unit test holds them equal). -#}

{% macro uplift_discount_cost(eov, p_x_eov, u_x_eov, discount) -%}
    ({{ discount }}) * (({{ eov }}) - ({{ p_x_eov }}) + ({{ u_x_eov }}))
{%- endmacro %}

{% macro uplift_campaign_cost(contacts, eov, p_x_eov, u_x_eov, discount, cost_per_contact) -%}
    ({{ campaign_contact_cost(contacts, cost_per_contact) }}
        + {{ uplift_discount_cost(eov, p_x_eov, u_x_eov, discount) }})
{%- endmacro %}

{% macro uplift_expected_incremental_profit(u_x_value, contacts, eov, p_x_eov, u_x_eov, discount, cost_per_contact) -%}
    (({{ u_x_value }})
        - {{ uplift_campaign_cost(contacts, eov, p_x_eov, u_x_eov, discount, cost_per_contact) }})
{%- endmacro %}
