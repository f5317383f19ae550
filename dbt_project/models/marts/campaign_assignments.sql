{#- This build's campaign: every targeted list split into a treatment and a control group. The
    lists are the retention plan's targeted customers (campaign var campaign_id, default
    retention_<as_of_date>) and the customers of each decision quadrant with a CRM list (seed
    decision_quadrants.crm_list; campaign <campaign_id>-<crm_list>). A customer is held out
    (control) when the stable hash bucket of '<campaign_id>:<customer_id>' (macro campaign_bucket,
    0-9999) is below var control_share x 10000; the bucket uses the build's campaign id, not the
    list's, so a customer held out is held out of every list of the build. Same campaign id, same
    split, on every build and engine. The CRM files hold the treatment group only; this table holds
    both, with what the customer looked like at assignment. Its export
    (exports/campaign_assignments.csv) is the file to read back with --campaigns once the window
    has passed. -#}
with

plan as (
    select * from {{ ref('retention_plan') }}
),

decisions as (
    select * from {{ ref('customer_decisions') }}
),

quadrants as (
    select * from {{ ref('decision_quadrants') }}
),

parameters as (
    select * from {{ ref('int_analysis_parameters') }}
),

lists as (
    select
        'retention_plan' as list_name,
        plan.customer_id,
        plan.plan_rank
    from plan
    where plan.is_targeted
    union all
    select
        quadrants.crm_list as list_name,
        decisions.customer_id,
        cast(null as bigint) as plan_rank
    from decisions
    inner join quadrants
        on decisions.quadrant_key = quadrants.quadrant_key
    where quadrants.crm_list is not null
),

assigned as (
    select
        case when lists.list_name = 'retention_plan' then parameters.campaign_id
            else concat(parameters.campaign_id, '-', lists.list_name) end as campaign_id,
        lists.list_name,
        lists.customer_id,
        lists.plan_rank,
        {{ campaign_bucket('parameters.campaign_id', 'lists.customer_id') }} as assignment_bucket,
        parameters.control_share,
        parameters.campaign_contacted_at as contacted_at
    from lists
    cross join parameters
),

final as (
    select
        assigned.campaign_id,
        assigned.list_name,
        assigned.customer_id,
        case when {{ is_control_bucket('assigned.assignment_bucket', 'assigned.control_share') }}
            then 'control' else 'treatment' end as {{ quote_identifier('group') }},
        decisions.decision_quadrant,
        decisions.risk_band,
        decisions.rfm_segment,
        assigned.assignment_bucket,
        assigned.plan_rank,
        decisions.churn_probability,
        decisions.value_if_retained,
        plan.expected_incremental_profit,
        assigned.contacted_at
    from assigned
    inner join decisions
        on assigned.customer_id = decisions.customer_id
    inner join plan
        on assigned.customer_id = plan.customer_id
)

select * from final
