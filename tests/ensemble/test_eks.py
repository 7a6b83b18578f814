"""The ensemble Kalman smoother against the closed-form posterior of its model, and on noisy members."""

import numpy as np
import pytest

from dlc_recurrent.ensemble import ensemble_kalman_smooth, likelihood_within
from dlc_recurrent.ensemble.eks import random_walk_filter, random_walk_smoother


def closed_form(y, r, s, prior_var):
    """The random walk's posterior and evidence from the joint Gaussian: x ~ N(0, P0 + s min(i, j))."""
    t = np.arange(len(y))
    prior = prior_var + s * np.minimum.outer(t, t)
    evidence = prior + np.diag(r)
    mean = prior @ np.linalg.solve(evidence, y)
    cov = prior - prior @ np.linalg.solve(evidence, prior)
    sign, logdet = np.linalg.slogdet(evidence)
    nll = 0.5 * (len(y) * np.log(2 * np.pi) + logdet + y @ np.linalg.solve(evidence, y))
    return mean, np.diag(cov), nll


def test_filter_and_smoother_equal_the_closed_form_posterior():
    rng = np.random.default_rng(0)
    n = 40
    y = rng.normal(0, 3, (n, 3)).cumsum(0)
    r = rng.uniform(0.2, 9.0, (n, 3))
    s, prior_var = np.array([0.5, 2.0, 7.0]), np.array([4.0, 1.0, 30.0])
    means, variances = random_walk_smoother(y, r, s, prior_var)
    _, _, nll = random_walk_filter(y, r, s, prior_var)
    for j in range(3):
        mean, var, expected_nll = closed_form(y[:, j], r[:, j], s[j], prior_var[j])
        np.testing.assert_allclose(means[:, j], mean, rtol=1e-8, atol=1e-8)
        np.testing.assert_allclose(variances[:, j], var, rtol=1e-8)
        assert nll[j] == pytest.approx(expected_nll, rel=1e-10)


def test_a_missing_frame_is_smoothed_over_as_the_closed_form_without_it():
    rng = np.random.default_rng(1)
    y, r = rng.normal(0, 2, (25, 1)).cumsum(0), np.full((25, 1), 1.5)
    gap = y.copy()
    gap[10:13] = np.nan
    means, _ = random_walk_smoother(gap, r, np.array([1.0]), np.array([5.0]))
    keep = np.isfinite(gap[:, 0])
    t = np.arange(25)
    prior = 5.0 + np.minimum.outer(t, t)
    expected = prior[:, keep] @ np.linalg.solve(prior[np.ix_(keep, keep)] + 1.5 * np.eye(keep.sum()), y[keep, 0])
    np.testing.assert_allclose(means[:, 0], expected, atol=1e-8)


def random_walk_members(n_frames=600, n_parts=3, step=1.0, seed=0):
    """A random walk per body part (true s = step^2) seen by three members with 1.5 px noise; one
    member jumps 40 px, unsure, on 5% of frames."""
    rng = np.random.default_rng(seed)
    truth = 200 + rng.normal(0, step, (n_frames, n_parts, 2)).cumsum(0)
    members = np.empty((3, n_frames, n_parts, 3))
    for m in range(3):
        members[m, ..., :2] = truth + rng.normal(0, 1.5, truth.shape)
        members[m, ..., 2] = rng.uniform(0.8, 1.0, (n_frames, n_parts))
    bad = rng.random((n_frames, n_parts)) < 0.05
    members[2, ..., :2][bad] += 40.0
    members[2, ..., 2][bad] = 0.05
    return members, truth, bad


def test_the_smoother_beats_every_member_and_the_median_and_finds_the_walks_step():
    members, truth, bad = random_walk_members()
    smoothed = ensemble_kalman_smooth(members)
    error = lambda xy: np.linalg.norm(xy - truth, axis=-1).mean()  # noqa: E731
    assert error(smoothed.xy) < min(error(m[..., :2]) for m in members)
    assert error(smoothed.xy) < 0.9 * error(smoothed.ensemble_xy)
    assert np.linalg.norm(smoothed.xy - truth, axis=-1)[bad].mean() < 3.0  # the jumps do not pull it away
    assert np.all((smoothed.smooth_param > 1 / 3) & (smoothed.smooth_param < 3))  # the true s is 1
    # about as many errors within two posterior standard deviations as a Gaussian would have
    inside = np.abs(smoothed.xy - truth) < 2 * np.sqrt(smoothed.variance)
    assert 0.8 < inside.mean() <= 1.0


def test_the_chosen_smoothing_maximises_the_likelihood():
    members, _, _ = random_walk_members(n_frames=200, n_parts=1, seed=3)
    chosen = ensemble_kalman_smooth(members).smooth_param[0]
    y = ensemble_kalman_smooth(members, smooth_param=chosen)
    series_y = (y.ensemble_xy - np.nanmean(y.ensemble_xy, 0)).reshape(200, -1)
    series_r = y.ensemble_variance.reshape(200, -1)
    prior = np.nanvar(series_y, axis=0) + 1e-12
    total = lambda s: random_walk_filter(series_y, series_r, np.full(2, s), prior, keep=False)[2].sum()  # noqa: E731
    grid = np.exp(np.linspace(-8, 8, 801))
    best = grid[np.argmin([total(s) for s in grid])]
    assert abs(np.log(chosen) - np.log(best)) <= 0.02
    assert total(chosen) <= total(best) + 1e-3


def test_missing_members_and_a_single_member():
    members, truth, _ = random_walk_members(n_frames=120, n_parts=2, seed=4)
    members[:, 50:54, 0, :2] = np.nan  # nobody sees part 0 for four frames
    members[1:, 70:80, 1, :2] = np.nan  # one member alone sees part 1
    members[0, 90, 1, 2] = 0.0
    smoothed = ensemble_kalman_smooth(members)
    assert np.isfinite(smoothed.xy).all() and np.isfinite(smoothed.variance).all()
    assert np.isnan(smoothed.ensemble_xy[50:54, 0]).all()
    assert smoothed.variance[50:54, 0].mean() > smoothed.variance[40:48, 0].mean()  # unsure where nobody saw it
    assert np.linalg.norm(smoothed.xy[50:54, 0] - truth[50:54, 0], axis=-1).max() < 15
    nobody = members.copy()
    nobody[:, :, 1, :2] = np.nan  # part 1 never seen
    unseen = ensemble_kalman_smooth(nobody)
    assert np.isnan(unseen.xy[:, 1]).all() and np.isfinite(unseen.xy[:, 0]).all()
    assert (likelihood_within(unseen.variance, 5.0)[:, 1] == 0).all()
    alone = ensemble_kalman_smooth(members[:1])
    seen = np.isfinite(members[0, ..., 0])
    np.testing.assert_allclose(alone.ensemble_variance[seen][:, 0], 1 / np.maximum(members[0][seen][:, 2], 1e-5))
    assert np.isinf(alone.ensemble_variance[~seen]).all() and np.isfinite(alone.xy).all()


def test_likelihood_within_a_radius_and_bad_input():
    variance = np.array([[[1.0, 1.0], [100.0, 100.0]]])
    likelihood = likelihood_within(variance, radius=3.0)
    assert likelihood[0, 0] == pytest.approx(1 - np.exp(-4.5))
    assert likelihood[0, 0] > 0.9 > 0.1 > likelihood[0, 1]
    with pytest.raises(ValueError, match="models, frames, body parts, 3"):
        ensemble_kalman_smooth(np.zeros((10, 2, 3)))
    with pytest.raises(ValueError, match="positive"):
        ensemble_kalman_smooth(np.ones((1, 10, 2, 3)), smooth_param=0.0)


def test_the_same_answer_as_the_ensemble_kalman_smoother_package():
    eks = pytest.importorskip("eks.singlecam_smoother")
    from eks.marker_array import MarkerArray

    members, _, _ = random_walk_members(n_frames=300, n_parts=3, seed=5)
    ours = ensemble_kalman_smooth(members, smooth_param=4.0)
    marker_array = MarkerArray(members[:, None], data_fields=["x", "y", "likelihood"])
    frame, _ = eks.ensemble_kalman_smoother_singlecam(marker_array, ["a", "b", "c"], smooth_param=4.0)
    theirs = frame.to_numpy().reshape(300, 3, -1)
    np.testing.assert_allclose(ours.xy, theirs[..., :2], atol=1e-2)
