"""The model card's words on the level of the churn probabilities (retention.outputs.report.sections)."""
from __future__ import annotations

from retention.outputs.report.sections import model_card


def _metrics(offset: float, detail: str, test_mean: float = 0.60, test_offset: float = 0.0) -> list[dict]:
    rows = [("random_forest", "is_chosen", 1.0, ""), ("random_forest", "pr_auc", 0.7, ""),
            ("random_forest_calibrated", "mean_predicted", test_mean, ""),
            ("random_forest_calibrated", "season_offset", test_offset, ""),
            ("random_forest_calibrated", "base_rate", 0.62, ""), ("random_forest_calibrated", "ece", 0.03, ""),
            ("scored", "expected_churn_rate", 0.666, ""), ("scored", "last_year_observed_rate", 0.408, "2010-03-19"),
            ("scored", "season_offset", offset, detail)]
    return [{"model": m, "metric": k, "value": v, "detail": d} for m, k, v, d in rows]


def test_the_card_says_where_the_level_came_from():
    season = model_card(_metrics(0.07, "logit shift applied to every score (season: last year's level error at "
                                       "2010-06-17)"), {})["trust"]
    assert "Now it expects 66.6% to churn; in the same window last year 40.8% did" in season
    assert "(the season offset of +0.07 in log-odds is applied)." in season and "transferred" not in season

    transfer = model_card(_metrics(0.499, "logit shift applied to every score (transfer: the level at 2010-12-14 "
                                          "moved by -0.398, ...)"), {})["trust"]
    assert "too early in the data to calibrate against" in transfer
    assert "carried from the latest labelled window" in transfer and "(an offset of +0.50 in log-odds)." in transfer

    none = model_card(_metrics(0.0, "logit shift applied to every score (0: none)"), {})["trust"]
    assert none.endswith("in the same window last year 40.8% did.")


def test_a_test_level_before_a_correction_the_scores_carry_is_not_called_the_scores_level():
    """The test cutoff had no reference (offset 0 there) and was 30 points low, but today's
    probabilities carry a correction: the card does not say the scores understate churn by 30."""
    metrics = _metrics(0.499, "logit shift applied to every score (transfer: ...)", test_mean=0.32)
    text = model_card(metrics, {})["trust"]
    assert "understate" not in text and "the level before any correction" in text
    # with the same correction tested on the test cutoff, a gap there is the scores' gap
    tested = model_card(_metrics(0.499, "logit shift applied to every score (season: ...)", test_mean=0.32,
                                 test_offset=0.4), {})["trust"]
    assert "understate churn by about 30.0%" in tested
