"""Build the student's training set: windows of consecutive frames labelled by the teacher.

For each video, windows of ``window_length`` frames are sampled (seeded) inside contiguous blocks
of the timeline, and whole blocks are assigned to train or test, so no test frame ever sits in a
training window. Every frame of a window gets the teacher's points as targets, and a hand label on
that frame replaces the teacher. A point under the project's pcutoff is masked out of the loss,
unless it lies in a run of at most ``max_gap_fill`` such frames between confident ones: those are
interpolated (``max_gap_fill=0`` masks them all, as the paper did).
Frames are read once, cropped (and optionally scaled), and stored as uint8 ``.npy`` files that
training memory-maps; confidence maps are rendered during training, never stored.

    spec.py      the targets and TrainingSet, load_training_set (the spec: dlc_recurrent.config)
    targets.py   teacher + hand labels -> targets, gap filling, stored coordinates
    windows.py   windows sampled in whole train or test blocks
    records.py   what a set was built from, to skip or explain rebuilds
    build.py     create_training_set

Layout of a training set folder::

    trainingset.yaml            what it was built from and with (TrainingSetSpec + summary)
    windows.csv                 one row per window: video, first_row, first_frame, split
    video000_frames.npy         (rows, height, width, channels) uint8, the frames windows use
    video000_targets.npz        frame (rows,), xy (rows, K, 2), weight (rows, K), source (rows, K)
"""

from dlc_recurrent.distill.build import create_training_set, live_trainer_locks
from dlc_recurrent.distill.records import built_with, training_set_fingerprint
from dlc_recurrent.distill.spec import (
    GAP_FILLED,
    HAND_LABEL,
    MASKED,
    TEACHER,
    TrainingSet,
    VideoTargets,
    load_training_set,
)
from dlc_recurrent.distill.targets import combine_targets, short_gaps, to_stored_coordinates
from dlc_recurrent.distill.windows import sample_windows

__all__ = [
    "create_training_set",
    "live_trainer_locks",
    "built_with",
    "training_set_fingerprint",
    "GAP_FILLED",
    "HAND_LABEL",
    "MASKED",
    "TEACHER",
    "TrainingSet",
    "VideoTargets",
    "load_training_set",
    "combine_targets",
    "short_gaps",
    "to_stored_coordinates",
    "sample_windows",
]
