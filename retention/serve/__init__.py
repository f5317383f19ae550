"""`retention serve`: the dashboard and the REST API over the published warehouse.

Imports go one way: retention.cli -> retention.serve (app, warehouse, generation, queries,
scoring, dashboard) -> retention.config, retention.publish (build ids, model folders),
retention.outputs.report (the report's sections and assets), models_py (the persisted models'
classes); nothing here imports the build (targets, inputs, dbt runner).
"""
from __future__ import annotations

import os
from pathlib import Path

from retention.config import UsageError


def serve(warehouse_dir: Path, *, host: str, port: int, workers: int = 1, poll_seconds: float = 1.0,
          console=None) -> None:
    """Run uvicorn until Ctrl-C (uvicorn stops cleanly on SIGINT/SIGTERM)."""
    import uvicorn

    from retention.serve.generation import WarehouseError

    if not 0 < port < 65536:
        raise UsageError(f"--port {port}: give a port between 1 and 65535.")
    if workers < 1:
        raise UsageError(f"--workers {workers}: give 1 or more.")
    if poll_seconds < 0:
        raise UsageError(f"--poll-seconds {poll_seconds}: give 0 (never) or more.")
    shown = f"[{host}]" if ":" in host else host
    if console is not None:
        console.step(f"serving {warehouse_dir / 'retention.duckdb'} at http://{shown}:{port}/ "
                     f"(API docs: http://{shown}:{port}/docs; Ctrl-C stops)")
    log_config = {"version": 1, "disable_existing_loggers": False,
                  "formatters": {"plain": {"format": "[retention] %(message)s"}},
                  "handlers": {"out": {"class": "logging.StreamHandler", "formatter": "plain",
                                       "stream": "ext://sys.stderr"}},
                  "loggers": {"retention": {"handlers": ["out"], "level": "INFO"},
                              "uvicorn.error": {"handlers": ["out"], "level": "INFO"}}}
    if workers == 1:
        from retention.serve.app import create_app

        try:
            app = create_app(warehouse_dir, poll_seconds)
        except WarehouseError as exc:
            raise UsageError(str(exc)) from None
        uvicorn.run(app, host=host, port=port, log_config=log_config, access_log=False,
                    timeout_graceful_shutdown=5)
        return
    os.environ["RETENTION_SERVE_DIR"] = str(warehouse_dir)
    os.environ["RETENTION_SERVE_POLL"] = str(poll_seconds)
    uvicorn.run("retention.serve.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_config=log_config, access_log=False, timeout_graceful_shutdown=5)
