with

features as (
    select * from {{ ref('customer_features') }}
),

segments as (
    select * from {{ ref('int_customer_segments_by_cutoff') }} where snapshot_index = 0
),

final as (
    select
        features.customer_id,
        features.country,
        segments.rfm_segment,
        cast(features.r_score as {{ dbt.type_string() }})
            || cast(features.f_score as {{ dbt.type_string() }})
            || cast(features.m_score as {{ dbt.type_string() }}) as rfm_score,
        features.recency_days,
        features.frequency,
        features.monetary,
        features.r_score,
        features.f_score,
        features.m_score,
        features.first_order_date,
        features.last_order_date,
        features.cutoff_date as as_of_date
    from features
    left join segments
        on features.customer_id = segments.customer_id
)

select * from final
