"""Independent pieces of a Python step (fits, folds, backtest cutoffs, predictions) on several
threads, with the results of one thread to the last bit.

Each piece runs whole on one thread and the results are collected in the order of the pieces, so
the results are those of one thread: the churn tests compare every table on one thread and on two,
to the last bit. (The churn step as a whole can still differ in its last bits with the thread that
calls it, with or without this module: not yet explained, see issue #15.) One setting must be
carried over: the OpenMP thread limit, which OpenMP keeps per thread. A worker
thread would start with the machine's default even inside ``threadpool_limits(1)``, so the
native pools of the pieces (scikit-learn's gradient boosting, for one) would spread over every
core while the step runs beside others, and any OpenMP code whose sums depend on its thread
count would change its last bits. Each piece runs under the calling thread's limit. (The BLAS
limit is process-wide and needs nothing.) scikit-learn, NumPy and SciPy release the GIL in their
heavy loops, so two pieces on two cores take less time than one after the other; the pandas and
Python parts of a fit hold it.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

from threadpoolctl import threadpool_info, threadpool_limits

__all__ = ["thread_map"]

T = TypeVar("T")
R = TypeVar("R")


def _openmp_limit() -> int | None:
    """The calling thread's OpenMP thread limit (None when no OpenMP runtime is loaded)."""
    limits = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "openmp"]
    return min(limits) if limits else None


def thread_map(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> list[R]:
    """``[fn(x) for x in items]``, computed on up to ``jobs`` threads (each call on one thread,
    under the caller's OpenMP limit); an exception in any call is raised here."""
    items = list(items)
    if jobs <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    limit = _openmp_limit()

    def call(x: T) -> R:
        with threadpool_limits(limits=limit, user_api="openmp") if limit else contextlib.nullcontext():
            return fn(x)

    with ThreadPoolExecutor(max_workers=min(int(jobs), len(items))) as pool:
        return list(pool.map(call, items))
