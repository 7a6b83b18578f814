"""The scene in reference coordinates (a 336 x 280 side view of a mouse on a wheel): body parts,
limbs, drawing layers and what occludes what; and the ground truth saved beside each video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dlc_recurrent.fileio import atomic_write

BODYPARTS = ["forepaw_near", "forepaw_far", "hindpaw_near", "hindpaw_far", "tailbase", "tailmid"]
SKELETON = [["tailbase", "tailmid"], ["forepaw_near", "hindpaw_near"], ["forepaw_far", "hindpaw_far"]]
OCCLUDERS = ("none", "tail", "bar", "limb", "body")
"""Codes of ``GroundTruth.occluded_by``: what covers a body part's centre on a frame."""
GROUND_TRUTH_SUFFIX = "_groundtruth.npz"

REF_W, REF_H = 336.0, 280.0
WHEEL_R = 420.0
WHEEL_CX, WHEEL_TOP = 168.0, 205.0
RIM_DEPTH = 7.0
DUTY = 0.62
STRIDE_LENGTH = 62.0
NEAR_PAW_R, FAR_PAW_R = 4.5, 3.2
FAR_LIFT = 4.0
TAIL_WIDTH = (10.0, 4.0)
BAR_COVER = 9.0
BAR_RAMP, TAIL_RAMP = 5, 3
TAIL_SAMPLES = np.linspace(0.0, 1.0, 25)


@dataclass(frozen=True)
class Limb:
    """One leg of the scene, in reference coordinates: where its paw strides and how it is drawn.

    Attributes:
        name: the paw's body part.
        neutral_x: the middle of the paw's stride, reference x.
        phase: its offset in the gait cycle (0 or 0.5: diagonal pairs move together).
        near: on the camera's side of the body (drawn in front of it).
        fore: a forelimb (a hind limb otherwise).
        anchor: the shoulder or hip, reference (x, y).
        segments: the upper and lower segments' lengths.
        bend: which side the elbow or knee bends to (-1 or 1).
    """

    name: str
    neutral_x: float
    phase: float
    near: bool
    fore: bool
    anchor: tuple[float, float]
    segments: tuple[float, float]
    bend: float


LIMBS = (
    Limb("forepaw_near", 214.0, 0.0, True, True, (206.0, 150.0), (30.0, 30.0), -1.0),
    Limb("forepaw_far", 221.0, 0.5, False, True, (214.0, 146.0), (30.0, 30.0), -1.0),
    Limb("hindpaw_near", 128.0, 0.5, True, False, (126.0, 158.0), (33.0, 33.0), -1.0),
    Limb("hindpaw_far", 135.0, 0.0, False, False, (133.0, 154.0), (33.0, 33.0), -1.0),
)
COUNTERPART = {0: 1, 1: 0, 2: 3, 3: 2, 4: 5, 5: 4}

# Drawing layers, back to front: far limbs (2, 3: far paws), body, near limbs (6, 7: near paws), tail, bar.
ID_BACKGROUND, ID_FAR_LIMB, ID_BODY, ID_NEAR_LIMB, ID_TAIL, ID_BAR = 0, 1, 4, 5, 8, 9
PART_IDS = (6, 2, 7, 3, ID_TAIL, ID_TAIL)
ID_TO_OCCLUDER = np.zeros(16, dtype=np.int8)
ID_TO_OCCLUDER[[ID_FAR_LIMB, 2, 3, ID_NEAR_LIMB, 6, 7]] = OCCLUDERS.index("limb")
ID_TO_OCCLUDER[ID_BODY] = OCCLUDERS.index("body")
ID_TO_OCCLUDER[ID_TAIL] = OCCLUDERS.index("tail")
ID_TO_OCCLUDER[ID_BAR] = OCCLUDERS.index("bar")


@dataclass(frozen=True)
class GroundTruth:
    """True pose of one synthetic video, in DeepLabCut's pixel convention (x = column, y = row).

    Attributes:
        xy: (n_frames, K, 2) float, the true positions, full-frame pixels.
        visible: (n_frames, K) bool, False where an occluder covers the part's centre.
        bodyparts: the body parts, in the order of K.
        fps: the video's frames per second.
        occluded_by: (n_frames, K) int8, what covers the part: an index into ``OCCLUDERS`` (0 where visible).
    """

    xy: np.ndarray
    visible: np.ndarray
    bodyparts: list[str]
    fps: float
    occluded_by: np.ndarray

    @property
    def frame_count(self) -> int:
        """Frames of the video (rows of ``xy``)."""
        return int(self.xy.shape[0])


def ground_truth_path(video_path: str | Path) -> Path:
    """Where the ground truth of a synthetic video lives: ``<video stem>_groundtruth.npz`` beside it.

    Args:
        video_path: the synthetic video.

    Returns:
        The ``.npz`` path (it may not exist).
    """
    video_path = Path(video_path)
    return video_path.with_name(video_path.stem + GROUND_TRUTH_SUFFIX)


def read_ground_truth(video_path: str | Path) -> GroundTruth:
    """Load the ground truth saved beside a synthetic video, to judge predictions of it.

    Args:
        video_path: the synthetic video.

    Returns:
        Its truth: xy (T, K, 2) float full-frame pixels, visible (T, K) bool, occluded_by (T, K) int8
        (an index into ``OCCLUDERS``), the body parts and fps.

    Raises:
        FileNotFoundError: the video has no ground truth (it is not synthetic).
    """
    path = ground_truth_path(video_path)
    if not path.is_file():
        raise FileNotFoundError(f"No ground truth file {path} for video {video_path} (only synthetic videos have one).")
    with np.load(path, allow_pickle=False) as data:
        return GroundTruth(
            xy=data["xy"],
            visible=data["visible"],
            bodyparts=[str(b) for b in data["bodyparts"]],
            fps=float(data["fps"]),
            occluded_by=data["occluded_by"],
        )


def write_ground_truth(video_path: Path, truth: GroundTruth) -> Path:
    """Save a synthetic video's truth beside it (atomically), where :func:`read_ground_truth` finds it.

    Args:
        video_path: the synthetic video.
        truth: its truth (xy (T, K, 2), visible (T, K), occluded_by (T, K), body parts, fps).

    Returns:
        The ``.npz`` written.
    """
    path = ground_truth_path(video_path)
    atomic_write(
        path,
        lambda tmp: np.savez(
            tmp,
            xy=truth.xy,
            visible=truth.visible,
            bodyparts=np.array(truth.bodyparts),
            fps=np.float64(truth.fps),
            occluded_by=truth.occluded_by,
            occluder_names=np.array(OCCLUDERS),
        ),
    )
    return path
