"""Numbers, dates and money as the report writes them, and the cleaning of database values."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable

def is_missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return isinstance(x, float) and math.isnan(x)
    except TypeError:
        return False


def fmt_int(x: Any) -> str:
    if is_missing(x):
        return "—"
    return f"{float(x):,.0f}"


def fmt_money(x: Any) -> str:
    """Money without a currency symbol: thousands separators, cents only for small amounts."""
    if is_missing(x):
        return "—"
    x = float(x)
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.2f}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    if is_missing(x):
        return "—"
    return f"{float(x) * 100:,.{digits}f}%"


def fmt_num(x: Any, digits: int = 3) -> str:
    if is_missing(x):
        return "—"
    return f"{float(x):,.{digits}f}"


def fmt_date(x: Any) -> str:
    if is_missing(x):
        return "—"
    if isinstance(x, (dt.datetime, dt.date)):
        return x.strftime("%Y-%m-%d")
    return str(x)[:10]


def fmt_month(x: Any) -> str:
    d = to_date(x)
    return d.strftime("%b %Y") if d else "—"


def clean(value: Any) -> Any:
    """numpy/pandas scalars -> plain Python; NaN/NaT -> None; timestamps -> date."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time(0) else value
    if type(value).__name__ == "Decimal":
        return float(value)
    return value


def to_date(x: Any) -> dt.date | None:
    x = clean(x)
    if x is None:
        return None
    if isinstance(x, dt.datetime):
        return x.date()
    if isinstance(x, dt.date):
        return x
    try:
        return dt.date.fromisoformat(str(x)[:10])
    except ValueError:
        return None


def num(x: Any, default: float = 0.0) -> float:
    x = clean(x)
    if x is None:
        return default
    try:
        return float(x)
    except (TypeError, ValueError):
        return default


def ensure(rows: list[dict] | None, keys: Iterable[str]) -> list[dict] | None:
    """The same rows with every key the template reads (None where the table lacks the column)."""
    if rows is None:
        return None
    return [{**{k: None for k in keys}, **r} for r in rows]


def truncate(text: Any, n: int) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= n else s[: n - 1] + "…"
