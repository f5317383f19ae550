"""The fitted models of a build, saved for scoring later: one joblib file and one JSON metadata
file per model, in the folder of the build.

This is the one module of ``models_py`` that touches files (the dbt Python models pass it the
folder; nothing else here does I/O). A build ``<id>`` writes ``<folder>/<kind>.joblib`` and
``<folder>/<kind>.json`` for kind ``churn`` (a :class:`models_py.churn.ChurnScorer`), ``value``
(a :class:`models_py.value.ValueModel`) and ``segments`` (a
:class:`models_py.segmentation.SegmentModel`). The metadata says the build id, the input
columns, the library versions that pickled the model, its metrics and the file's SHA-256; the
warehouse table ``ml.model_artifacts`` holds the same rows, so a reader of the warehouse file
knows exactly which files belong to it.

joblib runs code when it loads a file: :func:`load_model` loads only a file whose SHA-256 is
the one the warehouse recorded, and only with the library versions that wrote it.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path

import joblib
import pandas as pd

__all__ = ["ARTIFACT_COLUMNS", "LIBRARIES", "ModelMismatch", "library_versions", "load_model", "save_model",
           "version_differences"]

# The libraries whose versions decide whether a pickled model loads and predicts the same.
LIBRARIES: tuple[str, ...] = ("scikit-learn", "numpy", "scipy", "pandas", "joblib")
ARTIFACT_COLUMNS: tuple[str, ...] = ("model_kind", "build_id", "model_name", "file_name", "sha256", "size_bytes",
                                     "features", "library_versions", "metrics")


class ModelMismatch(ValueError):
    """A persisted model that must not be used here (versions, hash, missing file)."""


def library_versions() -> dict[str, str]:
    """{library: installed version} for :data:`LIBRARIES`, plus the Python version (major.minor)."""
    versions = {name: importlib_metadata.version(name) for name in LIBRARIES}
    versions["python"] = ".".join(platform.python_version_tuple()[:2])
    return versions


def version_differences(recorded: dict[str, str], installed: dict[str, str] | None = None) -> list[str]:
    """'name recorded -> installed' for every library whose version differs."""
    installed = installed or library_versions()
    return [f"{name} {recorded.get(name)} (model) vs {installed.get(name)} (installed)"
            for name in sorted(set(recorded) | set(installed)) if recorded.get(name) != installed.get(name)]


def save_model(kind: str, model, *, name: str, features, metrics: dict, folder: str | os.PathLike | None,
               build_id: str | None) -> pd.DataFrame:
    """Write ``<folder>/<kind>.joblib`` and ``<kind>.json``; returns the one-row artifact table
    (:data:`ARTIFACT_COLUMNS`). Without a folder or build id (dbt run by hand) nothing is written and
    file_name and sha256 are NULL."""
    row = {"model_kind": kind, "build_id": build_id, "model_name": name, "file_name": None, "sha256": None,
           "size_bytes": None, "features": json.dumps(list(features)),
           "library_versions": json.dumps(library_versions(), sort_keys=True),
           "metrics": json.dumps({k: _plain(v) for k, v in metrics.items()}, sort_keys=True)}
    if folder and build_id:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{kind}.joblib"
        joblib.dump(model, target, compress=3)
        _fsync(target)
        data = target.read_bytes()
        row.update(file_name=target.name, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))
        meta = {**row, "features": list(features), "library_versions": json.loads(row["library_versions"]),
                "metrics": json.loads(row["metrics"])}
        (folder / f"{kind}.json").write_text(json.dumps(meta, indent=2, sort_keys=True), encoding="utf-8")
        _fsync(folder / f"{kind}.json")
    return pd.DataFrame([row], columns=list(ARTIFACT_COLUMNS)).astype({"size_bytes": "Int64"})


def load_model(folder: str | os.PathLike, artifact: dict, installed: dict[str, str] | None = None):
    """The model of one ``ml.model_artifacts`` row from ``folder``, after checking that the file is
    there, has the recorded SHA-256, and that the installed library versions are the recorded ones.
    Raises :class:`ModelMismatch` naming what differs and the fix."""
    kind = artifact.get("model_kind")
    if not artifact.get("file_name"):
        raise ModelMismatch(f"the {kind} model of build {artifact.get('build_id')} was not persisted (dbt was run "
                            "without RETENTION_MODELS_DIR). Fix: build with `retention build`.")
    recorded = json.loads(artifact["library_versions"])
    differences = version_differences(recorded, installed)
    if differences:
        raise ModelMismatch(f"the {kind} model of build {artifact['build_id']} was saved with other library "
                            f"versions: {'; '.join(differences)}. Fix: install the versions of requirements.txt "
                            "the build used, or rebuild the warehouse with the installed ones.")
    path = Path(folder) / artifact["file_name"]
    if not path.is_file():
        raise ModelMismatch(f"the {kind} model file {path} of build {artifact['build_id']} is missing. Fix: keep "
                            "the models/ folder beside retention.duckdb (copy both), or rebuild.")
    data = path.read_bytes()  # hashed and loaded from the same bytes
    if hashlib.sha256(data).hexdigest() != artifact["sha256"]:
        raise ModelMismatch(f"the {kind} model file {path} is not the one build {artifact['build_id']} wrote "
                            "(its SHA-256 differs); it was not loaded. Fix: rebuild the warehouse.")
    return joblib.load(io.BytesIO(data))


def _plain(value):
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
