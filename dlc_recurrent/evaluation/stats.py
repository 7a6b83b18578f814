"""The names of the compared methods and the paired statistics every evaluation table uses."""

from __future__ import annotations

import math

import numpy as np

LEAP = "leap"
RECURRENT = "convlstm_leap"


#: DLC users' remedy today: LEAP's output, deeplabcut.filterpredictions (median), gaps interpolated.
FILTERED = "leap+median filter+interpolation"


#: The same remedy where no later frame may be used (artificial occlusion at a window's end).
FILTERED_CAUSAL = "leap+interpolation (causal)"


#: The two students of ``analyze_videos(..., confident_shuffle=N)`` combined (the occlusion study's pair).
TWO_STUDENTS = "two_students"


#: Lightning Pose's post-hoc remedy (``dlc_recurrent.ensemble``): Ensemble Kalman Smoothing of the teacher
#: alone, of the teacher with LEAP, and of both with the recurrent student (``ensemble_videos``' members).
EKS_TEACHER = "teacher+EKS"
EKS_TEACHER_LEAP = "teacher+leap+EKS"
EKS_WITH_STUDENT = "teacher+leap+student+EKS"


def sem(values) -> float:
    """Standard error of the mean (ddof=1), as ``scipy.stats.sem``, over the finite values.

    Args:
        values: (N,) numbers; NaN and infinities are left out.

    Returns:
        The SEM; NaN for fewer than 2 finite values.
    """
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan")
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def paired_ttest(a, b) -> tuple[float, float, int]:
    """Two-tailed paired t-test of ``a`` against ``b``, as ``scipy.stats.ttest_rel``.

    Args:
        a: (N,) numbers, e.g. one method's per-point errors.
        b: (N,) numbers, the same points' values of the other; pairs where either is NaN are dropped.

    Returns:
        (t, p, n): t positive where ``a`` is larger on average, the two-tailed p, and the pairs used;
        with fewer than 2 pairs t and p are NaN.
    """
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    differences = a[keep] - b[keep]
    n = int(len(differences))
    if n < 2:
        return float("nan"), float("nan"), n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = float(np.mean(differences) / (np.std(differences, ddof=1) / math.sqrt(n)))
    p = float(2 * stats.t.sf(abs(t), n - 1)) if not math.isnan(t) else float("nan")
    return t, p, n


def significance_mark(p: float) -> str:
    """A p-value as the tables mark it.

    Args:
        p: the p-value, or None / NaN.

    Returns:
        ``***`` p<0.001, ``**`` p<0.01, ``*`` p<0.05, ``n.s.`` otherwise, ``""`` when p is None or NaN.
    """
    if p is None or not np.isfinite(p):
        return ""
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return "n.s."


def compare_methods(errors: dict[str, np.ndarray], reference: str = RECURRENT) -> list[dict]:
    """Compare methods on the same points: one row per method with n, mean, SEM, median and the paired
    test of ``reference`` vs that method.

    Args:
        errors: method -> (N,) per-point errors (px), aligned (point i is the same point for every
            method); points missing (NaN) for any method are dropped so every method rests on the same n.
        reference: the method every other is tested against (no test when it is not among them).

    Returns:
        Rows (dicts) in the order of ``errors``: method, n, mean_px, sem_px, median_px,
        ``t_<reference>_vs_method``, ``p_<reference>_vs_method``, significance and best (the lowest mean).
    """
    names = list(errors)
    stacked = np.stack([np.asarray(errors[m], float) for m in names]) if names else np.zeros((0, 0))
    keep = np.isfinite(stacked).all(axis=0) if stacked.size else np.zeros(0, bool)
    stacked = stacked[:, keep] if stacked.size else stacked
    means = {m: float(np.mean(stacked[i])) if stacked.shape[1] else float("nan") for i, m in enumerate(names)}
    finite = {m: v for m, v in means.items() if np.isfinite(v)}
    best = min(finite, key=finite.get) if finite else None
    rows = []
    for i, method in enumerate(names):
        values = stacked[i]
        if method != reference and reference in errors:
            t, p, _ = paired_ttest(stacked[names.index(reference)], values)
        else:
            t, p = float("nan"), float("nan")
        rows.append(
            {
                "method": method,
                "n": int(len(values)),
                "mean_px": means[method],
                "sem_px": sem(values),
                "median_px": float(np.median(values)) if len(values) else float("nan"),
                f"t_{reference}_vs_method": t,
                f"p_{reference}_vs_method": p,
                "significance": significance_mark(p),
                "best": method == best,
            }
        )
    return rows
