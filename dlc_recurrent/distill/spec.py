"""What a training set is: how it was sampled (``TrainingSetSpec``, every field with its trade-off), the
per-frame targets of a video, and the built set itself (``TrainingSet``, frames memory-mapped)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import read_yaml
from dlc_recurrent.layout import TRAINING_SET_META

#: Values of the per-point ``source`` array in the targets.
MASKED, TEACHER, HAND_LABEL, GAP_FILLED = 0, 1, 2, 3


@dataclass
class TrainingSetSpec:
    """How a training set is sampled; the defaults are the seed paper's recipe except ``max_gap_fill``.

    Saved in the set's ``trainingset.yaml``; a rebuild with other values replaces the set (and asks
    for ``overwrite=True`` when students were trained on it).
    """

    #: Frames per window, the recurrent student's memory during training (the paper's 15). Longer
    #: windows teach longer occlusions but cost memory and time per step in proportion; analysis
    #: gives every frame at least this much context.
    window_length: int = 15
    #: Windows sampled per video (train and test together). More windows see more of a long video;
    #: a short video gives overlapping windows, so more adds little there.
    windows_per_video: int = 250
    #: Frames per block of the timeline that goes to train or test whole, so no test frame sits in a
    #: training window (0: four windows). Longer blocks keep test frames further from training
    #: frames (a stricter test) but give a coarser split on short videos.
    block_length: int = 0
    #: Resize factor of the stored frames. Below 1 trains and analyzes faster (about scale^2) and
    #: needs less disk, at the cost of fine detail: keep a paw several stored pixels wide.
    scale: float = 1.0
    #: Seeds the window sampling and the train/test split of blocks.
    seed: int = 0
    #: Add a window holding each hand-labelled frame, so every hand label is trained on (or tested
    #: against); off, only the teacher labels the windows.
    include_hand_labeled: bool = True
    #: Which of several teacher h5 files beside a video to use (DLC's scorer name); None picks the
    #: only one, and asks when there are several.
    teacher_scorer: str | None = None
    #: Fill teacher gaps of at most this many frames (under pcutoff, between confident frames) by
    #: linear interpolation instead of masking them, so briefly hidden points get a target. 0: off
    #: (the paper). 12 halved the error on hidden points in benchmarks/occlusion_benchmark.py.
    max_gap_fill: int = 12

    def resolved_block_length(self) -> int:
        """Blocks of the timeline that go to train or test whole (default: 4 windows long)."""
        return self.block_length or 4 * self.window_length

    def validate(self) -> None:
        if self.window_length < 1:
            raise ValueError(f"window_length must be >= 1, got {self.window_length}")
        if self.windows_per_video < 1:
            raise ValueError(f"windows_per_video must be >= 1, got {self.windows_per_video}")
        if self.resolved_block_length() < self.window_length:
            raise ValueError(
                f"block_length ({self.block_length}) must be at least window_length ({self.window_length})"
            )
        if self.max_gap_fill < 0:
            raise ValueError(f"max_gap_fill must be >= 0 frames, got {self.max_gap_fill}")
        if not 0 < self.scale <= 4:
            raise ValueError(f"scale must be in (0, 4], got {self.scale}")


@dataclass
class VideoTargets:
    """Targets of one video on its stored rows (a subset of its frames, in increasing order)."""

    frame: np.ndarray
    xy: np.ndarray
    weight: np.ndarray
    source: np.ndarray


@dataclass
class TrainingSet:
    """A built training set, with its frames memory-mapped (nothing large is loaded)."""

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
        return self.spec.window_length

    def split(self, name: str) -> pd.DataFrame:
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
    """Open a training set built by :func:`create_training_set` (frames stay on disk)."""
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
    """A stored spec with every field (one it lacks takes its default)."""
    known = {f.name for f in fields(TrainingSetSpec)}
    return {**asdict(TrainingSetSpec()), **{k: v for k, v in spec.items() if k in known}}
