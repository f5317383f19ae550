with

features_by_cutoff as (
    select * from {{ ref('int_customer_features_by_cutoff') }}
),

final as (
    select {{ columns_except(ref('int_customer_features_by_cutoff'), ['snapshot_index']) }}
    from features_by_cutoff
    where snapshot_index = 0
)

select * from final
