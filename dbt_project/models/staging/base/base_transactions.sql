{{ config(materialized="view") }}
{#- Every raw row exactly once with its final rejection reason: the lines as parsed
    (base_transaction_lines) plus 'duplicate' for later copies of a usable line
    (base_transaction_copies). A view, so the 100M-row case is written to disk once. -#}
with

lines as (
    select * from {{ ref('base_transaction_lines') }}
),

copies as (
    select * from {{ ref('base_transaction_copies') }}
),

final as (
    select
        lines.raw_row_id,
        lines.source_file,
        lines.invoice_no_raw,
        lines.stock_code_raw,
        lines.description_raw,
        lines.quantity_raw,
        lines.invoice_date_raw,
        lines.unit_price_raw,
        lines.customer_id_raw,
        lines.country_raw,
        lines.invoice_no,
        lines.stock_code,
        lines.description,
        lines.country,
        lines.customer_id,
        case when copies.raw_row_id is null then lines.quantity end as quantity,
        case when copies.raw_row_id is null then lines.unit_price end as unit_price,
        lines.invoice_at,
        lines.is_order_refunded,
        coalesce(
            lines.invalid_reason,
            case when copies.raw_row_id is not null then 'duplicate' end
        ) as rejection_reason
    from lines
    left join copies
        on lines.raw_row_id = copies.raw_row_id
)

select * from final
