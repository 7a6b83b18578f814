"""Artificial occlusion (the paper's Figure 6): test windows whose last frames get squares over body
parts, and each method's error on the last frame as the squares stay on longer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from tqdm import tqdm

from dlc_recurrent._tensorflow import tf
from dlc_recurrent.evaluation.common import Runner, pad_stack
from dlc_recurrent.evaluation.occlusion.baselines import fill_gaps
from dlc_recurrent.evaluation.occlusion.study import DEFAULT_SEED, Study
from dlc_recurrent.evaluation.stats import FILTERED_CAUSAL, LEAP, TWO_STUDENTS, compare_methods
from dlc_recurrent.frames import read_frames, to_full_frame, to_stored_frame
from dlc_recurrent.inference.pairing import combine_predictions


def occluder_side(occluder_size: float, scale: float) -> int:
    """Side in stored (scaled) pixels of a square of ``occluder_size`` full-resolution pixels.

    Args:
        occluder_size: the square's side in full-resolution pixels.
        scale: the training set's resize factor of the stored frames.

    Returns:
        The side in stored pixels, rounded, at least 1.
    """
    return max(1, int(round(occluder_size * scale)))


def square_bounds(x: float, y: float, side: int, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Columns x0:x1 and rows y0:y1 (end-exclusive) of a ``side`` square centred on (x, y).

    Pixel centres sit on integers, so the square's centre ((x0 + x1 - 1) / 2) is within half a
    pixel of (x, y).

    Args:
        x: the centre's column, px.
        y: the centre's row, px.
        side: the square's side, px.
        width: the image's width, px.
        height: the image's height, px.

    Returns:
        (x0, x1, y0, y1), clipped to the image; None when the square falls outside it or (x, y) is NaN.
    """
    if not (np.isfinite(x) and np.isfinite(y)):
        return None
    x0 = int(math.floor(x - (side - 1) / 2 + 0.5))
    y0 = int(math.floor(y - (side - 1) / 2 + 0.5))
    x1, y1 = x0 + side, y0 + side
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, x1, y0, y1


def occlude_window(window: np.ndarray, centres: np.ndarray, length: int, side: int) -> np.ndarray:
    """A copy of ``window`` with black squares on its last ``length`` frames.

    Args:
        window: (T, H, W, C) uint8, the window's frames.
        centres: (T, P, 2) float, the stored-pixel positions to cover on each frame (NaN: no square).
        length: how many of the last frames get squares (0: none).
        side: the squares' side, stored pixels.

    Returns:
        (T, H, W, C), the occluded copy.
    """
    occluded = np.array(window, copy=True)
    steps, height, width = occluded.shape[:3]
    for t in range(steps - length, steps) if length > 0 else ():
        for x, y in np.asarray(centres[t], float).reshape(-1, 2):
            bounds = square_bounds(x, y, side, width, height)
            if bounds is not None:
                x0, x1, y0, y1 = bounds
                occluded[t, y0:y1, x0:x1] = 0
    return occluded


def candidate_starts(test_blocks: list, n_frames: int, window_length: int) -> np.ndarray:
    """First frames of every window of ``window_length`` frames lying inside one test block.

    Args:
        test_blocks: [first, last] frame ranges (inclusive).
        n_frames: frames in the video (a block is cut at its last frame).
        window_length: frames per window.

    Returns:
        (S,) int, the sorted, unique first frames.
    """
    starts = []
    for first, last in test_blocks:
        last = min(int(last), n_frames - 1)
        starts.extend(range(int(first), last - window_length + 2))
    return np.array(sorted(set(starts)), dtype=int)


def select_occlusion_windows(
    confident: list[np.ndarray],
    test_blocks: list[list],
    window_length: int,
    n_windows: int,
    parts: list[int],
    bodyparts: list[str],
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Sample up to ``n_windows`` test windows PER BODY PART (never all parts at once).

    A part counts in a window when ``confident[video][frame, part]`` holds on every frame of the window.
    Each part's sample is drawn without replacement from its own candidates with
    ``numpy.random.default_rng([seed, part])``: independent of training, and of which other parts are studied.

    Args:
        confident: per video, (T, K) bool: the teacher over pcutoff, and visible where the truth is known.
        test_blocks: per video, its test blocks' [first, last] frame ranges (inclusive).
        window_length: frames per window.
        n_windows: the most windows per body part.
        parts: the indices of the body parts studied.
        bodyparts: every body part's name, by index.
        seed: seeds each part's draw.

    Returns:
        One row per (body part, window): bodypart, part, video (index), first_frame, last_frame and
        n_candidates (the part's candidate windows).
    """
    rows = []
    for part in parts:
        candidates = []
        for video, (ok, blocks) in enumerate(zip(confident, test_blocks)):
            starts = candidate_starts(blocks, len(ok), window_length)
            if not len(starts):
                continue
            run = np.convolve(ok[:, part].astype(int), np.ones(window_length, int), "valid")
            good = starts[run[starts] == window_length]
            candidates.extend((video, int(s)) for s in good)
        rng = np.random.default_rng([int(seed), int(part)])
        count = min(n_windows, len(candidates))
        chosen = sorted(candidates[i] for i in rng.choice(len(candidates), size=count, replace=False)) if count else []
        for video, start in chosen:
            rows.append(
                {
                    "bodypart": bodyparts[part],
                    "part": int(part),
                    "video": int(video),
                    "first_frame": start,
                    "last_frame": start + window_length - 1,
                    "n_candidates": len(candidates),
                }
            )
    columns = ["bodypart", "part", "video", "first_frame", "last_frame", "n_candidates"]
    return pd.DataFrame(rows, columns=columns)


def artificial_occlusion(videos, runners, windows, parts, bodyparts, length, lengths, side, scale, channels,
                          pcutoff, progress, study: Study) -> pd.DataFrame:
    """Figure 6's raw errors: one row per (body part, window, occlusion length, method).

    Each window's last ``occlusion`` frames get black squares on every studied body part that is known
    there (visible in the truth, or the teacher over pcutoff); each method's estimate of the part on the
    last frame is compared with the reference position (the truth, else the teacher).

    Args:
        videos: the study's videos.
        runners: a :class:`~dlc_recurrent.evaluation.common.Runner` per student, by method name (LEAP's and
            the study's first two students).
        windows: :func:`select_occlusion_windows`' table.
        parts: the indices of the body parts studied.
        bodyparts: every body part's name, by index.
        length: frames per window.
        lengths: the occlusion lengths to test, frames (0: none).
        side: the squares' side, stored pixels (:func:`occluder_side`).
        scale: the training set's resize factor of the stored frames.
        channels: 1 for grey video, 3 for colour.
        pcutoff: the likelihood from which a teacher point is known (and LEAP's trace is not interpolated).
        progress: show progress bars.
        study: the methods compared.

    Returns:
        Columns bodypart, video, first_frame, window ("video:first_frame"), occlusion_length, method,
        error_px (full-frame pixels) and likelihood.
    """
    rows = []
    for part in tqdm(parts, desc="artificial occlusion (body parts)", disable=not progress):
        chosen = windows[windows.part == part].reset_index(drop=True)
        if chosen.empty:
            continue
        order = chosen.sort_values(["video", "first_frame"], kind="stable").reset_index(drop=True)
        arrays, centres, targets, crops = [], [], [], []
        for video_index, group in order.groupby("video", sort=True):
            video = videos[video_index]
            needed = np.concatenate([np.arange(s, s + length) for s in group.first_frame])
            frames = dict(read_frames(video.info, video.crop, scale, channels, needed))
            reference = video.reference_xy()
            known = video.visible if video.has_truth else video.teacher_likelihood >= pcutoff
            for start in group.first_frame:
                span = np.arange(start, start + length)
                arrays.append(np.stack([frames[f] for f in span]))
                where = np.where(known[span][:, parts, None], reference[span][:, parts], np.nan)
                centres.append(to_stored_frame(where, video.crop, scale))
                targets.append(reference[start + length - 1, part])
                crops.append(video.crop)
        clean = pad_stack(arrays)
        n_windows = len(clean)
        leap_clean = runners[LEAP].frames(clean.reshape(-1, *clean.shape[2:])).reshape(n_windows, length, -1, 3)
        clean_features = {m: runners[m].features(clean) for m in study.students[:2] if runners[m].recurrent}
        for occlusion in tqdm(lengths, desc=f"{bodyparts[part]}: occlusion lengths", leave=False,
                              disable=not progress):
            occluded = np.stack([occlude_window(w, c, occlusion, side) for w, c in zip(clean, centres)])
            trace = leap_clean.copy()
            if occlusion:
                hidden = occluded[:, length - occlusion :]
                trace[:, length - occlusion :] = runners[LEAP].frames(
                    hidden.reshape(-1, *hidden.shape[2:])).reshape(n_windows, occlusion, -1, 3)
            last = {m: _last_peaks(runners[m], clean_features.get(m), occluded, occlusion)
                    for m in study.students[:2]}
            if study.paired:  # the last frame has no frame after it: the handoff alone, no bridge
                last[TWO_STUDENTS] = combine_predictions(last[study.recurrent], last[study.second], study.handoff)
            for i in range(n_windows):
                full_trace = to_full_frame(trace[i, :, part, :2], crops[i], scale)
                held = fill_gaps(full_trace[:, None], trace[i, :, part, 2][:, None], pcutoff)[-1, 0]
                estimates = {
                    LEAP: (full_trace[-1], trace[i, -1, part, 2]),
                    FILTERED_CAUSAL: (held, trace[i, -1, part, 2]),
                    **{m: (to_full_frame(peaks[i, part, :2], crops[i], scale), peaks[i, part, 2])
                       for m, peaks in last.items()},
                }
                entry = order.iloc[i]
                for method, (xy, likelihood) in estimates.items():
                    rows.append(
                        {
                            "bodypart": bodyparts[part],
                            "video": int(entry.video),
                            "first_frame": int(entry.first_frame),
                            "window": f"{int(entry.video)}:{int(entry.first_frame)}",
                            "occlusion_length": int(occlusion),
                            "method": method,
                            "error_px": float(np.hypot(*(xy - targets[i]))),
                            "likelihood": float(likelihood),
                        }
                    )
    columns = ["bodypart", "video", "first_frame", "window", "occlusion_length", "method", "error_px", "likelihood"]
    return pd.DataFrame(rows, columns=columns)


def _last_peaks(runner: Runner, clean_features: tf.Tensor | None, occluded: np.ndarray, occlusion: int) -> np.ndarray:
    """A student's peaks (N, K, 3) on the last frame of windows whose last ``occlusion`` frames are
    occluded: a recurrent student reuses the clean frames' encoder features and encodes only the
    occluded ones; a single-frame student sees the last frame alone."""
    if not runner.recurrent:
        return runner.frames(occluded[:, -1])
    features = clean_features
    if occlusion:
        tail = runner.features(occluded[:, -occlusion:])
        features = tf.concat([clean_features[:, : occluded.shape[1] - occlusion], tail], 1)
    return runner.last_from_features(features)


def occlusion_table(raw: pd.DataFrame, lengths, study: Study) -> pd.DataFrame:
    """Figure 6: per occlusion length, per body part and pooled ("all"), mean/SEM and paired tests.

    Args:
        raw: :func:`artificial_occlusion`'s rows.
        lengths: the occlusion lengths, in the order of the rows.
        study: the occlusion methods compared; its studied method is the reference of each paired test.

    Returns:
        One row per (occlusion length, bodypart | "all", method): occlusion_length, bodypart, n_bodyparts
        and :func:`~dlc_recurrent.evaluation.stats.compare_methods`' columns; empty when ``raw`` is.
    """
    rows = []
    if raw.empty:
        return pd.DataFrame(rows)
    wide = raw.pivot_table(index=["occlusion_length", "bodypart", "window"], columns="method", values="error_px")
    for occlusion in lengths:
        if occlusion not in wide.index.get_level_values(0):
            continue
        at_length = wide.xs(occlusion, level="occlusion_length")
        groups = [("all", at_length), *((bp, at_length.xs(bp, level="bodypart", drop_level=False))
                                         for bp in at_length.index.get_level_values("bodypart").unique())]
        for part, table in groups:
            errors = {m: table[m].to_numpy() for m in study.occlusion_methods if m in table}
            n_parts = table.index.get_level_values("bodypart").nunique()
            for row in compare_methods(errors, study.studied):
                rows.append({"occlusion_length": int(occlusion), "bodypart": part, "n_bodyparts": n_parts, **row})
    return pd.DataFrame(rows)
