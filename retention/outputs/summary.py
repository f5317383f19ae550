"""What a finished build says about itself: the input rows and where they went, the tables it
made, and the headline of the models and the plan. Read-only queries on the published file."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from retention.inputs.files import duckdb_connect

_EXAMPLE_COLUMN = {"invalid_quantity": "quantity_raw", "invalid_unit_price": "unit_price_raw",
                   "invalid_invoice_date": "invoice_date_raw", "implausible_date": "invoice_date_raw"}


@dataclass
class InputReport:
    """Rows per file (raw, clean), rejected rows per reason with an example, overlaps between
    files, and notes (hints and warnings) for the console."""

    files: list[tuple[str, int, int]] = field(default_factory=list)
    reasons: list[tuple[str, int, str]] = field(default_factory=list)
    overlaps: list[tuple[str, str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _reasons(con) -> list[tuple[str, int, str]]:
    rows = con.execute("""
        select rejection_reason, count(*), arg_min(quantity_raw, raw_row_id), arg_min(unit_price_raw, raw_row_id),
            arg_min(invoice_date_raw, raw_row_id), min(raw_row_id)
        from staging.base_transactions where rejection_reason is not null
        group by 1 order by 2 desc, 1""").fetchall()
    out = []
    for reason, count, quantity, price, date, row in rows:
        example = {"quantity_raw": quantity, "unit_price_raw": price, "invoice_date_raw": date}.get(
            _EXAMPLE_COLUMN.get(reason, ""))
        out.append((reason, count, f"e.g. row {row}: {example!r}" if reason in _EXAMPLE_COLUMN else ""))
    return out


def _date_notes(last_clean: dt.date | None, as_of_date: str | None) -> list[str]:
    if not as_of_date or last_clean is None:
        return []
    as_of = dt.date.fromisoformat(as_of_date)
    if (as_of - last_clean).days > 1:
        return [f"as_of_date {as_of} is {(as_of - last_clean).days} days after the last clean transaction "
                f"({last_clean}): the days in between count as days without orders, so customers look less "
                "active than the data may warrant"]
    if last_clean >= as_of:
        return [f"clean transactions dated on or after as_of_date {as_of} (up to {last_clean}) are kept in "
                "staging and ignored by every feature, label and mart"]
    return []


def input_report(db: Path, several_files: bool, as_of_date: str | None) -> InputReport:
    """What happened to the raw rows: per file, per rejection reason, overlaps between files."""
    con = duckdb_connect(str(db), read_only=True)
    try:
        report = InputReport(files=con.execute("""
            select source_file, count(*), count(*) filter (where rejection_reason is null)
            from staging.base_transactions group by 1 order by min(raw_row_id)""").fetchall())
        report.reasons = _reasons(con)
        if several_files:
            report.overlaps = con.execute("""
                select copy.source_file, first.source_file, count(*)
                from staging.base_transaction_copies as copies
                join staging.base_transaction_lines as copy on copy.raw_row_id = copies.raw_row_id
                join staging.base_transaction_lines as first on first.raw_row_id = copies.first_copy_raw_row_id
                where copy.source_file <> first.source_file
                group by 1, 2 order by 1, 2""").fetchall()
        last_clean = con.execute("select max(invoice_date) from staging.stg_transactions").fetchone()[0]
        report.warnings = [row[0] for row in con.execute(
            "select message from staging.input_warnings where warning_kind = 'rejected_rows' "
            "order by warning_id").fetchall()]
    finally:
        con.close()
    names = {reason for reason, _, _ in report.reasons}
    if "invalid_unit_price" in names:
        report.notes.append("prices with currency symbols or thousands separators are not parsed (nor, unless "
                            "the data settle it or --decimal-separator ',' is given, decimal commas); export plain "
                            "numbers such as 1234.50")
    if "invalid_invoice_date" in names:
        report.notes.append("InvoiceDate is read as ISO, or day/month/year in the convention the data settle "
                            "(--date-format day-first or month-first; other layouts: --date-format "
                            "'%d.%m.%y %H:%M', var invoice_date_formats)")
    report.notes += _date_notes(last_clean, as_of_date)
    return report


def built_relations(db_path: Path) -> list[tuple[str, str, int, bool]]:
    """(schema, table or view, rows, is_view) for everything the build made."""
    con = duckdb_connect(str(db_path), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name, table_type = 'VIEW' from information_schema.tables "
            "where table_type in ('BASE TABLE', 'VIEW') and table_catalog = current_database() "
            "and table_schema not in ('information_schema', 'pg_catalog') order by 1, 2").fetchall()
        return [(s, t, con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0], is_view)
                for s, t, is_view in tables]
    finally:
        con.close()


def _metric(con, table: str, model: str, metric: str):
    row = con.execute(f"select value from {table} where model = ? and metric = ?", [model, metric]).fetchone()
    return None if row is None else row[0]


def headline(db_path: Path) -> list[str]:
    """One line each for the churn model, the value model and the plan (when they were built)."""
    con = duckdb_connect(str(db_path), read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}
        lines = []
        if "ml.churn_model_metrics" in tables:
            chosen = con.execute("select model from ml.churn_model_metrics where metric = 'is_chosen' "
                                 "and value = 1 and model not like 'calibration:%'").fetchone()[0]
            auc = _metric(con, "ml.churn_model_metrics", f"{chosen}_calibrated", "roc_auc")
            expected = _metric(con, "ml.churn_model_metrics", "scored", "expected_churn_rate")
            last_year = _metric(con, "ml.churn_model_metrics", "scored", "last_year_observed_rate")
            text = (f"churn model: {chosen}, out-of-time ROC-AUC {auc:.3f}; expected churn in the next "
                    f"horizon {expected:.1%}")
            lines.append(text + (f" (same window last year: {last_year:.1%} observed)" if last_year is not None
                                 and last_year == last_year else ""))
        if "ml.value_model_metrics" in tables:
            method = con.execute("select model from ml.value_model_metrics where metric = 'is_chosen' "
                                 "and value = 1").fetchone()[0]
            spearman = _metric(con, "ml.value_model_metrics", method, "spearman")
            past = _metric(con, "ml.value_model_metrics", "past_monetary", "spearman")
            lines.append(f"value model: {method}, Spearman {spearman:.3f} with realised spend out of time "
                         f"(past monetary {past:.3f})")
        if "marts.retention_kpis" in tables:
            n, profit, cost, margin = con.execute(
                "select plan_targeted_customers, plan_expected_profit, plan_expected_cost, gross_margin "
                "from marts.retention_kpis").fetchone()
            lines.append(f"retention plan: {n:,} customers to contact, expected incremental profit {profit:,.0f} "
                         f"for {cost:,.0f} of contact and discount cost (gross margin {margin:.0%})")
        return lines
    finally:
        con.close()
