{{ config(materialized="view") }}
{#- The usable rows of the campaign files: one per campaign and customer, in the treatment or
    the control group, with the day of the contact. -#}
with

base as (
    select * from {{ ref('base_campaign_assignments') }}
),

final as (
    select
        raw_row_id,
        campaign_id,
        customer_id,
        campaign_group,
        source_file,
        campaign_group = 'treatment' as is_treated,
        contacted_at
    from base
    where rejection_reason is null
)

select * from final
