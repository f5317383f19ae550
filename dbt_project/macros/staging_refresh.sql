{#- A refresh of staging: the runner found that the previous build's input files are an
    unchanged prefix of this build's, with the same staging configuration, copied the previous
    warehouse to the new file and set var staging_refresh:

        {reused_rows: 9608320, new_files: ['/data/week-49.parquet']}

    The two staging tables (base_transaction_lines, base_transaction_copies) are then dbt
    incremental models that append the rows of the new files only, numbered after the reused
    rows, and their copies; every other model rebuilds as in a full build. Without the var
    (a full build, or dbt run by hand) they are rebuilt from all files. The data tests of the
    raw rows look at the appended rows only (their `where`, in models/staging/_staging.yml). -#}

{% macro staging_refresh() -%}
    {#- The runner's var staging_refresh ({} in a full build). -#}
    {{- return(var('staging_refresh', {}) or {}) -}}
{%- endmacro %}


{% macro staging_reused_rows() -%}
    {#- Raw rows kept from the previous build (0 in a full build): the new rows are numbered
        from this + 1, as a full build numbers them. -#}
    {{- return(staging_refresh().get('reused_rows', 0) | int) -}}
{%- endmacro %}



{% macro refresh_refunded_orders() -%}
    {#- The post-hook of base_transaction_lines. With var refund_marker, an order is refunded
        when any of its rows is marked, in whichever file: in a refresh, the reused rows of an
        order that an appended row marks refunded become refunded too (the appended rows take
        the reused rows' marks when they are staged). Nothing to do otherwise. -#}
    {%- set reused = staging_reused_rows() -%}
    {%- if not (staging_refresh() and (var('refund_marker', {}) or {})) -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set sql -%}
    update {{ this }}
    set is_order_refunded = true
    where raw_row_id <= {{ reused }}
        and not is_order_refunded
        and (
            invoice_no in (
                select invoice_no from {{ this }}
                where raw_row_id > {{ reused }} and is_order_refunded and invoice_no is not null)
            or (invoice_no is null and exists (
                select 1 from {{ this }}
                where raw_row_id > {{ reused }} and is_order_refunded and invoice_no is null))
        )
    {%- endset -%}
    {{- return(sql) -}}
{%- endmacro %}
