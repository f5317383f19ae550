{#- The input can be analysed at all. Each problem raises an error whose message names the
    file, the row or the value, and the fix (the runner prints it), and stops the build
    before anything downstream of staging runs:
      - no clean row at all;
      - as_of_date set on or before the first clean transaction (nothing to analyse);
      - as_of_date not set while the latest clean transaction lies after today: the default
        as_of_date (the day after it) would put every customer's recency in the future.
        Only this check looks at the clock, and only to refuse: what a build writes never
        depends on the day it runs. -#}
{%- set as_of = as_of_date_literal() -%}
{%- set files = transaction_files() | join(', ') -%}
{%- set error = retention.error_function() -%}
{%- set text = sql_string_literal -%}

with

base as (
    select * from {{ ref('base_transactions') }}
),

clean as (
    select * from {{ ref('stg_transactions') }}
),

reasons as (
    select {{ retention.string_agg_ordered("rejection_reason || ' ' || row_count", "', '", 'row_count desc, rejection_reason') }}
        as reason_counts
    from (
        select rejection_reason, count(*) as row_count
        from base
        where rejection_reason is not null
        group by 1
    )
),

latest as (
    select
        raw_row_id,
        source_file,
        invoice_date_raw,
        invoice_at
    from base
    where rejection_reason is null
    order by invoice_at desc, raw_row_id
    limit 1
),

summary as (
    select
        (select count(*) from base) as raw_rows,
        (select count(*) from clean) as clean_rows,
        (select min(invoice_date) from clean) as first_date,
        {%- if as_of is not none %}
        (select count(*) from clean where invoice_at < {{ as_of }}) as rows_before_as_of,
        {%- endif %}
        reasons.reason_counts,
        latest.raw_row_id as latest_row_id,
        latest.source_file as latest_file,
        latest.invoice_date_raw as latest_date_raw,
        latest.invoice_at as latest_at
    from reasons
    left join latest on true
),

problems as (
    select
        case
            when clean_rows = 0 then {{ error }}(
                {{ text("No usable transactions in '" ~ files ~ "': all ") }} || raw_rows
                || ' rows were rejected (' || coalesce(reason_counts, 'the file has no rows')
                || '). Fix: check the column mapping (--column-map NAME=COLUMN) and the date '
                || 'formats (var invoice_date_formats); the rejected rows and their reasons are in '
                || 'staging.stg_transactions_rejected.')
            {%- if as_of is not none %}
            when rows_before_as_of = 0 then {{ error }}(
                'as_of_date ' || {{ as_of }} || ' is on or before the first clean transaction ('
                || first_date || {{ text(") in '" ~ files ~ "': there is no history to analyse. ") }}
                || 'Fix: give a later --as-of-date, or leave it out (it defaults to the day after the last transaction).')
            {%- else %}
            when latest_at >= current_date + 1 then {{ error }}(
                'Row ' || latest_row_id || {{ text(" of '") }} || latest_file || {{ text("' is dated '") }}
                || latest_date_raw
                || {{ text("', after today; the default as_of_date (the day after the latest transaction) would be ") }}
                || cast(latest_at as date) + 1 || '. Fix: correct the date in the file, or pass '
                || '--as-of-date YYYY-MM-DD (transactions on or after it are kept in staging but ignored).')
            {%- endif %}
        end as problem
    from summary
)

select * from problems where problem is not null
