"""The `retention` command: the only place that parses arguments, prints errors and picks exit
codes (0 done, 2 a problem the user can fix, 130 interrupted)."""
from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from retention.config import DB_NAME, DEFAULT_DEMO_ROWS, DEFAULT_WAREHOUSE, STORAGE_VERSIONS, BuildOptions, UsageError
from retention.console import Console

DESCRIPTION = """Turn a table of retail transactions into answers: who is leaving, why, who is worth saving,
and whom to contact. `retention build` runs the whole job (dbt on DuckDB: staging, features, the
models, marts; then exports, the HTML report and the docs site)."""


def _warehouse_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse-dir", default=os.environ.get("WAREHOUSE_DIR") or str(DEFAULT_WAREHOUSE),
                        metavar="DIR", help="the warehouse folder (default: warehouse/, or env WAREHOUSE_DIR)")


def _build_parser(sub) -> None:
    p = sub.add_parser("build", help="build the warehouse (the whole job)", description=(
        "Build the warehouse: preflight checks, dbt build (every data and unit test), atomic publish of "
        "retention.duckdb, exports, CRM lists, the HTML report and the dbt docs site. Without --transactions "
        "it builds the demo data (generated if missing)."),
    )
    inputs = p.add_argument_group("input")
    inputs.add_argument("--transactions", action="append", default=None, metavar="PATH",
                        help="CSV, CSV.gz, Parquet or spreadsheet (.xlsx, .xls: every sheet with the columns) file; repeat it (or give a quoted glob such as 'exports/*.csv') "
                             "for several files, read as one (rows repeated across files kept once); default: env "
                             "TRANSACTIONS, else the demo data")
    inputs.add_argument("--campaigns", action="append", default=None, metavar="FILE",
                        help="past campaigns to read back (campaign_id, customer_id, group, contacted_at: e.g. an "
                             "earlier exports/campaign_assignments.csv); repeat it or give a quoted glob (var campaigns_path)")
    inputs.add_argument("--column-map", action="append", default=[], metavar="NAME=COLUMN",
                        help="your column for a canonical one, e.g. customer_id='Client No'")
    inputs.add_argument("--preset", metavar="NAME",
                        help="a known export layout: uci, uci2, shopify, woocommerce (default: detected from the header)")
    inputs.add_argument("--date-format", metavar="FORMAT",
                        help="day-first, month-first or a strptime format such as '%%d.%%m.%%Y %%H:%%M' "
                             "(default: read from the data; month-first when no value settles it)")
    inputs.add_argument("--decimal-separator", metavar="CHAR",
                        help="'.' or ',' in Quantity and UnitPrice (default: read from the data)")
    inputs.add_argument("--encoding", metavar="NAME", help="encoding of CSV files: utf-8 (default), latin-1 or utf-16")
    inputs.add_argument("--delimiter", metavar="CHAR", help="CSV delimiter, e.g. ';' or tab (default: detected)")
    inputs.add_argument("--demo-rows", type=int, default=DEFAULT_DEMO_ROWS, metavar="N",
                        help=f"size of the generated demo data (default {DEFAULT_DEMO_ROWS:,})")
    analysis = p.add_argument_group("analysis (dbt vars; --vars sets any other)")
    analysis.add_argument("--as-of-date", metavar="DATE", help="analysis date YYYY-MM-DD (default: the day after the last transaction)")
    analysis.add_argument("--churn-horizon-days", type=int, metavar="DAYS", help="churn = no order in this many days (default 90)")
    analysis.add_argument("--snapshot-cadence-days", type=int, metavar="DAYS", help="days between training cutoffs (default 30)")
    analysis.add_argument("--snapshot-count", type=int, metavar="N", help="number of past training cutoffs (default 15)")
    analysis.add_argument("--campaign-id", metavar="ID",
                          help="id of this build's campaign lists (default retention_<as-of-date>; var campaign_id)")
    analysis.add_argument("--vars", default=None, metavar="YAML", help="dbt vars as YAML/JSON, e.g. '{gross_margin: 0.4}'")
    run = p.add_argument_group("run")
    _warehouse_arg(run)
    run.add_argument("--target", choices=("duckdb", "spark"), default="duckdb",
                     help="duckdb (default): the whole job in one file; spark: the same job (SQL layers, Python steps, marts) on a Spark session "
                          "(make spark-setup first; see the README, 'Beyond one machine')")
    run.add_argument("--skip-ml", action="store_true", help="build only the SQL layers (no models, no marts)")
    run.add_argument("--no-docs", action="store_true", help="skip the dbt docs site")
    run.add_argument("--no-report", action="store_true", help="skip the HTML report")
    run.add_argument("--threads", type=int, default=int(os.environ.get("RETENTION_THREADS", os.cpu_count() or 2)),
                     metavar="N", help="DuckDB and dbt threads (default: the machine's cores, or env RETENTION_THREADS)")
    run.add_argument("--memory-limit", default=os.environ.get("RETENTION_MEMORY_LIMIT", "8GB"), metavar="SIZE",
                     help="DuckDB memory_limit (default 8GB, or env RETENTION_MEMORY_LIMIT)")
    run.add_argument("--storage-version", choices=STORAGE_VERSIONS, default="v1.4.0", metavar="VERSION",
                     help="the oldest DuckDB that must read the file: v1.4.0 (default: DuckDB 1.4 and later) "
                          "or v1.0.0-v1.3.0 for BI drivers with an older DuckDB (writes about a third slower)")
    run.add_argument("--temp-dir", metavar="DIR", help="where DuckDB spills past --memory-limit (default: "
                     "retention.duckdb.building.tmp in the warehouse folder)")
    run.add_argument("--strict", action="store_true",
                     help="stop before the build, instead of warning, when the free disk space is below what it "
                          "needs (the rule is in the README, 'What a nightly build does when something goes wrong')")
    run.add_argument("--full-refresh", action="store_true",
                     help="stage every file again, even when the previous build's files are an unchanged prefix of "
                          "this build's (by default only the new files are staged; see the README, 'Refreshes')")
    run.add_argument("--verbose", action="store_true", help="print dbt's own log as it runs (always in logs/build.log)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retention", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _build_parser(sub)
    p = sub.add_parser("demo-data", help="generate demo transactions (a UCI Online Retail look-alike)")
    p.add_argument("--rows", type=int, default=DEFAULT_DEMO_ROWS, help="rows to generate (default 300,000)")
    p.add_argument("--seed", type=int, default=42, help="random seed (same seed, same file)")
    p.add_argument("--output", default=str(DEFAULT_WAREHOUSE / "demo" / "transactions.parquet"),
                   help="a .parquet, .csv or .csv.gz path")
    p.add_argument("--campaigns", type=int, default=0, metavar="N",
                   help="also simulate N past campaigns with a random holdout and a known effect on the customers "
                        "(responses in the transactions, assignments in --campaigns-output; default 0: none)")
    p.add_argument("--campaigns-output", metavar="PATH",
                   help="the campaigns' assignments CSV (default: campaigns.csv beside --output)")
    p = sub.add_parser("report", help="render the HTML report of a built warehouse")
    _warehouse_arg(p)
    p.add_argument("--output", help="where to write it (default: <warehouse-dir>/report.html)")
    p = sub.add_parser("export", help="write the marts as Parquet and the CRM lists as CSV")
    _warehouse_arg(p)
    p.add_argument("--output", help="the folder (default: <warehouse-dir>/exports)")
    p = sub.add_parser("evaluate", help="judge a warehouse built at an earlier as-of date by what happened next")
    p.add_argument("warehouse", help="a retention.duckdb whose next churn horizon is in its input")
    p.add_argument("--budget-share", type=float, default=0.1, help="share of customers a campaign may contact")
    p.add_argument("--json", help="also write the figures to this file")
    p = sub.add_parser("serve", help="serve the dashboard and the REST API over the published warehouse", description=(
        "Serve the last published warehouse read-only: the dashboard at /, the JSON API under /api, its docs at "
        "/docs. A rebuild into the same folder is picked up without a restart."))
    _warehouse_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="server processes (default 1; each loads the warehouse)")
    p.add_argument("--poll-seconds", type=float, default=1.0, metavar="S",
                   help="how often to look for a rebuilt warehouse (default 1.0)")
    p = sub.add_parser("bench", help="time the whole job and the SQL layers against the pandas peer")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="arguments of scripts/benchmark.py (see --help)")
    return parser


def _options(args: argparse.Namespace) -> BuildOptions:
    if args.threads < 1:
        raise UsageError(f"--threads {args.threads}: give 1 or more.")
    if not re.fullmatch(r"[0-9]+([.][0-9]+)?\s*([KMGT]i?B|B)", args.memory_limit.strip(), re.IGNORECASE):
        raise UsageError(f"--memory-limit '{args.memory_limit}' is not a size. Fix: e.g. --memory-limit 4GB.")
    return BuildOptions(
        transactions=tuple(args.transactions or ()), campaigns=tuple(args.campaigns or ()),
        campaign_id=args.campaign_id, warehouse_dir=Path(args.warehouse_dir).resolve(),
        as_of_date=args.as_of_date, churn_horizon_days=args.churn_horizon_days,
        snapshot_cadence_days=args.snapshot_cadence_days, snapshot_count=args.snapshot_count,
        column_map=tuple(args.column_map), preset=args.preset, date_format=args.date_format,
        decimal_separator=args.decimal_separator, encoding=args.encoding, delimiter=args.delimiter, vars_text=args.vars,
        demo_rows=args.demo_rows, docs=not args.no_docs, report=not args.no_report, skip_ml=args.skip_ml,
        threads=args.threads, memory_limit=args.memory_limit, storage_version=args.storage_version,
        temp_dir=Path(args.temp_dir).resolve() if args.temp_dir else None, strict=args.strict, verbose=args.verbose,
        full_refresh=args.full_refresh)


def run_build(args: argparse.Namespace, console: Console) -> Path:
    from retention.publish import build_lock, check_folder
    from retention.targets import prepare

    options = _options(args)
    check_folder(options.warehouse_dir)
    with build_lock(options.warehouse_dir) as stale:
        if stale:
            console.step(f"note: {stale}")
        prepared = prepare(options, console)
        if args.target == "spark":
            from retention.targets.spark import build_spark

            return build_spark(prepared, console)
        from retention.targets.duckdb import build_duckdb

        result = build_duckdb(prepared, console)
    example = ("select * from features.customer_rfm limit 5" if options.skip_ml
               else "select * from marts.retention_plan where is_targeted limit 5")
    console.step(f"query it: {sys.executable} -c \"import duckdb; print(duckdb.connect('{result.warehouse}', "
                 f"read_only=True).sql('{example}'))\"")
    return result.warehouse


def _existing_warehouse(folder: str) -> Path:
    db = Path(folder).resolve() / DB_NAME
    if not db.exists():
        raise UsageError(f"no warehouse at '{db}'. Fix: build one first (retention build --warehouse-dir {folder}).")
    return db


def _dispatch(args: argparse.Namespace, console: Console) -> None:
    if args.command == "build":
        run_build(args, console)
    elif args.command == "demo-data":
        from retention.demo import generate
        from retention.demo.cli import campaign_spec

        if args.campaigns < 0:
            raise UsageError(f"--campaigns {args.campaigns}: give 0 (none) or more.")
        spec = campaign_spec(args.campaigns, args.output, args.campaigns_output)
        try:
            summary = generate(args.output, rows=args.rows, seed=args.seed, campaigns=spec)
        except ValueError as exc:
            raise UsageError(f"demo-data: {exc}.") from None
        console.step(f"{summary['rows']:,} rows ({summary['customers']:,} customers) -> {args.output} "
                     f"in {summary['seconds']:.1f}s")
        for c in summary.get("campaigns", []):
            console.step(f"campaign {c['campaign_id']}: {c['customers']:,} customers ({c['treated']:,} treated, "
                         f"{c['control']:,} control), simulated uplift {c['true_uplift']:.1%} -> {spec.output}")
    elif args.command == "report":
        from retention.outputs.report import render_report

        db = _existing_warehouse(args.warehouse_dir)
        path = render_report(db, Path(args.output) if args.output else db.parent / "report.html")
        console.step(f"report: {path} ({path.stat().st_size / 1024:,.0f} KiB)")
    elif args.command == "export":
        from retention.outputs.exports import export_outputs

        db = _existing_warehouse(args.warehouse_dir)
        folder = Path(args.output) if args.output else db.parent / "exports"
        for name, rows in export_outputs(db, folder).items():
            console.detail(f"{folder / name}: {rows:,} rows")
    elif args.command == "evaluate":
        from retention.evaluate import main as evaluate

        evaluate([args.warehouse, "--budget-share", str(args.budget_share)] + (["--json", args.json] if args.json else []))
    elif args.command == "serve":
        from retention.serve import serve

        serve(_existing_warehouse(args.warehouse_dir).parent, host=args.host, port=args.port, workers=args.workers,
              poll_seconds=args.poll_seconds, console=console)
    elif args.command == "bench":
        from retention.bench import main as bench

        bench(args.bench_args)


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    console = Console(verbose=getattr(args, "verbose", False))
    try:
        _dispatch(args, console)
    except UsageError as exc:
        console.clear_progress()
        console.repeat_warnings()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        console.clear_progress()
        print("error: interrupted; the previous warehouse is untouched.", file=sys.stderr)
        return 130
    except Exception as exc:  # a full disk outside a build (demo-data, report, export): no traceback
        from retention.disk import is_no_space, path_in

        if not is_no_space(exc):
            raise
        console.clear_progress()
        path = getattr(exc, "filename", None) or path_in(str(exc)) or getattr(args, "output", None)
        print(f"error: no space left on device{f' writing {path!r}' if path else ''} ({str(exc).splitlines()[0]}). "
              "Fix: free space there, or write to another filesystem (--warehouse-dir DIR, --output PATH).",
              file=sys.stderr)
        return 2
    console.repeat_warnings()
    return 0
