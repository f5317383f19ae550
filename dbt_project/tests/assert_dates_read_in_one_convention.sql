{#- A build never succeeds with dates read in the wrong convention. Of the dates written
    day/month/year or month/day/year (var invoice_date_shape), one that is a valid date only
    day-first (13/01/2011) settles the data as day-first, one valid only month-first
    (01/13/2011) as month-first. Fails with every clean row whose date was read in the other
    convention: a day-first file read month-first by hand (without the runner's preflight,
    which refuses that before any SQL runs), or a file that holds both kinds. -#}
{%- set shape = retention.sql_string_literal(var('invoice_date_shape')) -%}
{%- set text = 'trim(invoice_date_raw)' -%}

with

lines as (
    select * from {{ ref('base_transaction_lines') }}
),

shaped as (
    select
        raw_row_id,
        source_file,
        invoice_date_raw,
        invoice_at,
        regexp_extract({{ text }}, {{ shape }}, 1) as first_text,
        regexp_extract({{ text }}, {{ shape }}, 2) as second_text,
        regexp_extract({{ text }}, {{ shape }}, 3) as year_text
    from lines
    -- a cheap test first: a separator in the second or third place
    where substr({{ text }}, 2, 1) in ('/', '.', '-') or substr({{ text }}, 3, 1) in ('/', '.', '-')
),

fields as (
    select
        *,
        cast(nullif(first_text, '') as int) as first_field,
        {{ retention.parse_timestamp("first_text || '/' || second_text || '/' || year_text", '%d/%m/%Y') }}
            is not null as is_valid_day_first,
        {{ retention.parse_timestamp("first_text || '/' || second_text || '/' || year_text", '%m/%d/%Y') }}
            is not null as is_valid_month_first
    from shaped
    where year_text <> ''
),

evidence as (
    select
        max(case when is_valid_day_first and not is_valid_month_first then 1 else 0 end) as is_day_first,
        max(case when is_valid_month_first and not is_valid_day_first then 1 else 0 end) as is_month_first
    from fields
),

misread as (
    select
        fields.raw_row_id,
        fields.source_file,
        fields.invoice_date_raw,
        fields.invoice_at
    from fields
    cross join evidence
    where fields.invoice_at is not null
        and (
            (evidence.is_day_first = 1 and day(fields.invoice_at) <> fields.first_field)
            or (evidence.is_month_first = 1 and month(fields.invoice_at) <> fields.first_field)
        )
)

select * from misread
