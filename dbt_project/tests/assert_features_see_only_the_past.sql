-- Point in time: no feature row may use an order on or after its cutoff.
select *
from {{ ref('int_customer_features_by_cutoff') }}
where last_order_date >= cutoff_date
    or first_order_date > last_order_date
    or tenure_days < recency_days
