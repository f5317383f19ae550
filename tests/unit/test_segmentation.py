"""Tests for models_py.segmentation on synthetic, well-separated behavioural groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from models_py.segmentation import SEGMENT_FEATURES, churn_rates, segment_customers

# Four behaviours, far apart in log space (medians in original units).
GROUPS = {
    "vip": dict(recency_days=5, frequency=60, monetary=50_000, tenure_days=700, mean_days_between_orders=11,
                distinct_products=400, avg_order_value=830, return_rate=0.02),
    "lapsed_one_timer": dict(recency_days=400, frequency=1, monetary=40, tenure_days=400,
                             mean_days_between_orders=np.nan, distinct_products=3, avg_order_value=40, return_rate=0.0),
    "new": dict(recency_days=8, frequency=2, monetary=300, tenure_days=25, mean_days_between_orders=9,
                distinct_products=20, avg_order_value=150, return_rate=0.3),
    "at_risk_regular": dict(recency_days=150, frequency=12, monetary=3_000, tenure_days=600,
                            mean_days_between_orders=40, distinct_products=90, avg_order_value=250, return_rate=0.1),
}


def make_customers(per_group: int = 250, seed: int = 0, groups=GROUPS) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    for g, (name, centre) in enumerate(groups.items()):
        block = {}
        for col in SEGMENT_FEATURES:
            base = centre[col]
            if np.isnan(base):
                block[col] = np.full(per_group, np.nan)
            elif col == "return_rate":
                block[col] = np.clip(base + rng.normal(0, 0.01, per_group), 0, None)
            else:
                block[col] = base * rng.lognormal(0.0, 0.15, per_group)
        if name == "lapsed_one_timer":
            block["frequency"] = np.ones(per_group)
            block["tenure_days"] = block["recency_days"]
        frame = pd.DataFrame(block)
        frame["customer_id"] = [f"{name[:3]}{i:04d}" for i in range(per_group)]
        frames.append(frame)
        truth += [g] * per_group
    data = pd.concat(frames, ignore_index=True)
    return data[["customer_id", *SEGMENT_FEATURES]], np.array(truth)


@pytest.fixture(scope="module")
def blobs():
    data, truth = make_customers()
    return data, truth, segment_customers(data)


def test_chooses_k_by_silhouette_and_recovers_groups(blobs):
    data, truth, result = blobs
    assert result.k == 4
    ks = result.k_selection
    assert ks["k"].tolist() == list(range(3, 9))
    assert ks["is_chosen"].sum() == 1
    assert ks.loc[ks["is_chosen"], "k"].item() == ks.loc[ks["silhouette"].idxmax(), "k"]
    assert ks.loc[ks["k"] == 4, "silhouette"].item() > 0.6
    labels = result.assignments.set_index("customer_id").loc[data["customer_id"], "cluster_id"].to_numpy()
    assert adjusted_rand_score(truth, labels) > 0.9
    assert result.algorithm == "KMeans"


def test_labels_ordered_named_and_profiled(blobs):
    data, truth, result = blobs
    p = result.profiles
    assert p["cluster_id"].tolist() == [0, 1, 2, 3]
    assert p["mean_monetary"].is_monotonic_decreasing
    assert p["cluster_name"].is_unique
    assert result.assignments["cluster_name"].nunique() == 4
    # cluster 0 = the VIPs (highest spend), and its medians are in original units
    vip = p.iloc[0]
    assert vip["median_frequency"] == pytest.approx(60, rel=0.1)
    assert vip["median_monetary"] == pytest.approx(50_000, rel=0.1)
    assert vip["cluster_name"] == "frequent high spenders"
    names = dict(zip(p["median_recency_days"].round(-1), p["cluster_name"]))
    assert names[400] == "lapsed one-time low spenders"
    assert p["customers"].sum() == len(data) and p["share_of_customers"].sum() == pytest.approx(1.0)
    assert p["revenue_share"].sum() == pytest.approx(1.0)
    assert p["churn_rate"].isna().all()  # no churn frame given
    assert p.loc[p["median_recency_days"] > 300, "lapsed_share"].item() == 1.0


def test_stable_labels_across_runs_and_row_order(blobs):
    data, _, first = blobs
    shuffled = data.sample(frac=1.0, random_state=3).reset_index(drop=True)
    again = segment_customers(shuffled)
    pd.testing.assert_frame_equal(first.assignments, again.assignments)
    pd.testing.assert_frame_equal(first.profiles, again.profiles)
    pd.testing.assert_frame_equal(first.k_selection, again.k_selection)


def test_k_override_and_churn_join(blobs):
    data, truth, _ = blobs
    lapsed_group = list(GROUPS).index("lapsed_one_timer")
    probability = np.where(truth == lapsed_group, 0.9, 0.1)
    churn = pd.DataFrame({"customer_id": data["customer_id"], "churn_probability": probability})
    result = segment_customers(data, k=6, churn=churn.iloc[::-1])
    assert result.k == 6
    assert result.assignments["cluster_id"].nunique() == 6
    assert result.k_selection["k"].tolist() == [6] and result.k_selection["is_chosen"].all()
    assert result.profiles["cluster_name"].is_unique and len(result.profiles) == 6
    lapsed = result.profiles["median_recency_days"] > 300
    assert np.allclose(result.profiles.loc[lapsed, "churn_rate"], 0.9)
    assert np.allclose(result.profiles.loc[~lapsed, "churn_rate"], 0.1)


def test_churn_rates_joined_after_the_fit_are_those_of_the_fit(blobs):
    """The build clusters without the churn scores and joins them after (segment_profiles): the
    same churn_rate, to the last bit, as segment_customers handed the scores, and pandas' mean of
    the scores over each cluster's customers (a customer the scores lack is left out)."""
    data, _, _ = blobs
    rng = np.random.default_rng(11)
    churn = pd.DataFrame({"customer_id": data["customer_id"], "churn_probability": rng.uniform(size=len(data))})
    churn = churn.sample(frac=0.9, random_state=4)  # some customers unscored, the rest shuffled
    joined = segment_customers(data, k=5, churn=churn)
    alone = segment_customers(data, k=5)
    assert alone.profiles["churn_rate"].isna().all()
    after = churn_rates(alone.profiles, alone.assignments, churn)
    np.testing.assert_array_equal(after, joined.profiles["churn_rate"].to_numpy())
    expected = (alone.assignments.merge(churn, on="customer_id").groupby("cluster_id")["churn_probability"].mean()
                .reindex(alone.profiles["cluster_id"]))
    np.testing.assert_allclose(after, expected.to_numpy(), rtol=1e-12)
    assert np.isnan(churn_rates(alone.profiles, alone.assignments, None)).all()


def test_large_path_uses_sample_and_minibatch():
    data, truth = make_customers(per_group=150, seed=4)
    result = segment_customers(data, sample_size=300, minibatch_threshold=500)
    assert result.algorithm == "MiniBatchKMeans"
    assert (result.k_selection["sample_rows"] == 300).all()
    assert result.k == 4
    labels = result.assignments.set_index("customer_id").loc[data["customer_id"], "cluster_id"].to_numpy()
    assert adjusted_rand_score(truth, labels) > 0.9


def test_invalid_inputs_raise():
    data, _ = make_customers(per_group=5)
    with pytest.raises(ValueError, match="smaller than the number of customers"):
        segment_customers(data, k=len(data))
    with pytest.raises(ValueError, match="lacks required columns"):
        segment_customers(data.drop(columns="monetary"))
    with pytest.raises(ValueError, match="one row per customer_id"):
        segment_customers(pd.concat([data, data.head(1)]))


def test_one_pass_silhouette_equals_sklearn_for_every_labeling():
    from sklearn.metrics import silhouette_score

    from models_py.segmentation import silhouette_scores

    rng = np.random.default_rng(3)
    Z = np.vstack([rng.normal(loc, 1.0, size=(700, 4)) for loc in (0.0, 3.0, 6.0)])
    labelings = [rng.integers(0, k, size=len(Z)) for k in (2, 3, 5, 8)]
    labelings.append(np.repeat([0, 1, 2], 700))                        # the true groups
    labelings.append(np.r_[np.zeros(len(Z) - 1, dtype=int), 1])        # a singleton cluster
    ours = silhouette_scores(Z, labelings, chunk_rows=333)              # chunks that do not divide n
    expected = [silhouette_score(Z, labels) for labels in labelings]
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-12)
    assert ours[4] > 0.5 > abs(ours[0])
    assert np.isnan(silhouette_scores(Z, [np.zeros(len(Z), dtype=int)])[0])
def test_the_saved_segment_model_assigns_the_clusters_it_wrote(blobs):
    """What the build persists (result.model) gives every customer the same cluster and name."""
    import pickle

    data, _, result = blobs
    model = pickle.loads(pickle.dumps(result.model))
    again = model.assign(data).set_index("customer_id").loc[result.assignments["customer_id"]]
    assert again["cluster_id"].tolist() == result.assignments["cluster_id"].tolist()
    assert again["cluster_name"].tolist() == result.assignments["cluster_name"].tolist()
