"""The served warehouse: the current generation, and the move to a new one when a rebuild
publishes a new file.

A build publishes with one atomic rename (`retention.publish.publish_atomically`), so the path
`<warehouse-dir>/retention.duckdb` names either the previous finished file or the next one, never
a half-built one (that is `retention.duckdb.building`, which the server never opens). A watcher
thread compares the path's inode, size and modification time with those of the current
generation every `poll_seconds`; when they change it loads the new file completely (tables,
in-memory copies, models) beside the current one and only then makes it current. A request takes
the current generation once, at its start (`use()`), and reads only from it; the previous
generation is closed when its last request has finished. A new file that cannot be loaded
leaves the current generation serving, and /health says why.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from retention.config import DB_NAME
from retention.serve.generation import FileSignature, Generation, WarehouseError

log = logging.getLogger("retention.serve")


class ServedWarehouse:
    def __init__(self, warehouse_dir: Path, poll_seconds: float = 1.0):
        self.warehouse_dir = Path(warehouse_dir).resolve()
        self.db_path = self.warehouse_dir / DB_NAME
        self.poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._current: Generation | None = None
        self._count = 0
        self.swaps = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._swap_lock = threading.Lock()

    # ------------------------------------------------------------------ loading
    def load(self) -> Generation:
        """Load the published file as a new generation and make it current (raises
        WarehouseError when there is none, or it cannot be served)."""
        with self._swap_lock:
            return self._load_locked()

    def _load_locked(self) -> Generation:
        started = time.monotonic()
        for _ in range(3):  # the file may be replaced while it is being read: read it again
            before = FileSignature.of(self.db_path)
            if before is None:
                raise WarehouseError(f"no warehouse at '{self.db_path}'. Fix: build one first "
                                     f"(retention build --warehouse-dir {self.warehouse_dir}).")
            self._count += 1
            try:
                # a swap loads on one DuckDB thread: the serving generation keeps the other cores
                generation = Generation(self.db_path, before, self._count,
                                        load_threads=1 if self._current is not None else None)
            except WarehouseError:
                raise
            except Exception as exc:  # duckdb errors: a corrupt or foreign file
                raise WarehouseError(f"'{self.db_path}' cannot be read as a retention warehouse: {exc}") from exc
            if FileSignature.of(self.db_path) == before:
                break
            generation.close()
        else:
            raise WarehouseError(f"'{self.db_path}' kept changing while it was read; try again.")
        generation.load_models(self.warehouse_dir)
        log.info("loaded build %s (generation %d, %s customers) in %.1f s", generation.build_id, generation.number,
                 f"{len(generation.ids):,}", time.monotonic() - started)
        if generation.models.problem:
            log.warning("scoring unavailable for build %s: %s", generation.build_id, generation.models.problem)
        with self._lock:
            previous, self._current = self._current, generation
        if previous is not None:
            self.swaps += 1
            previous.retire()
            log.info("now serving build %s (generation %d); the previous generation closes after its last request",
                     generation.build_id, generation.number)
        self.last_error = None
        return generation

    def check(self) -> bool:
        """Load the file when it differs from the current generation's; True when it swapped."""
        current = self._current
        signature = FileSignature.of(self.db_path)
        if signature is None or (current is not None and signature == current.signature):
            return False
        try:
            self.load()
        except WarehouseError as exc:
            self.last_error = str(exc)
            log.warning("still serving the previous build: %s", exc)
            return False
        return True

    # ------------------------------------------------------------------ watching
    def start(self) -> None:
        if self._thread is None and self.poll_seconds > 0:
            self._thread = threading.Thread(target=self._watch, name="warehouse-watcher", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.check()
            except Exception:  # never let the watcher die; the next poll tries again
                log.exception("warehouse check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            current, self._current = self._current, None
        if current is not None:
            current.retire()

    # ------------------------------------------------------------------ requests
    @contextlib.contextmanager
    def use(self):
        """The current generation, held for the whole request."""
        for _ in range(100):
            with self._lock:
                generation = self._current
            if generation is None:
                raise WarehouseError("no warehouse is loaded")
            if generation.acquire():
                break
            time.sleep(0.001)  # it closed between the read and the acquire: take the new one
        else:
            raise WarehouseError("no warehouse is loaded")
        try:
            yield generation
        finally:
            generation.release()

    @property
    def current(self) -> Generation | None:
        return self._current
