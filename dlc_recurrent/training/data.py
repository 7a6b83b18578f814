"""The training samples: windows (or frames) streamed from the memory-mapped training set through a
parallel tf.data pipeline, augmented alike over every frame of a window (shift, rotation, zoom,
brightness, contrast, blur, noise, optional occluders)."""

from __future__ import annotations

import cv2
import numpy as np

from dlc_recurrent._tensorflow import tf
from dlc_recurrent.config import PART_TARGETS, TrainingConfig
from dlc_recurrent.distill import GAP_FILLED, TrainingSet


def validation_batch_size(n_samples: int, batch_size: int, replicas: int) -> int:
    """The largest batch, at most ``batch_size``, that gives every device at least one test window in
    every batch, the last one included; 0 when there is none (fewer windows than devices).

    TensorFlow splits each batch among the devices as evenly as it can (checked with TF 2.21: a batch
    of 3 on 2 devices gives 2 + 1, of 2 gives 1 + 1, of 1 gives 1 + nothing), and a device with an
    empty share fails on the CPU ("input depth must be evenly divisible by filter depth"); so 5 test
    windows on 2 devices go in batches of 3 and 2, not 4 and 1.

    Args:
        n_samples: the test samples.
        batch_size: the largest batch wanted.
        replicas: the devices training in parallel.

    Returns:
        The batch size; ``batch_size`` itself on one device.
    """
    if replicas <= 1:
        return batch_size
    for size in range(batch_size, replicas - 1, -1):
        if n_samples % size == 0 or n_samples % size >= replicas:
            return size
    return 0


def training_samples(trainset: TrainingSet, split: str, recurrent: bool) -> np.ndarray:
    """Every sample of a split: whole windows for the recurrent model, frames for LEAP.

    Args:
        trainset: the training set.
        split: "train" or "test".
        recurrent: windows (True) or single frames (False); LEAP's frames are those of the split's
            windows that have a target, each once.

    Returns:
        (N, 2) int64, (video, first_row) of each sample: the stored row a window starts at, or the
        frame's own row.
    """
    windows = trainset.split(split)
    if recurrent:
        return windows[["video", "first_row"]].to_numpy(np.int64)
    rows = set()
    for video, first in windows[["video", "first_row"]].to_numpy():
        for row in range(first, first + trainset.window_length):
            if trainset.targets[video].weight[row].any():
                rows.add((int(video), row))
    return np.array(sorted(rows), dtype=np.int64).reshape(-1, 2)


#: Each test window is scored this many times with a part occluder (``hidden_test_samples``): about
#: as many hidden runs as a training period's windows see, from a dozen test windows.
HIDDEN_COPIES = 4
#: The hidden test windows' occluders are drawn from this seed and the sample's index, whatever the
#: training seed: students of different seeds are scored on the same hidden windows.
HIDDEN_TEST_SEED = 0


def hidden_test_samples(trainset: TrainingSet) -> np.ndarray:
    """(video, first_row) of the test windows, each HIDDEN_COPIES times (each copy hides its own part).

    Args:
        trainset: the training set.

    Returns:
        (N x HIDDEN_COPIES, 2) int64, each test window's (video, first_row), repeated in place.
    """
    return np.repeat(training_samples(trainset, "test", recurrent=True), HIDDEN_COPIES, axis=0)


def make_dataset(
    trainset: TrainingSet,
    split: str,
    config: TrainingConfig,
    batch_size: int,
    padded_shape: tuple[int, int],
    training: bool,
    skip: int = 0,
    samples: np.ndarray | None = None,
    hide_parts: bool = False,
) -> tuple[tf.data.Dataset, int]:
    """The batches a student trains or is tested on, streamed from the memory-mapped set in parallel.

    Each batch is a dict of ``frames`` (B, T, H, W, C) uint8, ``xy`` (B, T, K, 2) float32 targets in
    stored-frame pixels, ``weight`` (B, T, K) float32 and ``spread`` (B, T, K) float32, each target
    map's width in units of sigma (``occluded_sigma`` where a part occluder hides the point,
    ``gap_filled_sigma`` on targets interpolated across a teacher's gap, 1 elsewhere); for LEAP
    (``config.recurrent`` False) the T axis is absent. Training batches are augmented and may get
    occluders; gap-filled points' weights are multiplied by ``gap_filled_weight``.

    Args:
        trainset: the training set.
        split: "train" or "test".
        config: the student's settings (model, seed, augmentation, occluders, target weights).
        batch_size: samples per batch (the last one may be smaller).
        padded_shape: (H, W) every frame is padded to (bottom and right), e.g.
            ``trainset.max_frame_shape()``.
        training: repeat and shuffle the samples endlessly, augmented and occluded as ``config`` asks;
            otherwise one pass in order, unchanged.
        skip: samples of the (seeded) stream passed over before the first batch: a resumed run starts
            where the interrupted one stopped.
        samples: ``training_samples`` of the split, if the caller has them already.
        hide_parts: (test windows, see ``hidden_test_samples``) every sample gets a part occluder drawn
            from its index alone (HIDDEN_TEST_SEED), the same at every evaluation and for every training
            seed, and only the points it hides keep their weight, so the loss says how well the student
            places what the frame does not show.

    Returns:
        (dataset, n_samples): the batched ``tf.data.Dataset`` and the number of samples it draws from.
    """
    if samples is None:
        samples = training_samples(trainset, split, config.recurrent)
    length = trainset.window_length if config.recurrent else 1
    height, width = padded_shape
    n_parts = len(trainset.bodyparts)
    seed = config.seed

    def load(index, draw):
        video, first = samples[int(index)]
        rows = slice(int(first), int(first) + length)
        frames = np.zeros((length, height, width, trainset.channels), np.uint8)
        stored = np.asarray(trainset.frames[video][rows])
        frames[:, : stored.shape[1], : stored.shape[2]] = stored
        xy = trainset.targets[video].xy[rows].copy()
        weight = trainset.targets[video].weight[rows].copy()
        gap_filled = trainset.targets[video].source[rows] == GAP_FILLED
        weight[gap_filled] *= config.gap_filled_weight
        rng = np.random.default_rng([seed, int(draw)])
        hidden = np.zeros(weight.shape, bool)
        if hide_parts:
            frames, mask = add_part_occluder(frames, xy, weight, stored.shape[1:3], config,
                                             np.random.default_rng([HIDDEN_TEST_SEED, int(index)]))
            hidden = hidden_points(mask, xy)
            weight = weight * hidden
        if training and config.augment:
            frames, xy, weight = augment_window(frames, xy, weight, config, rng)
        if training and config.occluder_probability and rng.random() < config.occluder_probability:
            if config.occluder_target in PART_TARGETS:
                frames, mask = add_part_occluder(frames, xy, weight, stored.shape[1:3], config, rng)
                hidden = hidden_points(mask, xy)
                weight = weight * np.where(hidden, config.occluded_weight, 1.0)
            else:
                frames, _ = add_occluder(frames, stored.shape[1:3], config, rng)
        spread = np.where(hidden, config.occluded_sigma, np.where(gap_filled, config.gap_filled_sigma, 1.0))
        return frames, xy.astype(np.float32), weight.astype(np.float32), spread.astype(np.float32)

    def load_tf(index, draw):
        frames, xy, weight, spread = tf.numpy_function(load, [index, draw],
                                                       [tf.uint8, tf.float32, tf.float32, tf.float32])
        frames.set_shape((length, height, width, trainset.channels))
        xy.set_shape((length, n_parts, 2))
        weight.set_shape((length, n_parts))
        spread.set_shape((length, n_parts))
        if not config.recurrent:
            frames, xy, weight, spread = frames[0], xy[0], weight[0], spread[0]
        return {"frames": frames, "xy": xy, "weight": weight, "spread": spread}

    indices = tf.data.Dataset.range(len(samples))
    if training:
        indices = indices.repeat().shuffle(max(len(samples), 1), seed=seed, reshuffle_each_iteration=True)
    draws = tf.data.Dataset.range(2**62)
    dataset = tf.data.Dataset.zip((indices, draws)).skip(skip)
    dataset = dataset.map(load_tf, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=False).prefetch(tf.data.AUTOTUNE)
    if len(samples) == 0:
        dataset = dataset.take(0)
    return dataset, len(samples)


def augment_window(frames, xy, weight, config: TrainingConfig, rng: np.random.Generator):
    """One random rotation, zoom, shift, blur, brightness and contrast change applied to every
    frame of a window alike (pixel noise drawn per frame), so the window still shows one motion.

    Args:
        frames: (T, H, W, C) uint8, the window.
        xy: (T, K, 2) float, its targets in the frames' pixels.
        weight: (T, K) float, the targets' loss weights.
        config: the augmentation settings (rotation, zoom, max_shift, blur, brightness, contrast, noise).
        rng: the generator that draws the changes.

    Returns:
        (frames, xy, weight): (T, H, W, C) uint8, (T, K, 2) float32 moved with the frames, and (T, K)
        with points that left the frame masked (0).
    """
    length, height, width, channels = frames.shape
    angle = rng.uniform(-config.rotation, config.rotation)
    zoom = rng.uniform(*config.zoom)
    dx = rng.uniform(-1, 1) * config.max_shift * width
    dy = rng.uniform(-1, 1) * config.max_shift * height
    # about the frame's centre; cv2 maps pixel centres, the convention of the targets too
    matrix = cv2.getRotationMatrix2D(((width - 1) / 2, (height - 1) / 2), angle, zoom)
    matrix[:, 2] += (dx, dy)
    moved = np.empty_like(frames)
    for t in range(length):
        moved[t] = cv2.warpAffine(frames[t], matrix, (width, height), flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_CONSTANT, borderValue=0).reshape(height, width, channels)
    xy = (xy @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)
    inside = (xy[..., 0] >= -0.5) & (xy[..., 0] <= width - 0.5) & (xy[..., 1] >= -0.5) & (xy[..., 1] <= height - 0.5)
    weight = weight * inside
    pixels = moved.astype(np.float32)
    if config.blur_probability and rng.random() < config.blur_probability:
        sigma = rng.uniform(0.3, max(config.max_blur, 0.3))
        for t in range(length):
            pixels[t] = cv2.GaussianBlur(pixels[t], (0, 0), sigma).reshape(height, width, channels)
    gain = 1 + rng.uniform(-config.contrast, config.contrast)
    offset = 255 * rng.uniform(-config.brightness, config.brightness)
    pixels = (pixels - pixels.mean()) * gain + pixels.mean() + offset
    if config.noise:
        pixels += rng.normal(0, config.noise, pixels.shape).astype(np.float32)
    return np.clip(pixels, 0, 255).astype(np.uint8), xy, weight
OCCLUDER_SHAPES = ("rectangle", "ellipse", "bar")
OCCLUDER_FILLS = ("black", "white", "grey", "noise")


def add_occluder(frames: np.ndarray, area: tuple[int, int], config: TrainingConfig, rng: np.random.Generator):
    """Cover a run of consecutive frames with one drifting occluder (``occluder_target="anywhere"``).

    The occluder lands anywhere in the top-left ``area`` of the frames, whatever the body parts do,
    so a network cannot learn "the part is under the square".

    Args:
        frames: (T, H, W, C) uint8, the window (T = 1 for LEAP).
        area: (height, width) of the stored frame inside the padded ``frames``.
        config: the occluder settings (occluder_size, occluder_max_run, occluder_speed).
        rng: the generator that draws the occluder.

    Returns:
        (frames, mask): (T, H, W, C) uint8 with the occluder drawn in, and (T, H, W) bool, where it is.
    """
    length, height, width, _ = frames.shape
    area_height, area_width = area
    longest = min(config.occluder_max_run or length, length)
    run = int(rng.integers(1, longest + 1))
    first = int(rng.integers(0, length - run + 1))
    side = rng.uniform(*config.occluder_size) * min(area_height, area_width)
    shape = OCCLUDER_SHAPES[rng.integers(len(OCCLUDER_SHAPES))]
    if shape == "bar":
        half = np.array([side * rng.uniform(1.5, 2.5), side * rng.uniform(0.1, 0.2)])
        half = half[::-1] if rng.random() < 0.5 else half
    else:
        half = side / 2 * rng.uniform(0.7, 1.3, 2)
    centre = rng.uniform(0, 1, 2) * [area_width, area_height]
    velocity = rng.uniform(-1, 1, 2) * config.occluder_speed * max(area_width, area_height)
    rows, columns = np.mgrid[:height, :width]
    mask = np.zeros((length, height, width), bool)
    for step, t in enumerate(range(first, first + run)):
        inside = _inside(rows, columns, centre + step * velocity, half, shape == "ellipse")
        mask[t] = inside & (rows < area_height) & (columns < area_width)
    fill = OCCLUDER_FILLS[rng.integers(len(OCCLUDER_FILLS))]
    if fill == "noise":
        values = rng.integers(0, 256, frames.shape, dtype=np.uint8)
    else:
        level = {"black": 0, "white": 255}.get(fill, int(rng.integers(0, 256)))
        values = np.full(frames.shape, level, np.uint8)
    frames = np.where(mask[..., None], values, frames)
    return frames, mask


def _inside(rows: np.ndarray, columns: np.ndarray, centre, half, ellipse: bool) -> np.ndarray:
    """Pixels (rows, columns grids) inside an ellipse or rectangle of half-sides ``half`` (x, y) at ``centre``."""
    dx, dy = (columns - centre[0]) / half[0], (rows - centre[1]) / half[1]
    return dx**2 + dy**2 <= 1 if ellipse else (np.abs(dx) <= 1) & (np.abs(dy) <= 1)


def add_part_occluder(frames: np.ndarray, xy: np.ndarray, weight: np.ndarray, area: tuple[int, int],
                      config: TrainingConfig, rng: np.random.Generator):
    """Hide one body part with a known target on the last frames of a window, under the video's own texture.

    A run of the last 1 to ``occluder_max_run`` frames (the frame itself for LEAP) is chosen, then a
    body part with a target on every frame of it; a rectangle or ellipse of side ``occluder_size`` x
    the frame's smaller side follows that part (which sits anywhere in its inner half) and is filled
    with the pixels of the same frame at a fixed random shift of at least its size, so it looks like
    the rest of the video (fur, wheel, background), not like a flat square. Targets are unchanged.
    With ``occluder_target="swaps"`` the two patches trade places: the part's own pixels go where the
    texture came from, a decoy of the part where it is not.

    Args:
        frames: (T, H, W, C) uint8, the window after augmentation.
        xy: (T, K, 2) targets in the frames' pixels.
        weight: (T, K), 0 where there is no target.
        area: (height, width) of the stored frame inside the padded ``frames``.
        config: the occluder settings (occluder_size, occluder_max_run, occluder_target).
        rng: the generator that draws the run, the part, the occluder and the texture's shift.

    Returns:
        The frames with the part hidden, and the occluder's mask (T, H, W) bool (all False when no
        part has a target on every frame of the run), the decoy's patch included.
    """
    length, height, width, _ = frames.shape
    area_height, area_width = area
    longest = min(config.occluder_max_run or length, length)
    run = int(rng.integers(1, longest + 1))
    first = length - run
    mask = np.zeros((length, height, width), bool)
    known = np.flatnonzero((weight[first:] > 0).all(axis=0))
    if not len(known):
        return frames, mask
    part = int(rng.choice(known))
    side = rng.uniform(*config.occluder_size) * min(area_height, area_width)
    half = side / 2 * rng.uniform(0.7, 1.3, 2)
    offset = rng.uniform(-0.5, 0.5, 2) * half
    ellipse = rng.random() < 0.5
    # a source of texture at least one occluder away where the frame allows it (at most half the frame away)
    reach = min(side, max(area_width, area_height) / 2)
    for _ in range(100):
        shift = (rng.uniform(-0.5, 0.5, 2) * [area_width, area_height]).round().astype(int)
        if np.abs(shift).max() >= reach:
            break
    rows, columns = np.mgrid[:height, :width]
    hidden = frames.copy()
    for t in range(first, length):
        mask[t] = _inside(rows, columns, xy[t, part] + offset, half, ellipse) & (rows < area_height) & (
            columns < area_width)
        texture = np.roll(frames[t, :area_height, :area_width], tuple(shift[::-1]), axis=(0, 1))
        inside_area = mask[t, :area_height, :area_width]
        hidden[t, :area_height, :area_width][inside_area] = texture[inside_area]
        if config.occluder_target == "swaps":  # the part where its texture came from
            decoy = np.roll(inside_area, tuple(-shift[::-1]), axis=(0, 1)) & ~inside_area
            moved = np.roll(frames[t, :area_height, :area_width], tuple(-shift[::-1]), axis=(0, 1))
            hidden[t, :area_height, :area_width][decoy] = moved[decoy]
            mask[t, :area_height, :area_width] |= decoy
    return hidden, mask


def hidden_points(mask: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Which points an occluder covers: True where point k's pixel (rounded) lies under ``mask``.

    Args:
        mask: (T, H, W) bool, the occluded pixels of each frame.
        xy: (T, K, 2) float, the points in stored-frame pixels; NaN where masked.

    Returns:
        (T, K) bool; False for points outside the frame or NaN.
    """
    length, height, width = mask.shape
    known = np.isfinite(xy).all(axis=-1)  # a masked point's xy may be NaN
    column = np.clip(np.round(np.nan_to_num(xy[..., 0], nan=-1)), -1, width).astype(int)
    row = np.clip(np.round(np.nan_to_num(xy[..., 1], nan=-1)), -1, height).astype(int)
    inside = known & (column >= 0) & (column < width) & (row >= 0) & (row < height)
    frame = np.broadcast_to(np.arange(length)[:, None], inside.shape)
    covered = np.zeros(inside.shape, bool)
    covered[inside] = mask[frame[inside], row[inside], column[inside]]
    return covered


def dataset_statistics(trainset: TrainingSet, max_frames: int = 2000) -> tuple[float, float]:
    """Mean and standard deviation of the training frames' pixels (scaled to [0, 1]), sampled.

    Args:
        trainset: the training set.
        max_frames: about how many stored frames to sample, spread evenly over the videos (seeded).

    Returns:
        (mean, std) of the sampled pixels, the std at least 1e-3.
    """
    rng = np.random.default_rng(0)
    values = []
    for frames in trainset.frames:
        rows = rng.choice(len(frames), size=min(len(frames), max_frames // len(trainset.frames) + 1), replace=False)
        values.append(np.asarray(frames[np.sort(rows)], np.float32).ravel() / 255)
    pixels = np.concatenate(values)
    return float(pixels.mean()), float(max(pixels.std(), 1e-3))
