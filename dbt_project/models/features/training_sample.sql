{#- The training snapshots the Python steps read: all of them, or past var
    ml_max_snapshot_rows rows the snapshots of a fixed sample of customers (a stable hash of
    customer_id, the kept share a multiple of 1/1000), so every cutoff keeps the same
    customers and memory stays bounded. The fits sample at most 100,000 rows anyway. -#}
{{ config(materialized='view') }}

{%- set max_rows = checked_var('ml_max_snapshot_rows') %}

with

snapshots as (
    select * from {{ ref('training_snapshots') }}
),

sizes as (
    select count(*) as total_rows from snapshots
),

shares as (
    select
        total_rows,
        case when total_rows <= {{ max_rows }} then 1000
            else greatest(1, cast(floor(1000.0 * {{ max_rows }} / total_rows) as integer))
        end as kept_buckets
    from sizes
),

final as (
    select
        snapshots.*,
        shares.kept_buckets / 1000.0 as customer_share
    from snapshots
    cross join shares
    where shares.kept_buckets = 1000
        or {{ retention.hash_bucket('snapshots.customer_id', 1000) }} < shares.kept_buckets
)

select * from final
