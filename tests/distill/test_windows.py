"""Windows and the train/test split (dlc_recurrent.distill.windows)."""

import numpy as np

from dlc_recurrent.config import TrainingSetSpec
from dlc_recurrent.distill import sample_windows


def test_windows_never_share_frames_across_the_split():
    rng = np.random.default_rng(0)
    weight = np.ones((1000, 3))
    weight[100:200] = 0
    spec = TrainingSetSpec(window_length=15, windows_per_video=250)
    starts, splits = sample_windows(weight, spec, 0.8, np.array([14, 500]), rng)
    frames = {split: set() for split in ("train", "test")}
    for start, split in zip(starts, splits):
        frames[split].update(range(start, start + 15))
        assert weight[start : start + 15].any(), "window without any target"
    assert frames["train"] and frames["test"]
    assert not frames["train"] & frames["test"]
    assert 0 in starts and 486 in starts  # windows holding the hand-labelled frames
    assert 0.6 < np.mean(splits == "train") < 0.95
    assert starts.min() >= 0 and starts.max() <= 1000 - 15


def test_window_sampling_is_seeded():
    weight = np.ones((500, 2))
    spec = TrainingSetSpec(window_length=15, windows_per_video=40)
    first = sample_windows(weight, spec, 0.8, np.array([], int), np.random.default_rng(5))
    again = sample_windows(weight, spec, 0.8, np.array([], int), np.random.default_rng(5))
    other = sample_windows(weight, spec, 0.8, np.array([], int), np.random.default_rng(6))
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
