"""The targets of every frame: the teacher's points over pcutoff, hand labels in their place, short
teacher gaps filled by linear interpolation, all moved into the stored (cropped, scaled) frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dlc_recurrent.distill.spec import GAP_FILLED, HAND_LABEL, MASKED, TEACHER, VideoTargets
from dlc_recurrent.frames import Crop, scaled_size, to_stored_frame
from dlc_recurrent.measures import true_runs


def combine_targets(
    teacher_xy: np.ndarray,
    teacher_likelihood: np.ndarray,
    pcutoff: float,
    hand_labels: pd.DataFrame | None,
    max_gap_fill: int = 0,
) -> VideoTargets:
    """Per-frame targets of one video: the teacher above pcutoff, replaced by hand labels where they exist.

    A hand-labelled frame trusts the labeller entirely: a point the labeller left empty (NaN,
    usually because it was not visible) is masked even when the teacher was confident.

    Args:
        teacher_xy: (T, K, 2) float, the teacher's positions in full-frame pixels (NaN: none).
        teacher_likelihood: (T, K) float, the teacher's likelihoods.
        pcutoff: the likelihood from which a teacher point is a target.
        hand_labels: the video's hand labels (:func:`~dlc_recurrent.project.read_hand_labels`: indexed by
            frame, columns (bodyparts, x|y) in the same body-part order), or None; labels of frames past
            T are ignored.
        max_gap_fill: runs of at most this many unsure frames between two confident frames get the
            linear interpolation of the teacher's positions (source GAP_FILLED); 0 masks them.

    Returns:
        Targets for every frame (``frame`` = 0..T-1) in full-frame pixels, weight 1 where source is not
        MASKED.
    """
    n_frames, n_parts = teacher_likelihood.shape
    xy = np.nan_to_num(teacher_xy.astype(np.float64), nan=-1.0)
    confident = (teacher_likelihood >= pcutoff) & ~np.isnan(teacher_xy).any(axis=2)
    source = np.where(confident, TEACHER, MASKED).astype(np.int8)
    frames = np.arange(n_frames)
    for part in range(n_parts):
        gaps = short_gaps(confident[:, part], max_gap_fill)
        if gaps.any():
            for axis in range(2):
                xy[gaps, part, axis] = np.interp(frames[gaps], frames[confident[:, part]],
                                                 xy[confident[:, part], part, axis])
            source[gaps, part] = GAP_FILLED
    if hand_labels is not None:
        labelled = hand_labels[hand_labels.index < n_frames]
        frames = labelled.index.to_numpy()
        label_xy = labelled.to_numpy(float).reshape(len(labelled), n_parts, 2)
        present = ~np.isnan(label_xy).any(axis=2)
        xy[frames] = np.where(present[..., None], label_xy, -1.0)
        source[frames] = np.where(present, HAND_LABEL, MASKED)
    return VideoTargets(
        frame=np.arange(n_frames),
        xy=xy,
        weight=(source != MASKED).astype(np.float32),
        source=source,
    )


def short_gaps(confident: np.ndarray, max_gap: int) -> np.ndarray:
    """Frames in runs of at most ``max_gap`` non-confident frames with a confident frame on each side:
    the gaps short enough to bridge with a straight line.

    Args:
        confident: (T,) bool, whether each frame's point is confident.
        max_gap: the longest run to count; 0 or less finds none.

    Returns:
        (T,) bool, True on the frames of such runs.
    """
    gaps = np.zeros(len(confident), bool)
    if max_gap <= 0:
        return gaps
    for start, stop in true_runs(~np.asarray(confident, bool)):
        if 0 < start and stop < len(confident) and stop - start <= max_gap:
            gaps[start:stop] = True
    return gaps


def to_stored_coordinates(targets: VideoTargets, crop: Crop, scale: float) -> VideoTargets:
    """Move targets into the cropped, scaled frame the training set stores; points outside it are masked.

    Args:
        targets: one video's targets in full-frame pixels (xy (N, K, 2)).
        crop: the video's crop, full-frame pixels.
        scale: the resize factor of the stored frames.

    Returns:
        The same rows with xy (N, K, 2) in stored-frame pixels, and weight and source masked where a
        point lies outside the stored frame.
    """
    xy = to_stored_frame(targets.xy, crop, scale)
    width, height = scaled_size(crop.width, scale), scaled_size(crop.height, scale)
    inside = (xy[..., 0] >= -0.5) & (xy[..., 0] <= width - 0.5) & (xy[..., 1] >= -0.5) & (xy[..., 1] <= height - 0.5)
    source = np.where(inside, targets.source, MASKED).astype(np.int8)
    return VideoTargets(frame=targets.frame, xy=xy, weight=(source != MASKED).astype(np.float32), source=source)
