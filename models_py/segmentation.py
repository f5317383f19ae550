"""Behavioural customer segments with k-means.

Entry point: :func:`segment_customers`.

Features (one row per customer, ``features.customer_features``): recency_days, frequency,
monetary, tenure_days, mean_days_between_orders, distinct_products, avg_order_value, return_rate.
Each is clipped at 0 (net monetary can be negative after returns), ``log1p``-transformed and
standardised, inside one Pipeline ``prepare -> StandardScaler -> (MiniBatch)KMeans``.
mean_days_between_orders is NULL for customers with fewer than 2 order days; it is imputed with
``max(tenure_days, median observed gap)``: such a customer has gone at least ``tenure_days``
without a second order, while a brand-new one-timer is not assumed to be slow. Any other NULL
counts as 0.

Choice of k: when ``k`` is None, KMeans (n_init=10) is fitted for every k in ``k_range`` on a
fixed-seed sample of at most ``sample_size`` customers and the k with the highest silhouette on
that sample wins (ties -> smaller k). The chosen k is then fitted on all customers (MiniBatchKMeans
beyond ``minibatch_threshold`` customers).

Labels are deterministic and ordered: cluster_id 0 has the highest mean monetary (original units),
then 1, ... (ties -> more customers first). Input rows are sorted by customer_id before fitting, so
labels do not depend on the order the database returned rows in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics.pairwise import euclidean_distances
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

__all__ = ["SEGMENT_FEATURES", "SegmentModel", "SegmentationResult", "churn_rates", "segment_customers"]

SEGMENT_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "mean_days_between_orders",
    "distinct_products",
    "avg_order_value",
    "return_rate",
)

# Words used to tell apart clusters that would otherwise get the same name: (low, high).
_CONTRAST_WORDS = {
    "recency_days": ("recent", "less recent"),
    "frequency": ("fewer orders", "more orders"),
    "monetary": ("lower spend", "higher spend"),
    "tenure_days": ("newer", "longer-standing"),
    "mean_days_between_orders": ("shorter gaps", "longer gaps"),
    "distinct_products": ("narrower range", "broader range"),
    "avg_order_value": ("smaller baskets", "bigger baskets"),
    "return_rate": ("fewer returns", "more returns"),
}


@dataclass(frozen=True)
class SegmentationResult:
    """Outputs of :func:`segment_customers` (all DataFrames have a RangeIndex).

    assignments
        ``customer_id`` (str), ``cluster_id`` (int, 0 = highest mean monetary), ``cluster_name``
        (str, unique per cluster); ordered by customer_id (lexical).
    profiles
        One row per cluster, ordered by cluster_id: ``cluster_id``, ``cluster_name``,
        ``customers``, ``share_of_customers`` (0-1), ``revenue_share`` (0-1, share of the sum of
        monetary clipped at 0), ``mean_monetary`` (currency), ``median_<feature>`` for each of
        :data:`SEGMENT_FEATURES` in ORIGINAL units (days, orders, currency, products, ratio;
        per-cluster medians of the raw values, NULL gaps ignored), ``lapsed_share`` (0-1, share
        with recency_days > ``lapse_days``: a label-free churn proxy), ``churn_rate`` (0-1, mean
        of the ``churn`` frame's churn_probability or churned column; NaN when ``churn`` is None).
    k_selection
        ``k``, ``silhouette`` (on the sample, Euclidean in the standardised log space),
        ``inertia`` (sum of squared distances on the sample, same space), ``is_chosen``,
        ``sample_rows``. A single row when ``k`` was given.
    k, algorithm
        Chosen number of clusters and 'KMeans' or 'MiniBatchKMeans' (the final fit).
    model
        The fitted :class:`SegmentModel` (it assigns the same clusters to the same features).
    """

    assignments: pd.DataFrame
    profiles: pd.DataFrame
    k_selection: pd.DataFrame
    k: int
    algorithm: str
    model: "SegmentModel | None" = None

    def summary(self) -> dict:
        chosen = self.k_selection[self.k_selection["is_chosen"]]
        silhouette = float(chosen["silhouette"].iloc[0]) if len(chosen) else None
        return {"k": self.k, "algorithm": self.algorithm, "silhouette": silhouette}


@dataclass(frozen=True)
class SegmentModel:
    """The final pipeline (prepare -> scale -> cluster), the map from its cluster labels to the
    ordered cluster_id, and the cluster names: what the build persists."""

    pipeline: Pipeline
    cluster_ids: dict
    names: dict

    def assign(self, features: pd.DataFrame) -> pd.DataFrame:
        """``customer_id`` and :data:`SEGMENT_FEATURES` -> customer_id, cluster_id, cluster_name."""
        raw = features[list(SEGMENT_FEATURES)].apply(pd.to_numeric, errors="coerce").astype("float64")
        labels = self.pipeline.predict(raw)
        cluster_id = np.array([self.cluster_ids[int(v)] for v in labels], dtype="int64")
        return pd.DataFrame({"customer_id": features["customer_id"].astype(str).to_numpy(dtype=object),
                             "cluster_id": cluster_id,
                             "cluster_name": np.array([self.names[c] for c in cluster_id], dtype=object)})


class _LogFeatures(TransformerMixin, BaseEstimator):
    """Clip at 0, impute NULL gaps with max(tenure_days, median observed gap), log1p.

    The median gap is learnt in ``fit`` (on the rows being clustered) and reused in ``transform``.
    """

    def fit(self, X: pd.DataFrame, y=None):
        gap = X["mean_days_between_orders"].astype("float64").clip(lower=0.0).dropna()
        self.typical_gap_ = float(gap.median()) if len(gap) else 0.0
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        values = X[list(SEGMENT_FEATURES)].astype("float64").clip(lower=0.0)
        fallback = values["tenure_days"].fillna(0.0).clip(lower=self.typical_gap_)
        values["mean_days_between_orders"] = values["mean_days_between_orders"].fillna(fallback)
        return np.log1p(values.fillna(0.0).to_numpy())


def _pipeline(model) -> Pipeline:
    return Pipeline(
        [
            ("prepare", _LogFeatures()),
            ("scale", StandardScaler()),
            ("cluster", model),
        ]
    )


def _kmeans(k: int, random_state: int) -> KMeans:
    return KMeans(n_clusters=k, n_init=10, random_state=random_state)


def _name_clusters(raw: pd.DataFrame, labels: np.ndarray, centers: np.ndarray) -> dict[int, str]:
    """Readable, unique names from per-cluster medians relative to the whole population.

    status: 'lapsed' if median recency > population 75th percentile of recency; 'new' if median
    tenure <= population 25th percentile of tenure; 'at-risk' if median recency > population median;
    otherwise no status word. frequency: 'one-time' if median frequency <= 1, 'frequent' if >=
    population 75th percentile (and > 1), else 'occasional'. spend: 'high' / 'low' spenders when
    median monetary >= 75th / <= 25th population percentile, else 'mid'. Clusters that still share
    a name get a contrast on the standardised feature that separates them most ("(recent)", ...).
    """
    q = raw[["recency_days", "tenure_days", "frequency", "monetary"]].quantile([0.25, 0.5, 0.75])
    names: dict[int, str] = {}
    for c in sorted(set(labels.tolist())):
        med = raw.loc[labels == c].median(numeric_only=True)
        if med["recency_days"] > q.loc[0.75, "recency_days"]:
            status = "lapsed"
        elif med["tenure_days"] <= q.loc[0.25, "tenure_days"]:
            status = "new"
        elif med["recency_days"] > q.loc[0.5, "recency_days"]:
            status = "at-risk"
        else:
            status = ""
        if med["frequency"] <= 1:
            freq = "one-time"
        elif med["frequency"] >= q.loc[0.75, "frequency"]:
            freq = "frequent"
        else:
            freq = "occasional"
        if med["monetary"] >= q.loc[0.75, "monetary"]:
            spend = "high spenders"
        elif med["monetary"] <= q.loc[0.25, "monetary"]:
            spend = "low spenders"
        else:
            spend = "mid spenders"
        names[c] = " ".join(w for w in (status, freq, spend) if w)

    for name in sorted(set(names.values())):
        members = sorted(c for c, n in names.items() if n == name)
        if len(members) < 2:
            continue
        spread = centers[members].max(axis=0) - centers[members].min(axis=0)
        j = int(np.argmax(spread))
        low, high = _CONTRAST_WORDS[SEGMENT_FEATURES[j]]
        ordered = sorted(members, key=lambda c: (centers[c, j], c))
        for pos, c in enumerate(ordered):
            if pos == 0:
                names[c] = f"{name} ({low})"
            elif pos == len(ordered) - 1:
                names[c] = f"{name} ({high})"
            else:
                names[c] = f"{name} (middle {pos})"
    return names


def segment_customers(
    customer_features: pd.DataFrame,
    k: int | None = None,
    k_range=range(3, 9),
    random_state: int = 42,
    sample_size: int = 10_000,
    minibatch_threshold: int = 200_000,
    *,
    churn: pd.DataFrame | None = None,
    lapse_days: int = 90,
    n_jobs: int | None = 1,
) -> SegmentationResult:
    """Cluster customers into behavioural segments.

    Parameters
    ----------
    customer_features : DataFrame
        One row per customer: ``customer_id`` and :data:`SEGMENT_FEATURES` (days, counts,
        currency, ratio; money may be float or Decimal-like, NULL gap allowed).
    k : int or None
        Number of clusters; None = choose from ``k_range`` by silhouette.
    k_range : iterable of int
        Candidate k values (each >= 2 and < number of customers).
    random_state : int
        Seed for the sample and for (MiniBatch)KMeans.
    sample_size : int
        Maximum customers used for choosing k (fits and silhouette; fixed-seed sample).
    minibatch_threshold : int
        Above this many customers the final fit uses MiniBatchKMeans (batch 4096, n_init=3).
    churn : DataFrame or None
        Optional ``customer_id`` + ``churn_probability`` (preferred) or ``churned`` (0/1) to
        report ``churn_rate`` per cluster; customers missing from it are ignored in the mean.
    lapse_days : int
        Recency (days) beyond which a customer counts as lapsed for ``lapsed_share``.
    n_jobs : int or None
        Limit of native OpenMP/BLAS threads during the call (threadpoolctl, restored on return);
        default 1 avoids oversubscription when dbt runs models in parallel. None = leave alone.

    Returns
    -------
    SegmentationResult

    Raises
    ------
    ValueError
        Missing columns, NULL or duplicate customer_id, invalid k / k_range (k must be >= 2 and
        smaller than the number of customers), or fewer than 3 customers.
    """
    args = (customer_features, k, k_range, random_state, sample_size, minibatch_threshold, churn, lapse_days)
    if n_jobs is None:
        return _segment(*args)
    with threadpool_limits(limits=int(n_jobs)):
        return _segment(*args)


def silhouette_scores(Z: np.ndarray, labelings: Sequence[np.ndarray], chunk_rows: int = 2048) -> list[float]:
    """Mean silhouette (Euclidean) of each labeling of the rows of ``Z``, as
    ``sklearn.metrics.silhouette_score`` computes it (NaN for a labeling with one cluster), with the
    pairwise distances computed once for all labelings, ``chunk_rows`` rows at a time."""
    n = len(Z)
    codes = [np.unique(np.asarray(labels), return_inverse=True)[1] for labels in labelings]
    onehots = [np.eye(int(c.max()) + 1)[c] for c in codes]
    sizes = [h.sum(axis=0) for h in onehots]
    totals = [0.0] * len(codes)
    for start in range(0, n, chunk_rows):
        stop = min(start + chunk_rows, n)
        D = euclidean_distances(Z[start:stop], Z)
        D[np.arange(stop - start), np.arange(start, stop)] = 0.0  # as sklearn: a point is 0 from itself
        rows = np.arange(stop - start)
        for i, (c, h, size) in enumerate(zip(codes, onehots, sizes)):
            sums = D @ h                                              # distance to each cluster, summed
            own = c[start:stop]
            own_size = size[own]
            with np.errstate(divide="ignore", invalid="ignore"):
                intra = sums[rows, own] / (own_size - 1)
                mean_to = sums / size
            mean_to[rows, own] = np.inf
            inter = mean_to.min(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                s = (inter - intra) / np.maximum(intra, inter)
            s[own_size <= 1] = 0.0                                    # a singleton scores 0
            totals[i] += float(np.nan_to_num(s).sum())
    return [totals[i] / n if len(size) > 1 else float("nan") for i, size in enumerate(sizes)]


def _segment(customer_features, k, k_range, random_state, sample_size, minibatch_threshold, churn, lapse_days):
    raw = _segment_inputs(customer_features)
    n = len(raw)
    ks = [int(k)] if k is not None else sorted({int(v) for v in k_range})
    if not ks or min(ks) < 2 or max(ks) >= n:
        raise ValueError(
            f"k must be >= 2 and smaller than the number of customers ({n}); got {ks}: "
            "pass a smaller k / k_range or more customers"
        )
    k_selection, chosen_k = _select_k(raw, ks, k, random_state, sample_size)
    algorithm, pipe, remap, cluster_id, names = _fit_clusters(raw, chosen_k, random_state, minibatch_threshold)
    assignments = pd.DataFrame(
        {
            "customer_id": raw["customer_id"].to_numpy(),
            "cluster_id": cluster_id,
            "cluster_name": np.array([names[c] for c in cluster_id], dtype=object),
        }
    )
    profiles = _profiles(raw, cluster_id, names, chosen_k, lapse_days)
    profiles["churn_rate"] = churn_rates(profiles, assignments, churn)
    return SegmentationResult(
        assignments=assignments,
        profiles=profiles,
        k_selection=k_selection.reset_index(drop=True),
        k=chosen_k,
        algorithm=algorithm,
        model=SegmentModel(pipe, remap, names),
    )


def _segment_inputs(customer_features) -> pd.DataFrame:
    """customer_id and SEGMENT_FEATURES as float64, one row per customer, ordered by customer_id."""
    missing = [c for c in ("customer_id",) + SEGMENT_FEATURES if c not in customer_features.columns]
    if missing:
        raise ValueError(f"customer_features lacks required columns {missing}")
    if customer_features["customer_id"].isna().any():
        raise ValueError("customer_features has NULL customer_id values")
    raw = pd.DataFrame({"customer_id": customer_features["customer_id"].astype(str).to_numpy(dtype=object)})
    for col in SEGMENT_FEATURES:
        values = pd.to_numeric(customer_features[col], errors="coerce")
        raw[col] = np.asarray(values.to_numpy(dtype="float64", na_value=np.nan))
    if raw["customer_id"].duplicated().any():
        raise ValueError("customer_features must have one row per customer_id")
    raw = raw.sort_values("customer_id", kind="mergesort").reset_index(drop=True)
    if len(raw) < 3:
        raise ValueError(f"need at least 3 customers to segment, got {len(raw)}")
    return raw


def _select_k(raw: pd.DataFrame, ks: list[int], k, random_state, sample_size) -> tuple[pd.DataFrame, int]:
    """(segment_k_selection, the chosen k): silhouette of every k on one fixed-seed sample."""
    if len(raw) > sample_size:
        sample = raw.sample(n=sample_size, random_state=random_state).sort_index()
    else:
        sample = raw
    fits = [_pipeline(_kmeans(kk, random_state)).fit(sample) for kk in ks]
    # every pipeline scales the same sample the same way: one space, one pass over its distances
    Z = fits[0][:-1].transform(sample)
    silhouettes = silhouette_scores(Z, [pipe.named_steps["cluster"].labels_ for pipe in fits])
    rows = [(kk, sil, float(pipe.named_steps["cluster"].inertia_), len(sample))
            for kk, sil, pipe in zip(ks, silhouettes, fits)]
    k_selection = pd.DataFrame(rows, columns=["k", "silhouette", "inertia", "sample_rows"])
    if k is None:
        best = k_selection.sort_values(["silhouette", "k"], ascending=[False, True], kind="mergesort")
        chosen_k = int(best["k"].iloc[0])
    else:
        chosen_k = int(k)
    k_selection["is_chosen"] = k_selection["k"] == chosen_k
    k_selection = k_selection[["k", "silhouette", "inertia", "is_chosen", "sample_rows"]]
    k_selection["k"] = k_selection["k"].astype("int64")
    k_selection["sample_rows"] = k_selection["sample_rows"].astype("int64")
    return k_selection, chosen_k


def _fit_clusters(raw: pd.DataFrame, chosen_k: int, random_state, minibatch_threshold):
    """(algorithm, fitted pipeline, fit label -> cluster_id, cluster_id of every row, names): the
    final fit on every customer, clusters numbered by mean monetary (highest first), then size."""
    if len(raw) > minibatch_threshold:
        algorithm = "MiniBatchKMeans"
        model = MiniBatchKMeans(n_clusters=chosen_k, batch_size=4096, n_init=3, random_state=random_state)
    else:
        algorithm = "KMeans"
        model = _kmeans(chosen_k, random_state)
    pipe = _pipeline(model).fit(raw)
    fitted_labels = pipe.named_steps["cluster"].labels_
    centers = pipe.named_steps["cluster"].cluster_centers_

    # Deterministic ordering: highest mean monetary first, then larger clusters, then fit label.
    stats = (
        pd.DataFrame({"label": fitted_labels, "monetary": raw["monetary"].fillna(0.0)})
        .groupby("label")
        .agg(mean_monetary=("monetary", "mean"), customers=("monetary", "size"))
        .reset_index()
        .sort_values(["mean_monetary", "customers", "label"], ascending=[False, False, True], kind="mergesort")
    )
    remap = {int(old): new for new, old in enumerate(stats["label"])}
    cluster_id = np.array([remap[int(v)] for v in fitted_labels], dtype="int64")
    ordered_centers = np.empty_like(centers)
    for old, new in remap.items():
        ordered_centers[new] = centers[old]
    names = _name_clusters(raw, cluster_id, ordered_centers)
    return algorithm, pipe, remap, cluster_id, names


def _profiles(raw: pd.DataFrame, cluster_id: np.ndarray, names: dict, chosen_k: int, lapse_days) -> pd.DataFrame:
    """segment_profiles without its churn rate (:func:`churn_rates`): size, revenue share, medians
    and lapsed share of each cluster."""
    n = len(raw)
    frame = raw.assign(cluster_id=cluster_id)
    frame["revenue"] = frame["monetary"].clip(lower=0.0).fillna(0.0)
    frame["lapsed"] = (frame["recency_days"] > lapse_days).astype(float)
    g = frame.groupby("cluster_id", sort=True)
    total_revenue = frame["revenue"].sum()
    profiles = pd.DataFrame({"cluster_id": np.arange(chosen_k, dtype="int64")})
    profiles["cluster_name"] = profiles["cluster_id"].map(names).astype(object)
    profiles["customers"] = g.size().reindex(profiles["cluster_id"]).to_numpy(dtype="int64")
    profiles["share_of_customers"] = profiles["customers"] / n
    revenue = g["revenue"].sum().reindex(profiles["cluster_id"]).to_numpy()
    profiles["revenue_share"] = revenue / total_revenue if total_revenue > 0 else np.nan
    profiles["mean_monetary"] = g["monetary"].mean().reindex(profiles["cluster_id"]).to_numpy()
    for col in SEGMENT_FEATURES:
        profiles[f"median_{col}"] = g[col].median().reindex(profiles["cluster_id"]).to_numpy()
    profiles["lapsed_share"] = g["lapsed"].mean().reindex(profiles["cluster_id"]).to_numpy()
    return profiles


def churn_rates(profiles: pd.DataFrame, assignments: pd.DataFrame, churn: pd.DataFrame | None) -> np.ndarray:
    """The ``churn_rate`` column of ``profiles`` (see :class:`SegmentationResult`): per cluster_id of
    ``profiles``, the mean of ``churn``'s churn_probability (or churned) over the cluster's customers
    in ``assignments`` (customer_id, cluster_id, in its own order) that ``churn`` has; NaN for None.
    Apart from :func:`segment_customers` so that the build can fit the segments without waiting for
    the churn scores, and join them after: the same figures either way."""
    values = np.full(len(assignments), np.nan)
    if churn is not None:
        col = "churn_probability" if "churn_probability" in churn.columns else "churned"
        if "customer_id" not in churn.columns or col not in churn.columns:
            raise ValueError("churn must have customer_id and churn_probability (or churned)")
        lookup = pd.Series(
            pd.to_numeric(churn[col]).to_numpy(dtype="float64", na_value=np.nan),
            index=churn["customer_id"].astype(str).to_numpy(dtype=object),
        )
        if lookup.index.duplicated().any():
            raise ValueError("churn must have one row per customer_id")
        values = assignments["customer_id"].astype(str).map(lookup).astype("float64").to_numpy()
    frame = pd.DataFrame({"cluster_id": assignments["cluster_id"].to_numpy(), "churn": values})
    means = frame.groupby("cluster_id", sort=True)["churn"].mean()
    return means.reindex(profiles["cluster_id"]).to_numpy(dtype="float64")
