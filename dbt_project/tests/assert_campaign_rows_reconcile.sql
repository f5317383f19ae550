-- Nothing is lost: every row of the campaign files is either a usable assignment or rejected with a reason.
with

raw_rows as (
    select count(*) as row_count from {{ source('raw', 'campaigns') }}
),

clean_rows as (
    select count(*) as row_count from {{ ref('stg_campaign_assignments') }}
),

rejected_rows as (
    select count(*) as row_count from {{ ref('stg_campaign_assignments_rejected') }}
)

select
    raw_rows.row_count as raw_rows,
    clean_rows.row_count as clean_rows,
    rejected_rows.row_count as rejected_rows
from raw_rows, clean_rows, rejected_rows
where raw_rows.row_count <> clean_rows.row_count + rejected_rows.row_count
