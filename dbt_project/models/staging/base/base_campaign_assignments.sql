{#- Every row of the campaign files, once: its raw text, its parsed values and, for a row that
    cannot be used, the reason (first that applies): missing_campaign_id, missing_customer,
    unknown_group (not treatment or control, ignoring case and spaces), invalid_contacted_at (not
    an ISO date or timestamp, or before 1990), in_both_groups (the customer is in the treatment
    and the control group of the same campaign: every row of the pair is rejected, the outcome
    cannot be attributed), duplicate (a later row of the same campaign and customer; the first,
    by file then row order, is kept). stg_campaign_assignments and
    stg_campaign_assignments_rejected split it, so raw = clean + rejected by construction (and a
    test checks it against the files). Without campaign files the source is empty, and so is this. -#}
with

source as (
    select
        *,
        {{ retention.raw_source_file() }} as _source_file
    from {{ source('raw', 'campaigns') }}
),

raw_rows as (
    select
        {{ retention.raw_row_number() }} as raw_row_id,
        _source_file as source_file,
        cast(campaign_id as {{ dbt.type_string() }}) as campaign_id_raw,
        cast(customer_id as {{ dbt.type_string() }}) as customer_id_raw,
        cast({{ quote_identifier('group') }} as {{ dbt.type_string() }}) as group_raw,
        cast(contacted_at as {{ dbt.type_string() }}) as contacted_at_raw
    from source
),

parsed as (
    select
        *,
        nullif(trim(campaign_id_raw), '') as campaign_id,
        {{ clean_customer_id('customer_id_raw') }} as customer_id,
        case lower(trim(group_raw))
            when 'treatment' then 'treatment'
            when 'control' then 'control'
        end as campaign_group,
        cast({{ retention.parse_iso_timestamp('trim(contacted_at_raw)') }} as date) as contacted_at
    from raw_rows
),

flagged as (
    select
        *,
        case
            when campaign_id is null then 'missing_campaign_id'
            when customer_id is null then 'missing_customer'
            when campaign_group is null then 'unknown_group'
            when contacted_at is null or contacted_at < date '1990-01-01' then 'invalid_contacted_at'
        end as invalid_reason
    from parsed
),

pairs as (
    select
        campaign_id,
        customer_id,
        count(distinct campaign_group) as groups
    from flagged
    where invalid_reason is null
    group by 1, 2
),

copies as (
    select
        raw_row_id,
        row_number() over (partition by campaign_id, customer_id order by raw_row_id) as copy_number
    from flagged
    where invalid_reason is null
),

final as (
    select
        flagged.raw_row_id,
        flagged.source_file,
        flagged.campaign_id_raw,
        flagged.customer_id_raw,
        flagged.group_raw,
        flagged.contacted_at_raw,
        flagged.campaign_id,
        flagged.customer_id,
        flagged.campaign_group,
        flagged.contacted_at,
        coalesce(
            flagged.invalid_reason,
            case
                when pairs.groups > 1 then 'in_both_groups'
                when copies.copy_number > 1 then 'duplicate'
            end
        ) as rejection_reason
    from flagged
    left join pairs
        on flagged.campaign_id = pairs.campaign_id
        and flagged.customer_id = pairs.customer_id
        and flagged.invalid_reason is null
    left join copies
        on flagged.raw_row_id = copies.raw_row_id
)

select * from final
