"""Past retention campaigns with a random holdout and a known, heterogeneous effect.

Off by default: ``generate(..., campaigns=None)`` writes exactly the file it always wrote. With a
:class:`CampaignSpec`, the purchase process is run first in full (the same draws, in the same
order), then each campaign, oldest first:

* **Who is on the list:** every customer with a purchase in the ``lookback_days`` before the
  contact day (the "active file"), whatever their risk.
* **Assignment:** each customer is treated with probability ``treated_share`` (a draw of the
  campaign's own generator), otherwise held out as control.
* **Effect:** the response probability of a treated customer peaks at a *medium* recency and is
  small both for customers who just bought (they were staying anyway) and for those long gone
  (the highest risk): ``tau = peak_effect * exp(-0.5 * (ln(recency / peak_recency_days) /
  recency_width) ** 2)``, recency in days since the last purchase before the contact day.
* **Response:** a treated customer who would *not* have bought in the window
  ``[contact day, contact day + window_days)`` buys once, with probability ``tau``, 7 to 37 days
  after the contact (a purchase like any other: an invoice with lines). A customer who would have
  bought anyway is not changed. The campaign changes nothing else (later purchases follow the
  process as before).

So the true effect on the share of customers who buy in the window is known customer by customer:
``(1 - would_have_bought) * tau``; its mean over the list is ``true_uplift`` in the summary. The
assignments are written as a CSV file with the columns the warehouse reads back
(``campaign_id, customer_id, group, contacted_at``).
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np

from .params import DAY

__all__ = ["CampaignSpec", "default_contact_days", "simulate_campaigns", "write_assignments"]

# Responses fall 7 to 37 days after the contact: never before it, even when the day is moved off a
# Saturday (business_times moves a day within its week), and well inside a window of 45+ days.
_RESPONSE_DELAY_DAYS = (7.0, 37.0)


def default_contact_days(count: int, window_days: int = 90) -> tuple[int, ...]:
    """Days before the end of the period of ``count`` campaigns, 120 days apart, the last one's
    window closing 30 days before the end (so every window is complete)."""
    if count < 1:
        raise ValueError("campaigns: count must be >= 1")
    last = window_days + 30
    return tuple(last + 120 * (count - 1 - k) for k in range(count))


@dataclass(frozen=True)
class CampaignSpec:
    """What to simulate (see the module docstring). ``contact_days_before_end``: one campaign per
    value, contacted that many days before the end of the period."""

    output: str
    contact_days_before_end: tuple[int, ...] = (240, 120)
    treated_share: float = 0.5
    window_days: int = 90
    lookback_days: int = 365
    peak_effect: float = 0.4
    peak_recency_days: float = 75.0
    recency_width: float = 0.5

    def check(self, n_days: int) -> None:
        if not 0 < self.treated_share < 1:
            raise ValueError("campaigns: treated_share must be in (0, 1)")
        if not 0 <= self.peak_effect <= 1:
            raise ValueError("campaigns: peak_effect must be in [0, 1]")
        if self.window_days < 45:
            raise ValueError("campaigns: window_days must be >= 45 (responses come 7 to 37 days after contact)")
        for days in self.contact_days_before_end:
            if not self.window_days <= days < n_days - 30:
                raise ValueError(f"campaigns: a contact {days} days before the end must leave its window of "
                                 f"{self.window_days} days inside the period ({n_days} days) and 30 days of history")


def effect(recency_days: np.ndarray, spec: CampaignSpec) -> np.ndarray:
    """The response probability of a treated customer who would not have bought (the true effect)."""
    r = np.maximum(np.asarray(recency_days, dtype=np.float64), 1.0)
    return spec.peak_effect * np.exp(-0.5 * (np.log(r / spec.peak_recency_days) / spec.recency_width) ** 2)


def _campaign(rng, spec, times, custs, contact_sec, n_cust):
    """One campaign over all purchases so far: (assignment rows, response times and customers, summary)."""
    window_end = contact_sec + spec.window_days * DAY
    before = times < contact_sec
    last = np.full(n_cust, -np.inf)
    np.maximum.at(last, custs[before], times[before])
    listed = np.flatnonzero(last >= contact_sec - spec.lookback_days * DAY)
    in_window = (times >= contact_sec) & (times < window_end)
    would_buy = np.zeros(n_cust, dtype=bool)
    would_buy[custs[in_window]] = True
    recency = np.floor(contact_sec / DAY) - np.floor(last[listed] / DAY)
    tau = effect(recency, spec)
    treated = rng.random(len(listed)) < spec.treated_share
    responds = treated & ~would_buy[listed] & (rng.random(len(listed)) < tau)
    delay = rng.uniform(*_RESPONSE_DELAY_DAYS, size=int(responds.sum())) * DAY
    true_effect = (~would_buy[listed]) * tau
    summary = dict(customers=int(len(listed)), treated=int(treated.sum()), control=int((~treated).sum()),
                   responders=int(responds.sum()), true_uplift=float(true_effect.mean()) if len(listed) else 0.0,
                   true_uplift_treated=float(true_effect[treated].mean()) if treated.any() else 0.0,
                   baseline_rate=float(would_buy[listed].mean()) if len(listed) else 0.0)
    return listed, treated, contact_sec + delay, listed[responds], summary


def simulate_campaigns(spec: CampaignSpec, months: list, cust: dict, edges_sec: np.ndarray, start_epoch_day: int,
                       seed: int) -> tuple[list, list[dict], list[dict]]:
    """Add the responses of every campaign to the purchases of ``months`` (a list of (month,
    times, customer indices) as iter_purchases yields them).

    Returns (months with the responses added, assignment rows, one summary per campaign). The
    campaigns draw from their own generator (the fifth child of the seed), so the purchase
    process and everything the default file draws stay as they were.
    """
    n_days = int(round(edges_sec[-1] / DAY))
    spec.check(n_days)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(5)[4]))
    times = np.concatenate([t for _, t, _ in months])
    custs = np.concatenate([c for _, _, c in months])
    extra_t, extra_c, rows, summaries = [], [], [], []
    for days in sorted(spec.contact_days_before_end, reverse=True):
        contact_day = n_days - int(days)
        date = str(np.datetime64(start_epoch_day + contact_day, "D"))
        campaign_id = f"demo_{date}"
        listed, treated, r_times, r_custs, summary = _campaign(rng, spec, times, custs, contact_day * DAY,
                                                               len(cust["acq"]))
        ids = cust["ids"][listed]
        for cid, is_treated in sorted(zip(ids.tolist(), treated.tolist())):
            rows.append((campaign_id, cid, "treatment" if is_treated else "control", date))
        summaries.append(dict(campaign_id=campaign_id, contacted_at=date, window_days=spec.window_days, **summary))
        times, custs = np.concatenate([times, r_times]), np.concatenate([custs, r_custs])
        extra_t.append(r_times)
        extra_c.append(r_custs)
    extra_t, extra_c = np.concatenate(extra_t), np.concatenate(extra_c)
    month_of = np.searchsorted(edges_sec, extra_t, side="right") - 1
    out = []
    for m, t, c in months:
        pick = month_of == m
        out.append((m, np.concatenate([t, extra_t[pick]]), np.concatenate([c, extra_c[pick]]).astype(np.int64)))
    return out, rows, summaries


def write_assignments(path: str, rows: list) -> None:
    """The assignments as CSV (campaign_id, customer_id, group, contacted_at), as a CRM exports them."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["campaign_id", "customer_id", "group", "contacted_at"])
        writer.writerows(rows)
    os.replace(tmp, path)
