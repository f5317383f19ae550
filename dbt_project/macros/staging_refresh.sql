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

