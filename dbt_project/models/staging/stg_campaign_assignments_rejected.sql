{{ config(materialized="view") }}
{#- The rows of the campaign files that cannot be used, with their raw text and the reason. -#}
with

base as (
    select * from {{ ref('base_campaign_assignments') }}
),

final as (
    select
        raw_row_id,
        campaign_id_raw as campaign_id,
        customer_id_raw as customer_id,
        group_raw as campaign_group,
        contacted_at_raw as contacted_at,
        rejection_reason,
        source_file
    from base
    where rejection_reason is not null
)

select * from final
