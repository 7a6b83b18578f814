"""Small measures every stage and the benchmarks share: runs of True in a per-frame mask, and how far
points lie from where they should be."""

from __future__ import annotations

import numpy as np


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """The runs of True in a per-frame mask, e.g. the frames a body part stays hidden.

    Args:
        mask: (T,) bool (or 0/1).

    Returns:
        (start, stop) of each run, ``stop`` exclusive, in order; empty when there is none.
    """
    edges = np.diff(np.concatenate([[0], np.asarray(mask, bool).astype(np.int8), [0]]))
    return [(int(start), int(stop)) for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))]


def point_errors(predictions: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each point's distance from its reference position.

    Args:
        predictions: (..., K, 2 or 3) float, x, y (and likelihood, ignored) in px.
        reference: (..., K, 2) float, px, the same frames as the predictions.

    Returns:
        (..., K) float, px (NaN where either is NaN).
    """
    return np.linalg.norm(np.asarray(predictions, float)[..., :2] - reference, axis=-1)
