"""models_py.parallel.thread_map: the pieces' results in order, the caller's OpenMP limit in
every worker, errors raised to the caller."""
from __future__ import annotations

import threading

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import sklearn.ensemble  # noqa: F401  (loads scikit-learn's OpenMP runtime)
from models_py.parallel import thread_map


def _openmp_threads() -> int:
    return min(i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp")


def test_results_in_the_order_of_the_items_on_several_threads():
    barrier = threading.Barrier(2, timeout=10)

    def piece(x):
        if x < 2:
            barrier.wait()  # the first two pieces run at the same time, or this times out
        return x * x, threading.get_ident()

    out = thread_map(piece, range(6), jobs=2)
    assert [v for v, _ in out] == [0, 1, 4, 9, 16, 25]
    assert len({t for _, t in out}) == 2 and threading.get_ident() not in {t for _, t in out}


def test_one_job_runs_in_the_calling_thread():
    assert thread_map(lambda x: threading.get_ident(), [1, 2], jobs=1) == [threading.get_ident()] * 2


def test_workers_run_under_the_callers_openmp_limit():
    # OpenMP keeps its limit per thread: a plain thread started inside threadpool_limits has the
    # process default, a thread_map worker has the caller's limit (one more than the default here,
    # so that the two always differ).
    plain = []
    thread = threading.Thread(target=lambda: plain.append(_openmp_threads()))
    thread.start()
    thread.join()
    default = plain[0]
    with threadpool_limits(limits=default + 1):
        assert _openmp_threads() == default + 1
        inside = []
        thread = threading.Thread(target=lambda: inside.append(_openmp_threads()))
        thread.start()
        thread.join()
        assert inside == [default]  # why thread_map must carry the limit over
        assert thread_map(lambda _: _openmp_threads(), range(4), jobs=2) == [default + 1] * 4


def test_an_error_in_a_piece_reaches_the_caller():
    def piece(x):
        if x == 3:
            raise ValueError("piece 3 failed")
        return x

    with pytest.raises(ValueError, match="piece 3 failed"):
        thread_map(piece, range(5), jobs=2)
