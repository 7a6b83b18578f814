"""Sampling windows inside whole train or test blocks of the timeline, so no test frame ever sits in a
training window."""

from __future__ import annotations

import numpy as np

from dlc_recurrent.config import TrainingSetSpec


def sample_windows(
    weight: np.ndarray,
    spec: TrainingSetSpec,
    fraction: float,
    hand_frames: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Window start frames and their split ("train"/"test"), sampled inside train or test blocks.

    Blocks of the timeline go to test with probability 1 - ``fraction`` (at least one each way
    when possible); windows never straddle a block, so train and test windows share no frame.
    Windows without any confident point are dropped; a window holding each hand-labelled frame
    (ending on it where the block allows) is added so every hand label is trained on or tested against.

    Args:
        weight: (T, K) float, the video's target weights (a frame with any nonzero weight has a target).
        spec: the training set's spec (window_length, windows_per_video, block length,
            include_hand_labeled).
        fraction: the share of blocks (and windows) that go to train, DLC's TrainingFraction.
        hand_frames: (H,) int, the hand-labelled frames.
        rng: the seeded generator that draws blocks and windows.

    Returns:
        (starts, splits): (W,) int, the sorted, unique first frame of each window, and (W,) str, its
        split ("train" or "test").
    """
    n_frames = len(weight)
    length, block = spec.window_length, spec.resolved_block_length()
    n_blocks = max(1, n_frames // block)
    block_of_frame = np.minimum(np.arange(n_frames) // block, n_blocks - 1)
    is_test_block = _assign_test_blocks(n_blocks, fraction, rng)

    starts = np.arange(n_frames - length + 1)
    same_block = block_of_frame[starts] == block_of_frame[starts + length - 1]
    has_target = np.convolve(weight.any(axis=1).astype(int), np.ones(length, int), "valid") > 0
    usable = starts[same_block & has_target]
    in_test = is_test_block[block_of_frame[usable]]

    n_test = int(round(spec.windows_per_video * (1 - fraction)))
    chosen = [
        _choose(usable[~in_test], spec.windows_per_video - n_test, rng),
        _choose(usable[in_test], n_test, rng),
    ]
    if spec.include_hand_labeled and len(hand_frames):
        chosen.append(np.intersect1d(_windows_holding(hand_frames, block_of_frame, length, block), usable))
    starts = np.unique(np.concatenate(chosen)).astype(int)
    splits = np.where(is_test_block[block_of_frame[starts]], "test", "train")
    return starts, splits


def _windows_holding(frames: np.ndarray, block_of_frame: np.ndarray, length: int, block: int) -> np.ndarray:
    """For each frame, the start of a window inside its block that holds it (ending on it if possible)."""
    block_first = block_of_frame[frames] * block
    in_final_block = block_of_frame[frames] == block_of_frame[-1]
    last = np.where(in_final_block, len(block_of_frame) - 1, block_first + block - 1)
    return np.minimum(np.maximum(frames - length + 1, block_first), last - length + 1)


def _assign_test_blocks(n_blocks: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    n_test = int(round(n_blocks * (1 - fraction)))
    if fraction < 1 and n_blocks >= 2:
        n_test = min(max(n_test, 1), n_blocks - 1)
    is_test = np.zeros(n_blocks, bool)
    is_test[rng.permutation(n_blocks)[:n_test]] = True
    return is_test


def _choose(candidates: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0 or not len(candidates):
        return np.array([], dtype=int)
    return rng.choice(candidates, size=min(count, len(candidates)), replace=False)


def test_block_ranges(n_frames: int, spec: TrainingSetSpec, splits: np.ndarray, starts: np.ndarray) -> list[list[int]]:
    """Frame ranges [first, last] of the test blocks holding test windows (for evaluation).

    Args:
        n_frames: frames in the video.
        spec: the training set's spec (its block length).
        splits: (W,) str, each window's split ("train" or "test"), as :func:`sample_windows` returns.
        starts: (W,) int, each window's first frame.

    Returns:
        One [first, last] pair of video frames (inclusive) per test block holding a test window, in block
        order; the last block runs to the video's last frame.
    """
    block = spec.resolved_block_length()
    n_blocks = max(1, n_frames // block)
    ids = np.unique(np.minimum(starts[splits == "test"] // block, n_blocks - 1))
    return [[int(b * block), int(n_frames - 1 if b == n_blocks - 1 else (b + 1) * block - 1)] for b in ids]
