"""What a training set is: how it was sampled (``TrainingSetSpec``, every field with its trade-off), the
per-frame targets of a video, and the built set itself (``TrainingSet``, frames memory-mapped)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.config import TrainingSetSpec
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import read_yaml
from dlc_recurrent.layout import TRAINING_SET_META

#: Values of the per-point ``source`` array in the targets.
MASKED, TEACHER, HAND_LABEL, GAP_FILLED = 0, 1, 2, 3


@dataclass
class VideoTargets:
    """Targets of one video on its stored rows (a subset of its frames, in increasing order).

    Attributes:
        frame: (N,) int, the video frame of each row.
        xy: (N, K, 2) float, the target positions (full-frame pixels until
            :func:`~dlc_recurrent.distill.to_stored_coordinates`, stored-frame pixels after); meaningless
            where the weight is 0.
        weight: (N, K) float, the loss weight of each point: 1, or 0 where masked.
        source: (N, K) int8, where each point comes from: MASKED, TEACHER, HAND_LABEL or GAP_FILLED.
    """

    frame: np.ndarray
    xy: np.ndarray
    weight: np.ndarray
    source: np.ndarray


@dataclass
class TrainingSet:
    """A built training set, with its frames memory-mapped (nothing large is loaded).

    Attributes:
        folder: the training set's folder.
        spec: how it was sampled (its ``trainingset.yaml``).
        bodyparts: the config.yaml body parts, in the order of the targets' K.
        channels: 1 for grey video, 3 for colour.
        videos: one record per video, in the order of ``frames`` and ``targets``: its path, teacher file
            and scorer, n_frames, fps, frame_size, crop, stored_size, train and test windows, test_blocks
            ([first, last] frame ranges), hand-labelled frames and masked fraction.
        windows: one row per window: ``video`` (index into ``frames``), ``first_row`` (its first stored row),
            ``first_frame`` (its first video frame) and ``split`` ("train" or "test").
        frames: per video, (rows, H, W, C) uint8, the stored frames the windows need, memory-mapped.
        targets: per video, the targets of those rows (:class:`VideoTargets`, stored-frame pixels).
    """

    folder: Path
    spec: TrainingSetSpec
    bodyparts: list[str]
    channels: int
    videos: list[dict]
    windows: pd.DataFrame
    frames: list[np.ndarray] = field(repr=False)
    targets: list[VideoTargets] = field(repr=False)

    @property
    def window_length(self) -> int:
        """Frames per window (the spec's)."""
        return self.spec.window_length

    def split(self, name: str) -> pd.DataFrame:
        """The windows of split ``name`` ("train" or "test"), renumbered from 0."""
        return self.windows[self.windows.split == name].reset_index(drop=True)

    def max_frame_shape(self) -> tuple[int, int]:
        """Height and width every batch is padded to: the largest stored frame, up to a multiple of 4."""
        height = max(f.shape[1] for f in self.frames)
        width = max(f.shape[2] for f in self.frames)
        return -(-height // 4) * 4, -(-width // 4) * 4

    def window(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frames (T, H, W, C) uint8, target xy (T, K, 2) and weights (T, K) of window ``row``."""
        entry = self.windows.iloc[row]
        video, first = int(entry.video), int(entry.first_row)
        rows = slice(first, first + self.window_length)
        targets = self.targets[video]
        return np.asarray(self.frames[video][rows]), targets.xy[rows], targets.weight[rows]


def load_training_set(folder: str | Path) -> TrainingSet:
    """Open a training set built by :func:`create_training_set` (frames stay on disk).

    Args:
        folder: the training set's folder (``layout.training_set_folder``).

    Returns:
        The set: its spec, body parts, channels, video records and windows table, each video's frames
        memory-mapped as (rows, H, W, C) uint8 and its targets (:class:`VideoTargets`, stored-frame pixels).

    Raises:
        ProjectError: there is no set in ``folder``, or any of its files is damaged or missing.
    """
    folder = Path(folder)
    meta_path = folder / TRAINING_SET_META
    if not meta_path.is_file():
        raise ProjectError(f"{folder}: no training set here; run dlc_recurrent.create_training_set(config) first")
    reading = meta_path
    try:
        meta = read_yaml(meta_path)
        spec = TrainingSetSpec(**saved_spec(meta["request"]["spec"]))
        frames, targets = [], []
        for index in range(len(meta["videos"])):
            reading = folder / f"video{index:03d}_frames.npy"
            frames.append(np.load(reading, mmap_mode="r"))
            reading = folder / f"video{index:03d}_targets.npz"
            with np.load(reading) as data:
                targets.append(VideoTargets(**{key: data[key] for key in data.files}))
        reading = folder / "windows.csv"
        windows = pd.read_csv(reading)
        if not {"video", "first_row", "split"} <= set(windows.columns):
            raise ValueError("columns video, first_row, split missing")
        return TrainingSet(folder=folder, spec=spec, bodyparts=list(meta["bodyparts"]), channels=int(meta["channels"]),
                           videos=meta["videos"], windows=windows, frames=frames, targets=targets)
    except Exception as error:  # any damage (cut short, garbled, missing), reported as one line
        if isinstance(error, ProjectError):
            raise
        raise ProjectError(
            f"{reading}: damaged or missing ({type(error).__name__}: {' '.join(str(error).split())[:120]}); rebuild "
            "the training set with dlc_recurrent.create_training_set(config, shuffle=..., overwrite=True), then "
            "train again"
        ) from None


def saved_spec(spec: dict) -> dict:
    """A stored spec with every field (one it lacks takes its default).

    Args:
        spec: the spec's fields as a training set's record holds them.

    Returns:
        Every TrainingSetSpec field by name: the record's value where it has one, the default otherwise;
        fields this version does not know are dropped.
    """
    known = {f.name for f in fields(TrainingSetSpec)}
    return {**asdict(TrainingSetSpec()), **{k: v for k, v in spec.items() if k in known}}
