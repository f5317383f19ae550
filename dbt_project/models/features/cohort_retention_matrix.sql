{#- The cohort table pivoted for heatmaps: one row per cohort, one column per month
    offset. The number of columns follows the data, so it is read at build time. -#}
{%- set max_offset = 0 -%}
{%- if execute -%}
    {%- set result = run_query('select coalesce(max(month_offset), 0) from ' ~ ref('cohort_retention')) -%}
    {%- set max_offset = result.columns[0].values()[0] | int -%}
{%- endif -%}

with

cohort_retention as (
    select * from {{ ref('cohort_retention') }}
),

final as (
    select
        cohort_month,
        max(cohort_size) as cohort_size,
        {%- for offset in range(max_offset + 1) %}
        max(case when month_offset = {{ offset }} then retention_rate end)
            as month_{{ '%02d' % offset }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from cohort_retention
    group by cohort_month
)

select * from final
order by cohort_month
