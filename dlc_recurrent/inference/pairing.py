"""Two students on one video (``analyze_videos(..., confident_shuffle=...)``).

A student trained on the teacher's confident targets only (the paper's recipe, ``max_gap_fill=0``)
keeps its points where its likelihood reaches ``handoff``, and the main student (gap-filled targets)
gives the rest. Across a short run where the confident student is unsure between two frames where it
is sure, the main student's point moves most of the way to the straight line between those two
positions wherever it lies near the line (the two agree the paw went straight; where it turned, the
main student's point stays). On the occlusion benchmark this kept the paper's accuracy on visible
points and beat post-hoc filtering on hidden ones, for twice the analysis time (benchmarks/RESULTS.md,
"two students with bridges").
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from dlc_recurrent.config import TrainingSetSpec
from dlc_recurrent.distill import built_with, short_gaps
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.inference.student import Student, load_trained_student
from dlc_recurrent.layout import WEIGHTS_NAME, ShuffleLayout
from dlc_recurrent.project import Project

#: likelihood from which a confident student's point is kept over the main student's (measured:
#: benchmarks/RESULTS.md, "two students")
HANDOFF_LIKELIHOOD = 0.8


#: longest run of frames (the confident student unsure) bridged by a straight line; 0 = no bridging.
#: The gaps the default student is trained to fill: the training set's default max_gap_fill.
BRIDGE_MAX_GAP = TrainingSetSpec.max_gap_fill


#: how near the line the main student's point must lie to be replaced, in multiples of the two
#: students' median disagreement where both are sure (chosen on never-trained frames: RESULTS.md)
BRIDGE_TOLERANCE = 14.0


#: how far a bridged point moves from the main student's prediction to the line (1 = onto the line;
#: chosen with BRIDGE_TOLERANCE on never-trained frames: RESULTS.md)
BRIDGE_WEIGHT = 0.75


#: fewer points where both students are sure than this: no bridging (no measure of their agreement)
BRIDGE_MIN_AGREEING = 20


def combine_predictions(predictions: np.ndarray, confident: np.ndarray, handoff: float = HANDOFF_LIKELIHOOD,
                        bridge_max_gap: int = 0, reach: float = 0.0, weight: float = BRIDGE_WEIGHT) -> np.ndarray:
    """Two students' points of one video combined, point by point: ``confident``'s prediction (x, y,
    likelihood) where its likelihood is at least ``handoff``, ``predictions``' elsewhere, and short
    unsure runs bridged where the two agree.

    Args:
        predictions: (T, K, 3) float, the main student's x, y and likelihood.
        confident: (T, K, 3) float, the confident student's, of the same frames.
        handoff: the likelihood from which ``confident``'s point is kept.
        bridge_max_gap: in each run of at most this many frames where ``confident`` is under
            ``handoff`` between two frames where it is not, on the frames where ``predictions`` lies
            within ``reach`` of the straight line between its two sure positions, x, y move ``weight``
            of the way from ``predictions``' point to that line (the likelihood stays ``predictions``');
            elsewhere ``predictions``' point stays. 0: no bridging.
        reach: how near the line (px) the main student's point must lie to be moved.
        weight: the share of the way to the line a bridged point moves (1: onto it).

    Returns:
        (T, K, 3) float, the combined points.
    """
    combined = np.where(confident[..., 2:] >= handoff, confident, predictions)
    sure = confident[..., 2] >= handoff
    frames = np.arange(len(combined))
    for part in range(combined.shape[1]):
        gaps = short_gaps(sure[:, part], bridge_max_gap)
        if not gaps.any():
            continue
        line = np.stack([np.interp(frames[gaps], frames[sure[:, part]], confident[sure[:, part], part, axis])
                         for axis in range(2)], axis=-1)
        points = predictions[gaps, part, :2]
        near = np.hypot(*(points - line).T) <= reach
        combined[frames[gaps][near], part, :2] = (points + weight * (line - points))[near]
    return combined


def combine_students(predictions: np.ndarray, confident: np.ndarray, handoff: float = HANDOFF_LIKELIHOOD,
                     bridge_max_gap: int = BRIDGE_MAX_GAP, tolerance: float = BRIDGE_TOLERANCE,
                     weight: float = BRIDGE_WEIGHT) -> tuple[np.ndarray, float]:
    """Two students' points of one video as analyze_videos combines them: ``combine_predictions`` with
    the reach of :func:`bridge_reach` on these points.

    Args:
        predictions: (T, K, 3) float, the main student's x, y and likelihood.
        confident: (T, K, 3) float, the confident student's, of the same frames.
        handoff: the likelihood from which ``confident``'s point is kept.
        bridge_max_gap: the longest unsure run bridged; 0: no bridging.
        tolerance: the reach in multiples of the students' median disagreement (:func:`bridge_reach`).
        weight: the share of the way to the line a bridged point moves.

    Returns:
        (combined, reach): (T, K, 3) float, the combined points, and the reach used (px; 0 without
        bridging).
    """
    reach = bridge_reach(predictions, confident, handoff, tolerance) if bridge_max_gap > 0 else 0.0
    return combine_predictions(predictions, confident, handoff, bridge_max_gap, reach, weight), reach


def bridged_points(combined: np.ndarray, predictions: np.ndarray, confident: np.ndarray,
                   handoff: float = HANDOFF_LIKELIHOOD) -> int:
    """How many points of ``combine_predictions(predictions, confident, handoff, ...)`` a bridge moved
    (recorded per video in the output's meta).

    Args:
        combined: (T, K, 3) float, the combined points.
        predictions: (T, K, 3) float, the main student's.
        confident: (T, K, 3) float, the confident student's.
        handoff: the handoff the combination used.

    Returns:
        The count of points where ``confident`` is under ``handoff`` (so the handoff kept
        ``predictions``) and x, y differ from ``predictions``'.
    """
    unsure = confident[..., 2] < handoff
    return int(np.count_nonzero(unsure & (combined[..., :2] != predictions[..., :2]).any(-1)))


def bridge_reach(predictions: np.ndarray, confident: np.ndarray, handoff: float = HANDOFF_LIKELIHOOD,
                 tolerance: float = BRIDGE_TOLERANCE) -> float:
    """How near a bridge's line the main student must be, from how well the two students agree on
    this video (so it follows the video's scale and how well the students were trained).

    Args:
        predictions: (T, K, 3) float, the main student's x, y and likelihood.
        confident: (T, K, 3) float, the confident student's.
        handoff: the likelihood both must reach for a point to count as agreed on.
        tolerance: the multiple of the median disagreement.

    Returns:
        ``tolerance`` x the two students' median distance (px) on the points where both pass
        ``handoff``; 0 (no bridging) with fewer than BRIDGE_MIN_AGREEING such points.
    """
    both = (predictions[..., 2] >= handoff) & (confident[..., 2] >= handoff)
    if np.count_nonzero(both) < BRIDGE_MIN_AGREEING:
        return 0.0
    return float(tolerance * np.median(np.hypot(*(predictions[both, :2] - confident[both, :2]).T)))


def check_pair(students: list[Student]) -> None:
    """Two students share one decoded stream: the same frames (scale, channels), body parts and segments.

    Args:
        students: the main student, then the confident one (fewer than two: nothing to check).

    Raises:
        ProjectError: the two were trained with another scale, channels or body parts (retrain one with the
            other's setting), the recurrent ones have different segments (``state_reset``), or a
            bidirectional one would run without segments.
    """
    if len(students) < 2:
        return
    first, second = students
    for key in ("scale", "channels", "bodyparts"):
        if getattr(first.config, key) != getattr(second.config, key):
            raise ProjectError(
                f"{second.folder}: this student was trained with {key} {getattr(second.config, key)}, the main "
                f"student ({first.folder}) with {getattr(first.config, key)}; two students analyze a video together "
                "only if they read the same frames: retrain one with the other's setting")
    segments = [s.state_reset for s in students if s.config.recurrent]
    if len(set(segments)) > 1:  # one stream would carry its state past the frames both have predicted
        raise ProjectError(f"both recurrent students must use the same state_reset (segments), got {segments}")
    if any(s.bidirectional and s.state_reset <= 0 for s in students):
        raise ProjectError("a bidirectional student analyzes in segments: state_reset must be > 0 for both "
                           f"students, got {segments[0]}")


@dataclass(frozen=True)
class Pairing:
    """analyze_videos' second student, as its four options. No shuffle: one student.

    Attributes:
        shuffle: the training-set number of a student trained on the teacher's confident targets only
            (``max_gap_fill=0``); None for no second student.
        model: its model kind; None: the main student's.
        handoff: the likelihood from which its points replace the main student's.
        bridge_max_gap: the longest run of frames bridged where it is unsure; None: BRIDGE_MAX_GAP, 0: no
            bridging.
    """

    shuffle: int | None = None
    model: str | None = None
    handoff: float = HANDOFF_LIKELIHOOD
    bridge_max_gap: int | None = None

    @property
    def max_gap(self) -> int:
        """The longest run bridged: ``bridge_max_gap``, or BRIDGE_MAX_GAP when it is None."""
        return BRIDGE_MAX_GAP if self.bridge_max_gap is None else int(self.bridge_max_gap)

    def check(self, shuffle: int, model: str) -> None:
        """One-line errors for options that cannot work together with the main student (``shuffle``, ``model``)."""
        if self.shuffle is None:
            if self.model is not None or self.handoff != HANDOFF_LIKELIHOOD or self.bridge_max_gap is not None:
                raise ProjectError("confident_model, handoff and bridge_max_gap only apply with confident_shuffle (the "
                                   "shuffle of a student trained with max_gap_fill=0); pass it too, or drop them")
            return
        if (self.shuffle, self.model or model) == (shuffle, model):
            raise ProjectError(f"confident_shuffle={self.shuffle} names the main student itself ({model}, "
                               f"shuffle {shuffle}); name the shuffle trained with max_gap_fill=0")
        if not 0 < self.handoff <= 1:
            raise ProjectError(f"handoff must be a likelihood in (0, 1], got {self.handoff}")
        gap = self.bridge_max_gap
        if gap is not None and (isinstance(gap, bool) or not isinstance(gap, (int, np.integer)) or gap < 0):
            raise ProjectError(f"bridge_max_gap must be a whole number of frames >= 0 (0: no bridging), got {gap!r}")


def load_confident(project: Project, student: Student, shuffle: int, trainingsetindex: int, model: str,
                   state_reset: int | None, pairing: Pairing, policy: str = "float32") -> Student | None:
    """The second student of analyze_videos (None without ``pairing.shuffle``), checked against the first.

    Warns when the second student's training set fills teacher gaps (it should not: ``max_gap_fill=0``).

    Args:
        project: the DLC project.
        student: the main student, already loaded.
        shuffle: the main student's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        model: the main student's model kind.
        state_reset: frames per ConvLSTM segment asked for; a recurrent main student's own segments win, so
            that both share one stream.
        pairing: the second student's options.
        policy: the Keras dtype policy it computes in.

    Returns:
        The second student, or None when ``pairing`` names no shuffle.

    Raises:
        ProjectError: options that do not fit together (see ``Pairing.check``), no trained student for the
            confident shuffle (build and train it), or one that cannot share the main student's stream.
    """
    pairing.check(shuffle, model)
    if pairing.shuffle is None:
        return None
    confident_shuffle, confident_model = pairing.shuffle, pairing.model or model
    segments = student.state_reset if student.config.recurrent else state_reset  # one stream: the same segments
    folder = ShuffleLayout.resolve(project, confident_shuffle, trainingsetindex).train_folder(confident_model)
    if not (folder / WEIGHTS_NAME).is_file():
        raise ProjectError(
            f"{folder}: no trained {confident_model} student for confident_shuffle={confident_shuffle}; build and "
            f"train it: create_training_set(config, shuffle={confident_shuffle}, max_gap_fill=0), then "
            f"train(config, shuffle={confident_shuffle}, model={confident_model!r})")
    confident = load_trained_student(project, confident_shuffle, trainingsetindex, confident_model, segments, policy)
    check_pair([student, confident])
    spec = built_with(project, confident_shuffle, trainingsetindex)
    if spec is not None and spec.get("max_gap_fill", 0) > 0:
        warnings.warn(f"shuffle {confident_shuffle}'s training set fills teacher gaps (max_gap_fill="
                      f"{spec['max_gap_fill']}); the confident student is meant to learn the teacher's confident "
                      f"targets only: create_training_set(config, shuffle={confident_shuffle}, max_gap_fill=0, "
                      "overwrite=True) and train it again", stacklevel=3)
    return confident


def combination(confident: Student | None, pairing: Pairing) -> dict | None:
    """How a second student took part (recorded in the output's meta), None when it did not.

    Args:
        confident: the second student, or None.
        pairing: its options.

    Returns:
        shuffle, model, handoff, bridge_max_gap, bridge_tolerance, bridge_weight, state_reset (None for a
        single-frame student) and model_folder; None without a second student.
    """
    if confident is None:
        return None
    return {"shuffle": pairing.shuffle, "model": confident.config.model, "handoff": float(pairing.handoff),
            "bridge_max_gap": pairing.max_gap, "bridge_tolerance": BRIDGE_TOLERANCE,
            "bridge_weight": BRIDGE_WEIGHT,
            "state_reset": confident.state_reset if confident.config.recurrent else None,
            "model_folder": str(confident.folder)}


def same_combination(recorded: dict | None, requested: dict | None) -> bool:
    """Same second student (shuffle, model), handoff and bridging; where the project lies does not matter.

    Args:
        recorded: the :func:`combination` an earlier output recorded, or None.
        requested: this call's, or None.

    Returns:
        Whether both are None, or both name the same shuffle, model, handoff and bridging (outputs recorded
        before bridging count as unbridged).
    """
    if recorded is None or requested is None:
        return recorded == requested
    return _bridging(recorded) == _bridging(requested) and all(
        recorded.get(key) == requested[key] for key in ("shuffle", "model", "handoff"))


def _bridging(combination: dict) -> tuple:
    """(max gap, tolerance, weight), or (0, None, None) without bridges (outputs written before bridging
    had none; those of the first version moved points all the way, weight 1)."""
    max_gap = combination.get("bridge_max_gap", 0)
    if not max_gap:
        return 0, None, None
    return max_gap, combination.get("bridge_tolerance"), combination.get("bridge_weight", 1.0)


def describe_combination(combination: dict | None) -> str:
    """How an output's points were made, in words (for "already analyzed" messages).

    Args:
        combination: a :func:`combination` record, or None.

    Returns:
        E.g. "by the main student alone", or "with the confident student of shuffle 2 (leap, handoff 0.8,
        no bridging)".
    """
    if combination is None:
        return "by the main student alone"
    max_gap, tolerance, weight = _bridging(combination)
    bridging = (f"gaps up to {max_gap} frames bridged, tolerance {tolerance}, weight {weight}" if max_gap
                else "no bridging")
    return (f"with the confident student of shuffle {combination.get('shuffle')} ({combination['model']}, "
            f"handoff {combination['handoff']}, {bridging})")
