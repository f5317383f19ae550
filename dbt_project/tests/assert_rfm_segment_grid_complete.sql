-- Every one of the 25 (r_score, f_score) cells maps to exactly one segment of the seed.
with

segments as (
    select * from {{ ref('rfm_segments') }}
),

grid as (
    select r.score as r_score, f.score as f_score
    from (select cast(generated_number as integer) as score from ({{ dbt.generate_series(5) }}) as s) as r
    cross join (select cast(generated_number as integer) as score from ({{ dbt.generate_series(5) }}) as s) as f
),

matches as (
    select
        grid.r_score,
        grid.f_score,
        count(segments.rfm_segment) as segment_count
    from grid
    left join segments
        on grid.r_score between segments.r_score_min and segments.r_score_max
        and grid.f_score between segments.f_score_min and segments.f_score_max
    group by 1, 2
)

select * from matches where segment_count <> 1
