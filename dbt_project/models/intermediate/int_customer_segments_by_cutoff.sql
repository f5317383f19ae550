{#- The RFM segment of every customer at every cutoff (seed rfm_segments over the R x F
    scores), so that current and earlier segments come from one definition. -#}
with

features_by_cutoff as (
    select * from {{ ref('int_customer_features_by_cutoff') }}
),

segments as (
    select * from {{ ref('rfm_segments') }}
),

final as (
    select
        features_by_cutoff.customer_id,
        segments.rfm_segment,
        features_by_cutoff.snapshot_index,
        features_by_cutoff.cutoff_date
    from features_by_cutoff
    left join segments
        on features_by_cutoff.r_score between segments.r_score_min and segments.r_score_max
        and features_by_cutoff.f_score between segments.f_score_min and segments.f_score_max
)

select * from final
