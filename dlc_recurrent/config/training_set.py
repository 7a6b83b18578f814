"""``TrainingSetSpec``: how a training set is sampled from the project's videos, saved in the set's
``trainingset.yaml``; plain data, every field explained with its trade-off and checked by
:func:`dlc_recurrent.config.fields.check_fields`."""

from __future__ import annotations

from dataclasses import dataclass

from dlc_recurrent.config.fields import check_fields, number


@dataclass
class TrainingSetSpec:
    """How a training set is sampled; the defaults are the seed paper's recipe except ``max_gap_fill``.

    Saved in the set's ``trainingset.yaml``; a rebuild with other values replaces the set (and asks
    for ``overwrite=True`` when students were trained on it).
    """

    #: Frames per window, the recurrent student's memory during training (the paper's 15). Longer
    #: windows teach longer occlusions but cost memory and time per step in proportion; analysis
    #: gives every frame at least this much context.
    window_length: int = number(15, 1)
    #: Windows sampled per video (train and test together). More windows see more of a long video;
    #: a short video gives overlapping windows, so more adds little there.
    windows_per_video: int = number(250, 1)
    #: Frames per block of the timeline that goes to train or test whole, so no test frame sits in a
    #: training window (0: four windows). Longer blocks keep test frames further from training
    #: frames (a stricter test) but give a coarser split on short videos.
    block_length: int = number(0, 0)
    #: Resize factor of the stored frames. Below 1 trains and analyzes faster (about scale^2) and
    #: needs less disk, at the cost of fine detail: keep a paw several stored pixels wide.
    scale: float = number(1.0, 0, 4, open_low=True)
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
    #: (the paper). The default came from benchmarks/occlusion_benchmark.py (benchmarks/RESULTS.md).
    max_gap_fill: int = number(12, 0)

    def resolved_block_length(self) -> int:
        """Blocks of the timeline that go to train or test whole (default: 4 windows long)."""
        return self.block_length or 4 * self.window_length

    def __post_init__(self):
        check_fields(self)
        if self.resolved_block_length() < self.window_length:
            raise ValueError(
                f"block_length ({self.block_length}) must be at least window_length ({self.window_length})"
            )
