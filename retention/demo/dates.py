"""The calendar: the simulated period, seasonality and business days and hours."""
from __future__ import annotations

import numpy as np

from .params import DAY

SEASON = {1: 0.85, 2: 0.85, 3: 0.95, 4: 0.95, 5: 1.0, 6: 1.0, 7: 1.0, 8: 1.0,
          9: 1.1, 10: 1.45, 11: 1.75, 12: 1.5}
SAT_SHIFTS = np.array([-5, -4, -3, -2, -1, 1])
SAT_SHIFT_P = np.array([1.0, 1.1, 1.1, 1.3, 0.8, 0.3]) / 5.6
HOUR_WEIGHTS = {7: 0.5, 8: 2.5, 9: 6.5, 10: 11.5, 11: 12.0, 12: 15.0, 13: 13.5,
                14: 12.0, 15: 10.5, 16: 7.0, 17: 4.5, 18: 2.0, 19: 1.7, 20: 0.8}
_HOURS = np.array(list(HOUR_WEIGHTS), dtype=np.int64)
_HOUR_P = np.array(list(HOUR_WEIGHTS.values())) / sum(HOUR_WEIGHTS.values())


def period(start_date: str, months: int):
    """Day-resolution period [start, end) and its calendar-month segments.

    Returns (start epoch day, segment edges in days relative to the start --
    one more than segments, the last is the period length -- and the calendar
    month 1..12 of each segment).
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    start = np.datetime64(start_date, "D")
    sm = start.astype("datetime64[M]")
    dom = int((start - sm.astype("datetime64[D]")).astype(np.int64))
    em = sm + months
    em_len = int(((em + 1).astype("datetime64[D]") - em.astype("datetime64[D]")).astype(np.int64))
    end = em.astype("datetime64[D]") + min(dom, em_len - 1)
    edges = [start]
    for k in range(1, months + 1):
        d = (sm + k).astype("datetime64[D]")
        if start < d < end:
            edges.append(d)
    edges.append(end)
    rel_days = np.array([(e - start).astype(np.int64) for e in edges], dtype=np.int64)
    seg_month = np.array([int(str(e.astype("datetime64[M]"))[5:7]) for e in edges[:-1]])
    start_epoch_day = int(start.astype(np.int64))
    return start_epoch_day, rel_days, seg_month


def business_times(rng, t_sec, start_epoch_day, lo_day, hi_day):
    """Move float rel-second times to a business day/hour (minute resolution).

    Returns integer seconds relative to the period start.  Days stay within
    [lo_day, hi_day].  No Saturdays (as in the UCI data): a Saturday moves to
    another day of its week.
    """
    n = len(t_sec)
    day = np.clip(np.floor(t_sec / DAY).astype(np.int64), lo_day, hi_day)
    sat = (start_epoch_day + day + 3) % 7 == 5
    if sat.any():
        moved = day + rng.choice(SAT_SHIFTS, size=n, p=SAT_SHIFT_P)  # Mon..Fri, Sun
        alt = np.clip(np.where(day + 1 <= hi_day, day + 1, day - 1), lo_day, hi_day)
        moved = np.where((moved < lo_day) | (moved > hi_day), alt, moved)
        day = np.where(sat, moved, day)
    hour = rng.choice(_HOURS, size=n, p=_HOUR_P)
    minute = rng.integers(0, 60, size=n)
    return day * DAY + hour * 3600 + minute * 60
