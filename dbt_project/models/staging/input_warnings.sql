{#- What a person should know about the input before trusting the numbers: every rejection
    reason that takes more than var input_warning_share of the raw rows (except the reasons of
    var input_warning_exempt_reasons), with the first such row as an example and the fix from
    seed rejection_reasons; and what the runner's preflight warned about (var
    preflight_warnings: dates no value settles, decimal separators that disagree). The
    runner prints the first kind at the end of the build; the report shows both. -#}
{%- set threshold = retention.checked_var('input_warning_share') -%}
{%- set exempt = var('input_warning_exempt_reasons', []) or [] -%}
{%- set notes = var('preflight_warnings', []) or [] -%}
{%- set text = dbt.type_string() -%}

with

base as (
    select * from {{ ref('base_transactions') }}
),

reasons as (
    select * from {{ ref('rejection_reasons') }}
),

totals as (
    select count(*) as raw_rows from base
),

rejected as (
    select
        rejection_reason,
        count(*) as affected_rows,
        min(raw_row_id) as example_raw_row_id
    from base
    where rejection_reason is not null
    group by 1
),

over_threshold as (
    select
        rejected.rejection_reason,
        rejected.affected_rows,
        totals.raw_rows,
        rejected.example_raw_row_id,
        cast(rejected.affected_rows as double) / totals.raw_rows as affected_share
    from rejected
    cross join totals
    where cast(rejected.affected_rows as double) / totals.raw_rows > {{ threshold }}
    {%- for reason in exempt %}
        and rejected.rejection_reason <> {{ retention.sql_string_literal(reason) }}
    {%- endfor %}
),

examples as (
    select
        over_threshold.*,
        example.source_file as example_source_file,
        case reasons.raw_column
            when 'invoice_no' then example.invoice_no_raw
            when 'stock_code' then example.stock_code_raw
            when 'quantity' then example.quantity_raw
            when 'invoice_date' then example.invoice_date_raw
            when 'unit_price' then example.unit_price_raw
            when 'customer_id' then example.customer_id_raw
        end as example_value,
        coalesce(reasons.meaning, over_threshold.rejection_reason) as meaning,
        coalesce(reasons.fix, 'see staging.stg_transactions_rejected') as fix
    from over_threshold
    inner join base as example
        on example.raw_row_id = over_threshold.example_raw_row_id
    left join reasons
        on reasons.rejection_reason = over_threshold.rejection_reason
),

share_warnings as (
    select
        'rejected_rows' as warning_kind,
        rejection_reason,
        example_source_file,
        example_value,
        rejection_reason || ': ' || cast(round(100 * affected_share, 1) as {{ text }}) || '% of the rows ('
            || {{ retention.number_text('affected_rows') }} || ' of ' || {{ retention.number_text('raw_rows') }}
            || '): ' || meaning || '; e.g. row ' || cast(example_raw_row_id as {{ text }})
            || ' of ' || {{ retention.sql_string_literal("'") }} || example_source_file || {{ retention.sql_string_literal("'") }}
            || coalesce(': ' || {{ retention.sql_string_literal("'") }} || example_value || {{ retention.sql_string_literal("'") }}, '')
            || '. Fix: ' || fix as message,
        affected_rows,
        raw_rows,
        example_raw_row_id,
        affected_share
    from examples
),

reading_warnings as (
    {%- for note in notes %}
    select
        'input_reading' as warning_kind,
        cast(null as {{ text }}) as rejection_reason,
        cast(null as {{ text }}) as example_source_file,
        cast(null as {{ text }}) as example_value,
        cast({{ retention.sql_string_literal(note) }} as {{ text }}) as message,
        cast(null as bigint) as affected_rows,
        cast(null as bigint) as raw_rows,
        cast(null as bigint) as example_raw_row_id,
        cast(null as double) as affected_share
    {{ 'union all' if not loop.last }}
    {%- else %}
    select * from share_warnings where false
    {%- endfor %}
),

combined as (
    select * from share_warnings
    union all
    select * from reading_warnings
),

final as (
    select
        row_number() over (
            order by warning_kind desc, affected_share desc, rejection_reason, message
        ) as warning_id,
        warning_kind,
        rejection_reason,
        example_source_file,
        example_value,
        message,
        affected_rows,
        raw_rows,
        affected_share,
        example_raw_row_id
    from combined
)

select * from final
