{#- The contact days of the past campaigns before as_of_date: the cutoffs at which the customers'
    features are computed for the uplift model and the segments at contact. -#}
with

assignments as (
    select * from {{ ref('stg_campaign_assignments') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

final as (
    select distinct
        assignments.contacted_at as cutoff_date
    from assignments
    cross join parameters
    where assignments.contacted_at < parameters.as_of_date
)

select * from final
