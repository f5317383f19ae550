"""The dashboard page: the report's views of the served build (the same section templates,
rendered from the same context) around the live parts (filters, customer table, customer page,
scoring panel), which `assets/dashboard.js` fills from the API. Rendered once per generation."""
from __future__ import annotations

import threading
from pathlib import Path

from models_py.snapshots import FEATURES
from retention.outputs.report.render import build_context, make_environment
from retention.serve.generation import Generation
from retention.serve.scoring import FEATURE_RULES

HERE = Path(__file__).resolve().parent
# the report's sections the dashboard shows, in order, after its own live sections
REPORT_SECTIONS = ("trend", "cohorts", "segments", "decisions", "plan", "campaigns", "experiments", "model")
_lock = threading.Lock()


def dashboard_html(generation: Generation) -> str:
    cached = getattr(generation, "_dashboard_html", None)
    if cached is not None:
        return cached
    with _lock:
        cached = getattr(generation, "_dashboard_html", None)
        if cached is None:
            context = build_context(generation.report_data())
            inputs = [{"name": name, "rule": FEATURE_RULES.get(name)} for name in FEATURES]
            env = make_environment(HERE)
            cached = env.get_template("templates/dashboard.html.j2").render(
                sections=REPORT_SECTIONS, build_id=generation.build_id, feature_inputs=inputs, **context)
            generation._dashboard_html = cached
    return cached
