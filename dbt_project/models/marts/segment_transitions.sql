{#- How customers moved between RFM segments from the previous cutoff
    (as_of_date - snapshot_cadence_days) to now: the data of a Sankey diagram. Customers
    without an order before the previous cutoff come from 'New'. -#}
with

current_rfm as (
    select * from {{ ref('customer_rfm') }}
),

previous_rfm as (
    select * from {{ ref('int_customer_segments_by_cutoff') }} where snapshot_index = 1
),

final as (
    select
        coalesce(previous_rfm.rfm_segment, 'New') as from_segment,
        current_rfm.rfm_segment as to_segment,
        count(*) as customers
    from current_rfm
    left join previous_rfm
        on current_rfm.customer_id = previous_rfm.customer_id
    group by 1, 2
)

select * from final
order by customers desc, from_segment, to_segment
