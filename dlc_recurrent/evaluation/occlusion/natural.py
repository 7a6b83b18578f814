"""Natural occlusion: runs of frames where the teacher is unsure of a body part (or, on synthetic
projects, where it is truly hidden), how each method's likelihood tracks its error there, and the
events drawn as figures."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlc_recurrent.evaluation.occlusion.study import Study, StudyVideo
from dlc_recurrent.measures import point_errors
from dlc_recurrent.synthetic import OCCLUDERS


def calibration_table(error_px: np.ndarray, likelihood: np.ndarray, hidden: np.ndarray, within: float = 5.0,
                      bins: int = 10) -> pd.DataFrame:
    """Does the likelihood mean something? Per likelihood bin and for visible and hidden points
    apart: how many predictions, and the fraction within ``within`` pixels of the truth.

    Well-calibrated output has that fraction rise with the likelihood, on hidden points too, so
    that pcutoff keeps right guesses of a hidden paw and drops wrong ones.

    Args:
        error_px: the distance of each prediction to the truth, px (any shape; flattened); NaN ones are
            left out.
        likelihood: each prediction's likelihood, the same shape.
        hidden: bool, the same shape: the point is hidden in the truth.
        within: the distance, px, within which a guess is right.
        bins: equal likelihood bins over [0, 1].

    Returns:
        One row per (points "visible" | "hidden", bin): points, likelihood_from, likelihood_to, n and
        ``fraction_within_<within>px`` (NaN for an empty bin).
    """
    error_px, likelihood, hidden = (np.asarray(a).ravel() for a in (error_px, likelihood, hidden))
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(likelihood, edges[1:-1]), 0, bins - 1)
    rows = []
    for condition, selected in (("visible", ~hidden), ("hidden", hidden)):
        for b in range(bins):
            chosen = selected & (which == b) & np.isfinite(error_px)
            rows.append({"points": condition, "likelihood_from": edges[b], "likelihood_to": edges[b + 1],
                         "n": int(chosen.sum()),
                         f"fraction_within_{within:g}px": (float((error_px[chosen] <= within).mean())
                                                           if chosen.any() else np.nan)})
    return pd.DataFrame(rows)


def truth_points(videos: list[StudyVideo], method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A method's error (px), likelihood and hidden flag on every test point with known truth, flat;
    None without a synthetic truth.

    Args:
        videos: the study's videos, with the method's ``predictions`` filled.
        method: the method's name.

    Returns:
        (error, likelihood, hidden): (N,) float, float and bool over the test frames and body parts of the
        videos with a truth; None when no video has one.
    """
    chosen = [v for v in videos if v.has_truth]
    if not chosen:
        return None
    error = np.concatenate([point_errors(v.predictions[method], v.truth_xy)[v.test].ravel() for v in chosen])
    likelihood = np.concatenate([v.predictions[method][v.test, :, 2].ravel() for v in chosen])
    hidden = np.concatenate([~v.visible[v.test].ravel() for v in chosen])
    return error, likelihood, hidden


def study_calibration(videos: list[StudyVideo], study: Study, within: float = 5.0) -> pd.DataFrame:
    """``calibration_table`` of every method on the test frames with known truth (synthetic projects).

    Args:
        videos: the study's videos, with every method's ``predictions`` filled.
        study: the methods compared.
        within: the distance, px, within which a guess is right.

    Returns:
        :func:`calibration_table`'s rows with a ``method`` column first; empty when no video has a truth.
    """
    tables = []
    for method in study.methods if any(v.has_truth for v in videos) else ():
        table = calibration_table(*truth_points(videos, method), within)
        table.insert(0, "method", method)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def pcutoff_use(error_px: np.ndarray, likelihood: np.ndarray, pcutoff: float,
                within: float = 5.0) -> tuple[float, float]:
    """What pcutoff does to a set of guesses: the fraction of right ones (within ``within`` px) it keeps
    and the fraction of wrong ones it drops (NaN where there are none).

    Args:
        error_px: (N,) float, each guess's distance to the truth, px.
        likelihood: (N,) float, each guess's likelihood.
        pcutoff: the likelihood from which a guess is kept.
        within: the distance, px, within which a guess is right.

    Returns:
        (kept, dropped): the fraction of right guesses at or over pcutoff, and of wrong ones under it.
    """
    right = np.asarray(error_px) <= within
    passing = np.asarray(likelihood) >= pcutoff
    kept = float(passing[right].mean()) if right.any() else float("nan")
    dropped = float((~passing[~right]).mean()) if (~right).any() else float("nan")
    return kept, dropped


def find_natural_events(hidden: np.ndarray, test_blocks: list, max_length: int) -> list[tuple[int, int, int]]:
    """(part, start, stop) of every run of hidden frames of at most ``max_length`` inside a test block.

    Args:
        hidden: (T, K) bool, the frames each body part counts as hidden.
        test_blocks: [first, last] frame ranges (inclusive); a run is cut at a block's ends.
        max_length: the longest run kept, frames.

    Returns:
        (part, start, stop) per run: the body part's index, the run's first frame and the frame after its
        last (end-exclusive).
    """
    events = []
    n_frames = len(hidden)
    for first, last in test_blocks:
        first, last = int(first), min(int(last), n_frames - 1)
        for part in range(hidden.shape[1]):
            flags = np.concatenate([[False], hidden[first : last + 1, part], [False]]).astype(int)
            edges = np.diff(flags)
            for start, stop in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]):
                if stop - start <= max_length:
                    events.append((part, first + int(start), first + int(stop)))
    return events


def natural_events(videos: list[StudyVideo], bodyparts: list[str], pcutoff: float, max_length: int,
                    study: Study) -> pd.DataFrame:
    """Natural occlusions in test frames: teacher under pcutoff, or hidden in the synthetic truth.

    Args:
        videos: the study's videos, with every method's ``predictions`` filled.
        bodyparts: the body parts, in the order of the arrays' K.
        pcutoff: the likelihood under which a teacher point counts as unsure.
        max_length: the longest run of frames that counts as an event.
        study: the methods whose errors are recorded.

    Returns:
        One row per event: video, video_index, bodypart, part, start, stop (inclusive), length,
        teacher_low_frames, truly_hidden_frames (-1 without a truth), occluder (the commonest, "" without
        a truth), reference and ``error_px_<method>`` (mean error on the truly hidden frames; NaN without
        a truth); most truly hidden frames first, then the longest.
    """
    rows = []
    for video in videos:
        low = video.teacher_likelihood < pcutoff
        hidden = low | ~video.visible if video.has_truth else low
        for part, start, stop in find_natural_events(hidden, video.test_blocks, max_length):
            span = slice(start, stop)
            row = {
                "video": video.info.path.name,
                "video_index": video.index,
                "bodypart": bodyparts[part],
                "part": part,
                "start": start,
                "stop": stop - 1,
                "length": stop - start,
                "teacher_low_frames": int(low[span, part].sum()),
                "truly_hidden_frames": int((~video.visible[span, part]).sum()) if video.has_truth else -1,
                "occluder": "",
                "reference": "truth (hidden frames)" if video.has_truth else "none (no ground truth)",
            }
            if video.has_truth:
                codes = video.occluded_by[span, part]
                codes = codes[codes > 0]
                row["occluder"] = OCCLUDERS[int(np.bincount(codes).argmax())] if len(codes) else "none"
                truly = ~video.visible[span, part]
                for method in study.methods:
                    error = point_errors(video.predictions[method][span, part], video.truth_xy[span, part])
                    row[f"error_px_{method}"] = float(error[truly].mean()) if truly.any() else float("nan")
            else:
                for method in study.methods:
                    row[f"error_px_{method}"] = float("nan")
            rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["truly_hidden_frames", "length"], ascending=False, kind="stable")
        table = table.reset_index(drop=True)
    return table


def pick_events(events: pd.DataFrame, count: int) -> pd.DataFrame:
    """The ``count`` events to plot: most truly hidden frames first, different body parts first.

    Args:
        events: :func:`natural_events`' table, in its order.
        count: how many events to pick.

    Returns:
        Up to ``count`` rows of ``events``: the first event of each body part, then the next events in order.
    """
    if events.empty or count <= 0:
        return events.iloc[:0]
    chosen, seen = [], set()
    for index, event in events.iterrows():
        if event.bodypart not in seen:
            chosen.append(index)
            seen.add(event.bodypart)
        if len(chosen) == count:
            break
    for index in events.index:
        if len(chosen) == count:
            break
        if index not in chosen:
            chosen.append(index)
    return events.loc[chosen]
