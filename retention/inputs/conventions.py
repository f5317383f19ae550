"""How the dates and numbers of the input are written, read from every value before any SQL
runs: day-first or month-first dates, decimal point or decimal comma. The rule: a build never
reads a value in a convention the data contradict. A convention the data settle is used and
said; one no value settles is the configured default, with a warning; a file that holds both,
or contradicts the convention configured, stops the build with examples of each kind and the
flag that fixes it.

The evidence is counted by one DuckDB query per file (`evidence_sql`): a date value of the
day/month/year shape (var invoice_date_shape) settles day-first when it is a valid date read
day-first and not month-first (13/01/2011), month-first the other way round (01/13/2011), and
nothing when it is valid both ways (01/02/2011). A number settles the decimal comma when it is
written like 2,55 or 1.234,5 and the decimal point like 2.55 or 1,234.5; 1,234 and 1.234
(one separator, then exactly three digits) could be either.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from retention.config import UsageError, project_vars
from retention.inputs.files import sql_string

CONVENTIONS = ("day-first", "month-first")
OTHER = {"day-first": "month-first", "month-first": "day-first"}
SEPARATOR_NAMES = {".": "decimal point", ",": "decimal comma"}

# (name, pattern) of the number shapes counted; each pattern is matched against the whole text
NUMBER_SHAPES = {
    "comma": r"^[+-]?([0-9]*,[0-9]+|[0-9]{1,3}([.][0-9]{3})+,[0-9]+)$",
    "point": r"^[+-]?([0-9]*[.][0-9]+|[0-9]{1,3}(,[0-9]{3})+[.][0-9]+)$",
    "either_comma": r"^[+-]?[1-9][0-9]{0,2},[0-9]{3}$",
    "either_point": r"^[+-]?[1-9][0-9]{0,2}[.][0-9]{3}$",
}
DATE_KINDS = ("day_first", "month_first", "either")
NUMBER_KINDS = ("comma", "point", "either_comma", "either_point")


@dataclass
class Evidence:
    """Counts and two example values (smallest, largest) of each kind, with the file they are
    from; added up over the files of a build."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def add(self, kind: str, count: int, values: list, file_name: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + int(count or 0)
        if count:
            known = self.examples.setdefault(kind, [])
            for value in values:
                if value is not None and len(known) < 2 and value not in [v for v, _ in known]:
                    known.append((value, file_name))

    def files(self, *kinds: str) -> str:
        """"transactions file 'a.csv'" (or files) that the examples of the kinds come from."""
        names = sorted({name for kind in kinds for _, name in self.examples.get(kind, [])})
        return f"transactions file{'s' if len(names) > 1 else ''} " + ", ".join(f"'{n}'" for n in names)

    def n(self, kind: str) -> int:
        return self.counts.get(kind, 0)

    def shown(self, kind: str) -> str:
        """"'13/01/2011 08:26' (sales.csv)" for the examples of a kind."""
        return ", ".join(f"'{value}' ({name})" for value, name in self.examples.get(kind, []))


@dataclass
class Reading:
    """What the inference decided: dbt vars to set, lines to print, warnings to repeat."""

    dbt_vars: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def many(count: int, noun: str) -> str:
    """'1 value', '2 values', '1,234 values'."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _aggregates(expression: str, condition: str, label: str) -> list[str]:
    return [f"count(*) filter (where {condition}) as {label}_n",
            f"min({expression}) filter (where {condition}) as {label}_min",
            f"max({expression}) filter (where {condition}) as {label}_max"]


def evidence_sql(reader: str, date_column: str | None, number_columns: list[str]) -> str:
    """One aggregate query over a file (one scan, nothing held in memory): its row count, and
    for the date column and each number column given (text columns only) the count, smallest
    and largest value of each kind. Columns come back as <kind>_n/_min/_max, numbers as
    <kind>_<i>_n/_min/_max for the i-th number column."""
    shape = project_vars()["invoice_date_shape"]
    inner, outer = [], ["count(*) as row_count"]
    if date_column is not None:
        text = f"trim(cast({quote(date_column)} as varchar))"
        # a cheap test first: only values with a separator in 2nd or 3rd place can match
        inner += [f"{text} as d",
                  f"case when substr({text}, 2, 1) in ('/', '.', '-') or substr({text}, 3, 1) in ('/', '.', '-') "
                  f"then regexp_extract({text}, {sql_string(shape)}, ['a', 'b', 'y']) end as f"]
        dmy = "(f.a || '/' || f.b || '/' || f.y)"
        day_ok = f"(f.y <> '' and try_strptime({dmy}, '%d/%m/%Y') is not null)"
        month_ok = f"(f.y <> '' and try_strptime({dmy}, '%m/%d/%Y') is not null)"
        outer += _aggregates("d", f"{day_ok} and not {month_ok}", "day_first")
        outer += _aggregates("d", f"{month_ok} and not {day_ok}", "month_first")
        outer += _aggregates("d", f"{day_ok} and {month_ok}", "either")
    for i, column in enumerate(number_columns):
        inner.append(f"trim(cast({quote(column)} as varchar)) as n{i}")
        for kind in NUMBER_KINDS:
            separator = "','" if "comma" in kind else "'.'"
            condition = f"contains(n{i}, {separator}) and regexp_full_match(n{i}, {sql_string(NUMBER_SHAPES[kind])})"
            if not kind.startswith("either"):  # 1,234 and 1.234 say nothing
                condition += f" and not regexp_full_match(n{i}, {sql_string(NUMBER_SHAPES['either_' + kind])})"
            outer += _aggregates(f"n{i}", condition, f"{kind}_{i}")
    return f"select {', '.join(outer)} from (select {', '.join(inner) or '1 as one'} from {reader})"


def collect(row: dict, file_name: str, has_date: bool, number_count: int,
            dates: Evidence, numbers: Evidence) -> None:
    """Add one file's row of evidence_sql to the build's evidence."""
    if has_date:
        for kind in DATE_KINDS:
            dates.add(kind, row[f"{kind}_n"], [row[f"{kind}_min"], row[f"{kind}_max"]], file_name)
    for i in range(number_count):
        for kind in NUMBER_KINDS:
            numbers.add(kind, row[f"{kind}_{i}_n"], [row[f"{kind}_{i}_min"], row[f"{kind}_{i}_max"]], file_name)


def format_convention(formats: list[str]) -> str | None:
    """The convention of strptime formats: day-first when %d comes before %m, month-first when
    %m comes first; None for formats without a day/month order of that kind (ISO-like ones,
    year first). Refuses a list that holds both."""
    found = set()
    for fmt in formats:
        day, month, year = fmt.find("%d"), fmt.find("%m"), fmt.find("%Y") if "%Y" in fmt else fmt.find("%y")
        if day < 0 or month < 0 or (0 <= year < min(day, month)):
            continue
        found.add("day-first" if day < month else "month-first")
    if len(found) > 1:
        raise UsageError(f"invoice_date_formats {formats!r} mix day-first and month-first formats: a date such as "
                         "01/02/2011 would be read one way and 13/02/2011 the other. Fix: keep the formats of one "
                         "convention (--date-format day-first or month-first).")
    return found.pop() if found else None


def parse_date_option(text: str) -> dict:
    """--date-format: 'day-first', 'month-first' (var invoice_date_convention) or a strptime
    format (var invoice_date_formats)."""
    name = text.strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {"dmy": "day-first", "dd/mm/yyyy": "day-first", "mdy": "month-first", "mm/dd/yyyy": "month-first"}
    name = aliases.get(name, name)
    if name in CONVENTIONS:
        return {"invoice_date_convention": name}
    if "%" in text:
        return {"invoice_date_formats": [text]}
    raise UsageError(f"--date-format '{text}': give day-first, month-first or a strptime format such as "
                     "'%d.%m.%Y %H:%M'.")


def decide_dates(evidence: Evidence, column: str, configured: dict) -> Reading:
    """The date convention of the build (see the module docstring for the rule)."""
    reading = Reading()
    day, month, either = evidence.n("day_first"), evidence.n("month_first"), evidence.n("either")
    fix = "--date-format day-first or month-first (var invoice_date_convention)"
    if day and month:
        raise UsageError(
            f"{evidence.files('day_first', 'month_first')}, column '{column}': dates of both conventions, so the "
            "others (such as 01/02/2011) cannot be read safely:\n"
            f"  - {day:,} can only be day-first, e.g. {evidence.shown('day_first')}\n"
            f"  - {month:,} can only be month-first, e.g. {evidence.shown('month_first')}\n"
            "  Fix: export the dates again in one convention (ISO, 2011-12-09 12:50, is safest), correct the ones that "
            "are typos, or build the files that differ separately (--date-format day-first or month-first, var "
            "invoice_date_formats, cannot read both).")
    settled = "day-first" if day else "month-first" if month else None
    count = day or month
    kind = "day_first" if day else "month_first"
    explicit = configured.get("invoice_date_formats")
    chosen = format_convention(explicit) if explicit else configured.get("invoice_date_convention")
    how = "--date-format or var invoice_date_formats" if explicit else "--date-format or var invoice_date_convention"
    if chosen and settled and chosen != settled:
        raise UsageError(
            f"{evidence.files(kind)}, column '{column}': dates are set to be read {chosen} ({how}), but "
            f"{many(count, 'value')} can only be "
            f"{settled}, e.g. {evidence.shown(kind)}; read {chosen} they would be misread or rejected.\n"
            f"  Fix: --date-format {settled} (var invoice_date_convention; explicit formats go in var "
            "invoice_date_formats), or leave the option out: the convention is read from the data.")
    if chosen:
        agree = f"the data agree ({many(count, 'value')} can only be {settled})" if settled else "no value settles it"
        if settled or either:
            reading.notes.append(f"dates: {chosen} as configured; {agree}")
        return reading
    if settled:
        reading.dbt_vars["invoice_date_convention"] = settled
        reading.notes.append(f"dates: {settled}, read from the data ({many(count, 'value')} such as "
                             f"{evidence.shown(kind)} can only be {settled}; none {OTHER[settled]})")
        return reading
    if either:
        default = project_vars()["invoice_date_convention"]
        reading.warnings.append(
            f"{many(either, 'date')} in column '{column}' of {evidence.files('either')} such as "
            f"{evidence.shown('either')} could be day-first or "
            f"month-first, and no value settles it: they are read {default} (the default). If they are "
            f"{OTHER[default]}, build with --date-format {OTHER[default]} (var invoice_date_convention).")
    return reading


def decide_decimals(evidence: Evidence, columns: list[str], configured: str | None) -> Reading:
    """The decimal separator of the build (see the module docstring for the rule)."""
    reading = Reading()
    comma, point = evidence.n("comma"), evidence.n("point")
    either_comma, either_point = evidence.n("either_comma"), evidence.n("either_point")
    where = " and ".join(f"'{c}'" for c in columns)
    if configured == "," and point and not comma:
        raise UsageError(
            f"{evidence.files('point')}, columns {where}: numbers are set to be read with a decimal comma (--decimal-separator ','), but "
            f"{many(point, 'value')} use a decimal point, e.g. {evidence.shown('point')}, and none a decimal comma. "
            "Fix: leave out --decimal-separator (or give '.').")
    if configured == "." and comma and not point:
        raise UsageError(
            f"{evidence.files('comma')}, columns {where}: numbers are set to be read with a decimal point (--decimal-separator '.'), but "
            f"{many(comma, 'value')} use a decimal comma, e.g. {evidence.shown('comma')}, and none a decimal point. "
            "Fix: --decimal-separator ',' (or leave the option out: the separator is read from the data).")
    separator = configured or ("," if comma and not point else ".")
    other, other_kind = ("comma", "either_point") if separator == "." else ("point", "either_comma")
    ambiguous = either_point if separator == "." else either_comma
    if evidence.n(other) and ambiguous:
        raise UsageError(
            f"{evidence.files('comma', 'point')}, columns {where} mix decimal separators: {comma:,} values use a decimal comma (e.g. "
            f"{evidence.shown('comma')}) and {point:,} a decimal point (e.g. {evidence.shown('point')}), so "
            f"{ambiguous:,} values such as {evidence.shown(other_kind)} could be read either way (a decimal or a "
            "thousands separator). Fix: export the numbers again with one decimal separator and no thousands "
            "separators.")
    if separator == "," and not configured:
        reading.notes.append(f"numbers: decimal comma, read from the data ({many(comma, 'value')} such as "
                             f"{evidence.shown('comma')}; none with a decimal point)")
    if evidence.n(other):
        kind_name = SEPARATOR_NAMES["," if other == "comma" else "."]
        reading.warnings.append(
            f"{many(evidence.n(other), 'number')} in {where} of {evidence.files(other)} "
            f"{'uses' if evidence.n(other) == 1 else 'use'} a {kind_name} (e.g. {evidence.shown(other)}) while "
            f"{evidence.n('comma' if other == 'point' else 'point'):,} use a {SEPARATOR_NAMES[separator]}: they are "
            f"read with a {SEPARATOR_NAMES[separator]}, so those rows are rejected (invalid_quantity or "
            f"invalid_unit_price, their text kept). If the {kind_name} is right, build with "
            f"--decimal-separator '{',' if other == 'comma' else '.'}'.")
    elif separator == "." and either_point and not configured:
        reading.warnings.append(
            f"{many(either_point, 'number')} in {where} of {evidence.files('either_point')} such as {evidence.shown('either_point')} are read as decimals "
            "(1.234 as one point two three four); no value says whether the dot is a decimal or a thousands "
            "separator. If it groups thousands, build with --decimal-separator ','.")
    if separator != project_vars()["decimal_separator"]:
        reading.dbt_vars["decimal_separator"] = separator
    return reading
