"""The statistics of the evaluation (dlc_recurrent.evaluation.stats)."""


import numpy as np
import pytest
from scipy import stats

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.evaluation.stats import LEAP, RECURRENT, compare_methods, paired_ttest, sem, significance_mark


def test_paired_ttest_and_sem_match_scipy():
    rng = np.random.default_rng(1)
    for n in (2, 5, 50):
        a = rng.normal(10, 3, n)
        b = a + rng.normal(0.5, 1, n)
        t, p, count = paired_ttest(a, b)
        expected = stats.ttest_rel(a, b)
        assert count == n
        assert t == pytest.approx(expected.statistic, rel=1e-10)
        assert p == pytest.approx(expected.pvalue, rel=1e-10)
        assert sem(a) == pytest.approx(stats.sem(a), rel=1e-12)
    a, b = rng.normal(size=20), rng.normal(size=20)
    a[3], b[7] = np.nan, np.nan  # pairs with a NaN are dropped
    keep = np.isfinite(a) & np.isfinite(b)
    t, p, count = paired_ttest(a, b)
    assert count == 18 and p == pytest.approx(stats.ttest_rel(a[keep], b[keep]).pvalue, rel=1e-10)
    assert np.isnan(paired_ttest([1.0], [2.0])[1]) and np.isnan(sem([4.0]))


def test_significance_marks():
    assert [significance_mark(p) for p in (0.0002, 0.001, 0.004, 0.01, 0.03, 0.05, 0.4)] == [
        "***", "**", "**", "*", "*", "n.s.", "n.s."]
    assert significance_mark(float("nan")) == ""


def test_compare_methods_pairs_the_same_points():
    rng = np.random.default_rng(2)
    recurrent, leap = rng.gamma(2, 2, 30), rng.gamma(3, 2, 30)
    leap[0] = np.nan  # dropped for every method, so all rest on n=29
    rows = {r["method"]: r for r in compare_methods({LEAP: leap, RECURRENT: recurrent})}
    assert rows[LEAP]["n"] == rows[RECURRENT]["n"] == 29
    assert rows[LEAP]["mean_px"] == pytest.approx(np.mean(leap[1:]))
    assert rows[RECURRENT]["sem_px"] == pytest.approx(stats.sem(recurrent[1:]))
    expected = stats.ttest_rel(recurrent[1:], leap[1:]).pvalue
    assert rows[LEAP][f"p_{RECURRENT}_vs_method"] == pytest.approx(expected)
    assert rows[LEAP]["significance"] == significance_mark(expected)
    assert np.isnan(rows[RECURRENT][f"p_{RECURRENT}_vs_method"])
