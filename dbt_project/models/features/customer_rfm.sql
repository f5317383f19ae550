with

features as (
    select * from {{ ref('customer_features') }}
),

segments as (
    select * from {{ ref('rfm_segments') }}
),

final as (
    select
        features.customer_id,
        features.country,
        segments.rfm_segment,
        cast(features.r_score as varchar) || cast(features.f_score as varchar)
            || cast(features.m_score as varchar) as rfm_score,
        features.recency_days,
        features.frequency,
        features.monetary,
        features.r_score,
        features.f_score,
        features.m_score,
        features.first_order_date,
        features.last_order_date,
        features.cutoff_date as as_of_date,
    from features
    left join segments
        on features.r_score between segments.r_score_min and segments.r_score_max
        and features.f_score between segments.f_score_min and segments.f_score_max
)

select * from final
