"""Ensemble Kalman Smoothing (EKS) of several networks' predictions of one video, in numpy.

The model of Lightning Pose's single-camera smoother (Biderman et al. 2024; the
``ensemble-kalman-smoother`` package, ``eks.singlecam_smoother``), without its jax dependency:

* each frame's observation is the members' median x, y; its noise variance is the members' variance
  divided by their mean likelihood (one member alone: 1 / its likelihood), so frames where the
  networks disagree, or are unsure, count less;
* each body part moves as a random walk, ``x[t+1] = x[t] + N(0, s)`` on both axes, smoothed forward
  and backward (a Kalman filter, then Rauch-Tung-Striebel), giving a posterior mean and variance;
* ``s`` (per body part; smaller smooths more) maximises the data's likelihood under the model, as
  EKS does; here by a grid over log s in EKS's bounds [-8, 8] refined twice around the best (steps
  0.5, 0.05, 0.005), deterministic.

Differences from the package, on purpose: a frame where every member is missing is smoothed over
(the package returns NaN for the whole body part), a frame where one member alone is present gets
the one-member variance instead of zero, the mean likelihood is over the members present, and a body
part no member ever sees comes out as NaN with variance infinity (likelihood 0).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

#: EKS's bounds of log(s)
LOG_S_BOUNDS = (-8.0, 8.0)

#: likelihoods are clipped to at least this before dividing by them (as the package does for one member)
MIN_LIKELIHOOD = 1e-5


@dataclass
class Smoothed:
    """The smoother's output for one video: (T, K, 2) posterior means and variances, and more.

    Attributes:
        xy: (T, K, 2) float, the posterior mean x, y, px; NaN for a body part no member ever sees.
        variance: (T, K, 2) float, the posterior variance of x and y, px^2; infinite for a body part no
            member ever sees.
        smooth_param: (K,) float, the random walk's s of each body part.
        ensemble_xy: (T, K, 2) float, the members' median x, y (NaN where all are missing).
        ensemble_variance: (T, K, 2) float, each frame's observation noise, px^2 (infinite where all are
            missing).
        mean_likelihood: (T, K) float, the mean likelihood of the members present (0 where none is).
    """

    xy: np.ndarray  # (T, K, 2) posterior mean, px
    variance: np.ndarray  # (T, K, 2) posterior variance of x and y, px^2
    smooth_param: np.ndarray  # (K,) the s of each body part
    ensemble_xy: np.ndarray  # (T, K, 2) the members' median (NaN where all are missing)
    ensemble_variance: np.ndarray  # (T, K, 2) each frame's observation noise, px^2
    mean_likelihood: np.ndarray  # (T, K) the members' mean likelihood


def ensemble_kalman_smooth(members: np.ndarray, smooth_param: float | np.ndarray | None = None) -> Smoothed:
    """Smooth several networks' predictions of one video into one track per body part (see the module).

    Args:
        members: (M, T, K, 3) float, each member's x, y (px) and likelihood; NaN where a member has no
            point.
        smooth_param: the random walk's s for every body part (a number or K numbers; smaller smooths
            more); None chooses each by maximum likelihood.

    Returns:
        The posterior means and variances (T, K, 2), each part's s (K,), and the observations it
        smoothed (the members' median, its noise, their mean likelihood).

    Raises:
        ValueError: members of another shape, or an s that is not positive.
    """
    members = np.asarray(members, float)
    if members.ndim != 4 or members.shape[-1] != 3:
        raise ValueError(f"members must be (models, frames, body parts, 3), got shape {members.shape}")
    n_frames, n_parts = members.shape[1:3]
    y, r, mean_likelihood = _observations(members)
    with warnings.catch_warnings():  # a body part no member ever sees: no mean, no spread
        warnings.simplefilter("ignore", RuntimeWarning)
        centre = np.nan_to_num(np.nanmean(y, axis=0))  # (K, 2): the package smooths centred data
        y_centred = (y - centre).reshape(n_frames, -1)  # series: body part k's x at 2k, y at 2k + 1
        prior_var = np.nan_to_num(np.nanvar(y_centred, axis=0), nan=1.0) + 1e-12
    r = r.reshape(n_frames, -1)
    if smooth_param is None:
        s = _best_smooth_param(y_centred, r, prior_var)
    else:
        s = np.broadcast_to(np.asarray(smooth_param, float), (n_parts,)).copy()
        if not (np.isfinite(s) & (s > 0)).all():
            raise ValueError(f"smooth_param must be positive, got {smooth_param}")
    means, variances = random_walk_smoother(y_centred, r, np.repeat(s, 2), prior_var)
    unseen = ~np.isfinite(y_centred).any(axis=0)  # nothing to smooth: no point, and no confidence
    means[:, unseen], variances[:, unseen] = np.nan, np.inf
    return Smoothed(xy=means.reshape(n_frames, n_parts, 2) + centre,
                    variance=variances.reshape(n_frames, n_parts, 2), smooth_param=s,
                    ensemble_xy=y, ensemble_variance=r.reshape(n_frames, n_parts, 2),
                    mean_likelihood=mean_likelihood)


def smoothed_predictions(members: np.ndarray, radius: float, smooth_param=None) -> tuple[np.ndarray, Smoothed]:
    """The members smoothed into one set of predictions, as ``ensemble_videos`` writes them.

    Args:
        members: (M, T, K, 3) float, each member's x, y (px) and likelihood; NaN where missing.
        radius: the likelihood's radius, px (:func:`likelihood_within`).
        smooth_param: as in :func:`ensemble_kalman_smooth`.

    Returns:
        (predictions, smoothed): (T, K, 3) float, the posterior mean x, y and the probability of lying
        within ``radius`` of it; and the whole :class:`Smoothed`.
    """
    result = ensemble_kalman_smooth(members, smooth_param)
    return np.concatenate([result.xy, likelihood_within(result.variance, radius)[..., None]], -1), result


def likelihood_within(variance: np.ndarray, radius: float) -> np.ndarray:
    """(T, K) probability, under the posterior, that the point lies within ``radius`` px of its mean.

    The posterior as a round 2-D Gaussian of the mean of its x and y variances: 1 - exp(-r^2 / 2 var).
    A number DLC's tools can cut at ``pcutoff``: 0.6 means a 60% chance of being within ``radius``.

    Args:
        variance: (T, K, 2) float, the posterior variances of x and y, px^2.
        radius: px.

    Returns:
        (T, K) float in [0, 1).
    """
    spread = np.maximum(np.asarray(variance, float).mean(-1), 1e-12)
    return 1.0 - np.exp(-(radius**2) / (2.0 * spread))


def _observations(members: np.ndarray):
    """(T, K, 2) median x, y, (T, K, 2) observation variances, (T, K) mean likelihood of the members."""
    xy = members[..., :2]
    present = np.isfinite(xy).all(-1) & np.isfinite(members[..., 2])  # (M, T, K)
    xy = np.where(present[..., None], xy, np.nan)
    likelihood = np.where(present, np.clip(members[..., 2], 0.0, 1.0), 0.0)
    count = present.sum(0)  # (T, K)
    with warnings.catch_warnings():  # frames no member sees: NaN median, and no spread
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(xy, axis=0)
        spread = np.nanvar(xy, axis=0)
    mean_likelihood = likelihood.sum(0) / np.maximum(count, 1)  # of the members present
    confidence = np.maximum(mean_likelihood, MIN_LIKELIHOOD)[..., None]
    alone = np.maximum(likelihood.sum(0), MIN_LIKELIHOOD)[..., None]  # the one member present
    variance = np.where(count[..., None] >= 2, spread / confidence, 1.0 / alone)
    variance = np.where(count[..., None] == 0, np.inf, np.maximum(variance, 1e-12))
    return median, variance, mean_likelihood


def random_walk_filter(y: np.ndarray, r: np.ndarray, s: np.ndarray, prior_var: np.ndarray, repeat: int = 1,
                       keep: bool = True):
    """Kalman filter of random walks, many series at once, each series under several candidate s.

    Each series starts at mean 0 (the data centred) with variance ``prior_var``; a frame where y or r is
    not finite is not observed (the prediction carries on).

    Args:
        y: (T, N) float, the observations of N series; NaN where missing.
        r: (T, N) float, their observation noise variances.
        s: (N * repeat,) float, the random walk's variance per step: series n's candidates at
            n * repeat ... (n + 1) * repeat - 1 (a grid of s without copying y).
        prior_var: (N * repeat,) float, the variance of each candidate's first state.
        repeat: candidates per series.
        keep: return the filtered means and variances of every frame (otherwise only the likelihood).

    Returns:
        (means, variances, nll): the filtered means and variances (T, N * repeat) float, None unless
        ``keep``; and each candidate's negative log-likelihood of the observations (N * repeat,) float.
    """
    width = y.shape[1] * repeat
    means, variances = (np.empty((len(y), width)), np.empty((len(y), width))) if keep else (None, None)
    nll = np.zeros(width)
    mean, var = np.zeros(width), np.array(prior_var, float)
    for t in range(len(y)):
        observed = np.repeat(np.isfinite(y[t]) & np.isfinite(r[t]), repeat)
        if t:
            var = var + s
        total = var + np.where(observed, np.repeat(r[t], repeat), 1.0)
        gain = np.where(observed, var / total, 0.0)
        innovation = np.where(observed, np.repeat(y[t], repeat), 0.0) - mean
        nll += np.where(observed, 0.5 * (np.log(2 * np.pi * total) + innovation**2 / total), 0.0)
        mean = mean + gain * innovation
        var = (1.0 - gain) * var
        if keep:
            means[t], variances[t] = mean, var
    return means, variances, nll


def random_walk_smoother(y: np.ndarray, r: np.ndarray, s: np.ndarray, prior_var: np.ndarray):
    """Rauch-Tung-Striebel smoothing after the filter: posterior means and variances (T, N).

    Args:
        y: (T, N) float, the observations of N series; NaN where missing.
        r: (T, N) float, their observation noise variances.
        s: (N,) float, each series' random-walk variance per step.
        prior_var: (N,) float, the variance of each series' first state (its mean starts at 0).

    Returns:
        (means, variances): (T, N) float each, the smoothed posterior means and variances.
    """
    means, variances, _ = random_walk_filter(y, r, s, prior_var)
    for t in range(len(y) - 2, -1, -1):
        predicted = variances[t] + s
        gain = variances[t] / predicted
        means[t] = means[t] + gain * (means[t + 1] - means[t])
        variances[t] = variances[t] + gain**2 * (variances[t + 1] - predicted)
    return means, variances


def _best_smooth_param(y: np.ndarray, r: np.ndarray, prior_var: np.ndarray) -> np.ndarray:
    """Each body part's s (x and y share it) maximising the likelihood: a grid over log s, then a finer
    grid around each part's best, twice (steps 0.5, 0.05, 0.005)."""
    n_parts = y.shape[1] // 2
    centres = np.zeros(n_parts)
    for offsets, first in ((np.arange(LOG_S_BOUNDS[0], LOG_S_BOUNDS[1] + 1e-9, 0.5), True),
                           (np.arange(-0.5, 0.5 + 1e-9, 0.05), False), (np.arange(-0.05, 0.05 + 1e-9, 0.005), False)):
        log_s = offsets[None, :] if first else np.clip(centres[:, None] + offsets[None, :], *LOG_S_BOUNDS)
        log_s = np.broadcast_to(log_s, (n_parts, len(offsets)))  # (K, G)
        s = np.repeat(np.exp(log_s), 2, axis=0)  # (2K, G): a part's x and y series share its s
        prior = np.repeat(prior_var, len(offsets))
        _, _, nll = random_walk_filter(y, r, s.reshape(-1), prior, len(offsets), keep=False)
        nll = nll.reshape(n_parts, 2, len(offsets)).sum(1)
        centres = log_s[np.arange(n_parts), np.argmin(nll, axis=1)]
    return np.exp(centres)
