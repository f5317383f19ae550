"""The dbt vars of a build: from the flags and --vars, each checked against its rule in var
var_rules of dbt_project.yml before any SQL runs (the macro checked_var checks the same rules
again when the SQL compiles)."""
from __future__ import annotations

import csv
import datetime as dt
import re

import yaml

from retention.config import SEEDS, BuildOptions, UsageError, canonical_columns, date_text, project_vars
from retention.inputs.campaigns import campaign_paths
from retention.inputs.columns import parse_column_map
from retention.inputs.conventions import parse_date_option

# Encodings the CSV reader of DuckDB has built in (others need a downloaded extension).
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "latin-1": "latin-1", "latin1": "latin-1",
             "iso-8859-1": "latin-1", "utf-16": "utf-16", "utf16": "utf-16"}
DECIMAL_NAMES = {"comma": ",", "point": ".", "dot": "."}
DELIMITER_NAMES = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
# Vars renamed since earlier releases: refused with the new name rather than silently ignored.
RENAMED_VARS = {"clv_margin": "gross_margin", "high_value_clv_percentile": "high_value_percentile"}
# Vars that say where the input is or how to read it: they do not change results.
NON_RESULT_VARS = ("transactions_path", "csv_delimiter", "source_file_names", "staging_refresh")


def _rule_text(rule: dict) -> str:
    kind = "a whole number" if rule["type"] == "integer" else "a number"
    low, high = rule.get("min"), rule.get("max")
    bounds = ""
    if low is not None:
        bounds += f" above {low}" if rule.get("exclusive_min") else f" from {low}"
    if high is not None:
        bounds += f" to {high}"
    return kind + bounds


def _checked_number(name: str, value, rule: dict):
    text = str(value).strip()
    pattern = r"[0-9]+" if rule["type"] == "integer" else r"-?[0-9]+([.][0-9]+)?"
    ok = not isinstance(value, bool) and re.fullmatch(pattern, text) is not None
    if ok:
        number = float(text)
        low, high = rule.get("min"), rule.get("max")
        ok = (low is None or (number > low if rule.get("exclusive_min") else number >= low)) and (
            high is None or number <= high)
    if not ok:
        default = project_vars().get(name)
        example = default if default not in (None, "") and not isinstance(default, list) else rule.get("min") or 1
        raise UsageError(f"{name} = {value!r} must be {_rule_text(rule)}. Fix: e.g. --vars '{{{name}: {example}}}'.")
    return int(text) if rule["type"] == "integer" else float(text)


def checked_var(name: str, value, rule: dict):
    """A var value after its rule (the value, as int, float or list of floats)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if rule.get("optional"):
            return ""
        raise UsageError(f"var {name} is empty. Fix: give {_rule_text(rule)}, e.g. --vars '{{{name}: ...}}'.")
    if rule["type"] == "number_list":
        if not isinstance(value, list) or not value:
            raise UsageError(f"{name} = {value!r} must be a list of numbers. Fix: e.g. --vars '{{{name}: [0.1, 0.2]}}'.")
        item_rule = {"type": "number", "min": rule.get("min"), "max": rule.get("max")}
        return [_checked_number(name, item, item_rule) for item in value]
    return _checked_number(name, value, rule)


def _check_as_of(dbt_vars: dict) -> None:
    as_of = dbt_vars.get("as_of_date")
    if as_of in (None, ""):
        return
    text = date_text(as_of)
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError(text)
        dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"as_of_date '{text}' is not a date. Fix: use YYYY-MM-DD, e.g. "
                         "--as-of-date 2011-12-01.") from None
    dbt_vars["as_of_date"] = text


def _check_campaign_vars(dbt_vars: dict) -> None:
    """campaign_id, campaign_contacted_at and plan_ranking: the values the SQL accepts."""
    campaign_id = dbt_vars.get("campaign_id")
    if campaign_id not in (None, "") and not re.fullmatch(r"[A-Za-z0-9_.:-]{1,64}", str(campaign_id).strip()):
        raise UsageError(f"campaign id {campaign_id!r} may hold letters, digits and _ . - : only (at most 64). "
                         "Fix: e.g. --campaign-id spring_2012.")
    contacted = dbt_vars.get("campaign_contacted_at")
    if contacted not in (None, ""):
        text = date_text(contacted)
        try:
            day = dt.date.fromisoformat(text) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) else None
        except ValueError:
            day = None
        if day is None:
            raise UsageError(f"campaign_contacted_at '{text}' is not a date. Fix: use YYYY-MM-DD, e.g. "
                             "--vars '{campaign_contacted_at: 2011-12-12}'.")
        as_of = dbt_vars.get("as_of_date")
        if as_of not in (None, "") and day < dt.date.fromisoformat(date_text(as_of)):
            raise UsageError(f"campaign_contacted_at {day} is before as_of_date {as_of}: the lists are made from the "
                             "data up to as_of_date. Fix: give a day on or after it.")
        dbt_vars["campaign_contacted_at"] = text
    ranking = str(dbt_vars.get("plan_ranking", project_vars()["plan_ranking"]))
    if ranking not in ("auto", "risk", "uplift"):
        raise UsageError(f"plan_ranking = {ranking!r} must be auto, risk or uplift. Fix: --vars '{{plan_ranking: auto}}'.")


def _check_structured(dbt_vars: dict) -> None:
    formats = dbt_vars.get("invoice_date_formats")
    if formats is not None and (not isinstance(formats, list)
                                or not all(isinstance(f, str) and "%" in f for f in formats)):
        raise UsageError(f"invoice_date_formats = {formats!r} must be a list of strptime formats, "
                         "e.g. --date-format '%d.%m.%Y %H:%M' or --vars '{invoice_date_formats: [\"%d/%m/%Y %H:%M\"]}'.")
    convention = dbt_vars.get("invoice_date_convention")
    known = tuple(project_vars()["invoice_date_conventions"])
    if convention is not None and convention not in known:
        raise UsageError(f"invoice_date_convention = {convention!r} must be one of {', '.join(known)}. "
                         "Fix: --date-format day-first (or month-first).")
    separator = dbt_vars.get("decimal_separator")
    if separator is not None and separator not in (".", ","):
        raise UsageError(f"decimal_separator = {separator!r} must be '.' or ','. Fix: --decimal-separator ','.")
    marker = dbt_vars.get("refund_marker")
    if marker and not (isinstance(marker, dict) and isinstance(marker.get("column"), str)
                       and isinstance(marker.get("values"), list) and marker["values"]
                       and all(isinstance(v, str) for v in marker["values"])):
        raise UsageError(f"refund_marker = {marker!r} must be {{column: NAME, values: [TEXT, ...]}}, e.g. "
                         "--vars '{refund_marker: {column: Status, values: [refunded]}}'.")
    names = dbt_vars.get("source_file_names")
    if names is not None and not (isinstance(names, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in names.items())):
        raise UsageError("source_file_names must map file paths to the names to show.")
    column_map = dbt_vars.get("column_map")
    if column_map is not None and (not isinstance(column_map, dict) or not all(
            k in canonical_columns() and isinstance(v, str) and v.strip() for k, v in column_map.items())):
        raise UsageError(f"column_map = {column_map!r} must map canonical names "
                         f"({', '.join(canonical_columns())}) to column names of the file.")
    aliases = dbt_vars.get("column_aliases")
    if aliases is not None and (not isinstance(aliases, dict) or not all(
            isinstance(v, list) and all(isinstance(a, str) for a in v) for v in aliases.values())):
        raise UsageError("column_aliases must map canonical names to lists of column names.")


def validate_vars(dbt_vars: dict) -> None:
    """Vars that become SQL are checked before any SQL runs; a bad one is refused by name."""
    _check_as_of(dbt_vars)
    for old, new in RENAMED_VARS.items():
        if old in dbt_vars:
            raise UsageError(f"var {old} is now {new} (it applies to every value, CLV and profit figure). "
                             f"Fix: --vars '{{{new}: {dbt_vars[old]}}}'.")
    for name, rule in project_vars()["var_rules"].items():
        if name in dbt_vars:
            dbt_vars[name] = checked_var(name, dbt_vars[name], rule)
    _check_structured(dbt_vars)
    _check_campaign_vars(dbt_vars)


MEASURED = "measured"


def check_scenarios(dbt_vars: dict) -> None:
    """seeds/campaign_scenarios.csv: shares in [0, 1], costs >= 0, no row named 'measured' (the
    warehouse makes that one from campaign results); var plan_scenario in it, or 'measured' when
    campaigns are read back; var campaign_cost_scenario in it."""
    path = SEEDS / "campaign_scenarios.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for line, row in enumerate(rows, start=2):
        if row.get("scenario") == MEASURED:
            raise UsageError(f"{path}, line {line}: the scenario name '{MEASURED}' is reserved for the save rate the "
                             "warehouse measures from past campaigns (marts.plan_scenarios). Fix: rename that row.")
        for column, low, high in (("discount", 0, 1), ("save_rate", 0, 1), ("cost_per_contact", 0, None)):
            try:
                number = float(row.get(column) or "nan")
            except ValueError:
                number = float("nan")
            if not (number >= low and (high is None or number <= high)):
                raise UsageError(f"{path}, line {line} (scenario {row.get('scenario')!r}): {column} = "
                                 f"{row.get(column)!r} must be a number from {low}{f' to {high}' if high else ' up'}. "
                                 "Fix: correct that line (shares are fractions, e.g. 0.15 for 15%).")
    names = [row["scenario"] for row in rows]
    scenario = str(dbt_vars.get("plan_scenario", project_vars()["plan_scenario"]))
    if scenario == MEASURED and not campaign_paths(dbt_vars.get("campaigns_path")):
        raise UsageError(f"var plan_scenario = {MEASURED} prices the plan at the save rate measured by past campaigns, "
                         "but no campaigns are read back. Fix: add --campaigns FILE (the assignments of a campaign "
                         f"whose window has ended, e.g. an earlier exports/campaign_assignments.csv), or choose one of "
                         f"{', '.join(names)}.")
    if scenario != MEASURED and scenario not in names:
        raise UsageError(f"var plan_scenario = {scenario!r} is not a scenario of {path} ({', '.join(names)}, or "
                         f"{MEASURED} with --campaigns). Fix: --vars '{{plan_scenario: {names[0] if names else 'base'}}}', "
                         "or add the row.")
    cost_scenario = str(dbt_vars.get("campaign_cost_scenario", project_vars()["campaign_cost_scenario"]))
    if cost_scenario not in names:
        raise UsageError(f"var campaign_cost_scenario = {cost_scenario!r} is not a scenario of {path} "
                         f"({', '.join(names)}). Fix: --vars '{{campaign_cost_scenario: base}}', or add the row.")


def csv_options(encoding: str | None, delimiter: str | None) -> tuple[str | None, str | None]:
    """(encoding, delimiter) of the CSV reader (flags --encoding/--delimiter or vars
    csv_encoding/csv_delimiter), validated."""
    if encoding:
        name = str(encoding)
        encoding = ENCODINGS.get(name.strip().lower())
        if encoding is None:
            raise UsageError(f"--encoding '{name}' is not supported. Fix: use utf-8, latin-1 "
                             "or utf-16 (latin-1 also reads most Windows-1252 exports).")
    if delimiter:
        name = str(delimiter)
        delimiter = DELIMITER_NAMES.get(name.lower(), name)
        if len(delimiter) != 1 or delimiter.isalnum() or delimiter in "\"'\r\n ":
            raise UsageError(f"--delimiter '{name}' must be one character such as , ; | or tab.")
    return encoding or None, delimiter or None


def build_vars(options: BuildOptions, files: list, campaign_files: list | None = None) -> dict:
    """The dbt vars of the build: --vars, then the flags, validated. ``campaign_files``: the
    campaigns read back, resolved (they replace a campaigns_path of --vars)."""
    try:
        dbt_vars: dict = yaml.safe_load(options.vars_text) if options.vars_text else {}
    except yaml.YAMLError as exc:
        raise UsageError(f"--vars is not valid YAML/JSON: {exc}") from None
    if not isinstance(dbt_vars, dict):
        raise UsageError(f"--vars must be a YAML/JSON mapping, got: {options.vars_text}")
    dbt_vars["transactions_path"] = str(files[0]) if len(files) == 1 else [str(p) for p in files]
    if campaign_files:
        dbt_vars["campaigns_path"] = [str(p) for p in campaign_files]
    if options.campaign_id:
        dbt_vars["campaign_id"] = options.campaign_id
    for name in ("as_of_date", "churn_horizon_days", "snapshot_cadence_days", "snapshot_count"):
        value = getattr(options, name)
        if value is not None:
            dbt_vars[name] = value
    column_map = {**(dbt_vars.get("column_map") or {}), **parse_column_map(options.column_map)}
    if column_map:
        dbt_vars["column_map"] = column_map
    if options.preset:
        dbt_vars["preset"] = options.preset.strip().lower()
    if options.date_format:
        for name in ("invoice_date_convention", "invoice_date_formats"):
            dbt_vars.pop(name, None)
        dbt_vars.update(parse_date_option(options.date_format))
    if options.decimal_separator:
        dbt_vars["decimal_separator"] = DECIMAL_NAMES.get(options.decimal_separator.strip().lower(),
                                                          options.decimal_separator.strip())
    encoding, delimiter = csv_options(options.encoding or dbt_vars.pop("csv_encoding", None),
                                      options.delimiter or dbt_vars.pop("csv_delimiter", None))
    if encoding:
        dbt_vars["csv_encoding"] = encoding
    if delimiter:
        dbt_vars["csv_delimiter"] = delimiter
    validate_vars(dbt_vars)
    check_scenarios(dbt_vars)
    return dbt_vars
