"""Train the LEAP or ConvLSTM-LEAP student on a training set built by ``create_training_set``.

The recipe (one ``TrainingConfig``, saved as YAML beside the model) follows the seed paper: Adam,
mean squared error on confidence maps (masked: points without a target, see distill, do not count),
inputs normalised with mean 0.257 / std 0.288, batch 32 for LEAP and 8 windows for the recurrent
network, 10 epochs. Frames stream from the memory-mapped training set through a parallel tf.data
pipeline; confidence maps are rendered inside the training step, on the GPU when there is one.
Every epoch is checkpointed, and ``train`` resumes from the last checkpoint after an interruption.
"""

from __future__ import annotations

import datetime
import math
import os
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
from ruamel.yaml import YAML
from tqdm import tqdm

from dlc_recurrent.distill import (
    GAP_FILLED,
    PACKAGE_FOLDER,
    TrainingSet,
    load_training_set,
    training_fraction,
    training_set_fingerprint,
    training_set_folder,
)
from dlc_recurrent.project import Project, ProjectError, load_project

# The package's __init__ has loaded torchvision already, so TensorFlow may come now.
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

from dlc_recurrent import models  # noqa: E402

CONFIG_NAME = "dlc_recurrent.yaml"
TRAINING_SET_RECORD = "training_set.yaml"
#: deeplabcut's post-processing tools rebuild the scorer from a pytorch_config.yaml whose net_type
#: must be one of DLC's own; these borrowed names only make the students findable (and keep the
#: two students' files apart). What really made a file is in its _meta.pickle and in CONFIG_NAME.
DLC_NET_TYPES = {"leap": "cspnext_s", "convlstm_leap": "cspnext_m", "bidirectional_leap": "cspnext_x"}
WEIGHTS_NAME = "student_weights.h5"
HISTORY_NAME = "history.csv"


@dataclass
class TrainingConfig:
    """Everything that decides how a student is trained; defaults are the seed paper's recipe.

    ``occluder_*`` (not in the paper) train through occlusion: with ``occluder_probability`` a
    training sample gets an occluder (rectangle, ellipse or bar; black, white, grey or noise),
    placed at random independently of the body parts and drifting by up to ``occluder_speed`` x
    the frame size per frame, over a run of up to ``occluder_max_run`` frames (default: the window);
    its side is ``occluder_size`` x the frame's smaller side. Targets are unchanged, so a covered
    part keeps the teacher's position. LEAP gets the same occluders on single frames (the control).
    ``map_amplitude`` is not in the paper: peak-1 maps were seen to sit on the "predict zeros"
    plateau for hundreds of steps on real mouse video, and x10 maps left it (the predicted peak is
    divided by it again to give a likelihood). ``sigma`` is in full-resolution pixels.
    ``gap_filled_weight`` (not in the paper): the loss weight of targets interpolated across short
    teacher gaps (training sets made with ``max_gap_fill``), relative to the teacher's and the hand
    labels' 1; lower trusts the straight line less.
    """

    model: str = "convlstm_leap"
    epochs: int = 10
    batch_size: int | None = None
    learning_rate: float = 1e-3
    filters: tuple[int, int, int, int] = models.DEFAULT_FILTERS
    convlstm_filters: int = 32
    sigma: float = 5.0
    map_amplitude: float = 10.0
    normalization: str = "paper"
    mean: float = models.DEFAULT_MEAN
    std: float = models.DEFAULT_STD
    augment: bool = True
    max_shift: float = 0.05
    brightness: float = 0.1
    contrast: float = 0.2
    occluder_probability: float = 0.0
    occluder_size: tuple[float, float] = (0.1, 0.3)
    occluder_max_run: int | None = None
    occluder_speed: float = 0.02
    gap_filled_weight: float = 1.0
    steps_per_epoch: int | None = None
    mixed_precision: bool = True
    seed: int = 0
    window_length: int = 15
    scale: float = 1.0
    bodyparts: list[str] = field(default_factory=list)
    channels: int = 1

    def __post_init__(self):
        if self.model not in models.MODEL_KINDS:
            raise ValueError(f"model must be one of {models.MODEL_KINDS}, got {self.model!r}")
        if self.normalization not in ("paper", "dataset"):
            raise ValueError(f"normalization must be 'paper' or 'dataset', got {self.normalization!r}")
        self.filters = tuple(int(f) for f in self.filters)
        self.occluder_size = tuple(float(f) for f in self.occluder_size)
        if not 0 <= self.occluder_probability <= 1:
            raise ValueError(f"occluder_probability must be in [0, 1], got {self.occluder_probability}")
        if len(self.occluder_size) != 2 or not 0 < self.occluder_size[0] <= self.occluder_size[1]:
            raise ValueError(f"occluder_size must be (smallest, largest) fractions > 0, got {self.occluder_size}")
        if not 0 <= self.gap_filled_weight <= 1:
            raise ValueError(f"gap_filled_weight must be in [0, 1], got {self.gap_filled_weight}")

    @property
    def recurrent(self) -> bool:
        return self.model != "leap"

    @property
    def resolved_batch_size(self) -> int:
        """Paper: 32 single frames for LEAP, 8 windows for the recurrent network."""
        return self.batch_size or (8 if self.recurrent else 32)

    @property
    def map_sigma(self) -> float:
        """Gaussian width in stored (scaled) pixels."""
        return self.sigma * self.scale

    def build_model(self, height=None, width=None) -> keras.Model:
        return models.build_model(
            self.model,
            len(self.bodyparts),
            window_length=None,
            convlstm_filters=self.convlstm_filters,
            channels=self.channels,
            filters=self.filters,
            mean=self.mean,
            std=self.std,
            height=height,
            width=width,
        )

    def save(self, path: Path) -> None:
        data = asdict(self)
        data["filters"] = list(self.filters)
        data["occluder_size"] = list(self.occluder_size)
        _atomic_yaml(path, data)

    @classmethod
    def load(cls, path: Path) -> "TrainingConfig":
        data = YAML(typ="safe").load(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def model_folder(project: Project, shuffle: int, trainingsetindex: int, model: str) -> Path:
    """``<project>/dlc-recurrent/<model>/dlc-models-pytorch/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>``.

    The part after ``<project>/dlc-recurrent/<model>`` is deeplabcut's own model-folder layout, so
    its post-processing tools find the student with ``modelprefix="dlc-recurrent/<model>"``.
    """
    from deeplabcut.core.engine import Engine
    from deeplabcut.utils.auxiliaryfunctions import get_model_folder

    fraction = training_fraction(project, trainingsetindex)
    cfg = {"Task": project.task, "date": project.date, "iteration": project.iteration}
    relative = get_model_folder(fraction, shuffle, cfg, modelprefix=modelprefix(model), engine=Engine.PYTORCH)
    return project.project_path / relative


def modelprefix(model: str) -> str:
    """The ``modelprefix`` to give deeplabcut's tools for a student of kind ``model``."""
    return f"{PACKAGE_FOLDER}/{model}"


def train(
    config: str | Path,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    model: str = "convlstm_leap",
    gputouse: int | None = None,
    overwrite: bool = False,
    devices: list[str] | None = None,
    **options,
) -> Path:
    """Train a student on the project's training set; returns its ``train`` folder.

    ``options`` override fields of :class:`TrainingConfig` (epochs, batch_size, learning_rate,
    sigma, ...). Re-running after an interruption resumes from the last finished epoch; a
    finished model is kept unless ``overwrite=True``. ``devices`` lists TensorFlow devices to
    train on data-parallel (default: every visible GPU, or the CPU).
    """
    project = load_project(config)
    trainset = load_training_set(training_set_folder(project, shuffle, trainingsetindex))
    train_config = TrainingConfig(
        model=model,
        window_length=trainset.window_length,
        scale=trainset.spec.scale,
        bodyparts=trainset.bodyparts,
        channels=trainset.channels,
        **options,
    )
    if train_config.normalization == "dataset":
        train_config.mean, train_config.std = dataset_statistics(trainset)

    folder = model_folder(project, shuffle, trainingsetindex, model) / "train"
    if overwrite and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _check_same_config(folder, train_config)
    _check_same_training_set(folder, trainset)
    train_config.save(folder / CONFIG_NAME)

    _select_gpu(gputouse)
    strategy = _strategy(devices)
    if train_config.mixed_precision and tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        epochs = _fit(trainset, train_config, folder, strategy)
        write_dlc_model_files(project, folder, train_config.model, epochs)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return folder


def _fit(trainset: TrainingSet, config: TrainingConfig, folder: Path, strategy) -> int:
    """Train (or resume) until ``config.epochs``; returns the number of epochs the weights have."""
    keras.utils.set_random_seed(config.seed)
    height, width = trainset.max_frame_shape()
    with strategy.scope():
        network, trainer, optimizer = build_trainer(config, height, width)

    # samples: how far into the (seeded, endless) training stream the checkpointed weights are
    checkpoint = tf.train.Checkpoint(network=network, optimizer=optimizer, epoch=tf.Variable(0),
                                     samples=tf.Variable(-1, dtype=tf.int64))
    manager = tf.train.CheckpointManager(checkpoint, str(folder / "checkpoints"), max_to_keep=2)
    start_epoch = 0
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).expect_partial()
        start_epoch = int(checkpoint.epoch.numpy())
        if start_epoch < config.epochs:
            print(f"Resuming {config.model} training from epoch {start_epoch} ({manager.latest_checkpoint}).")
    if start_epoch >= config.epochs and (folder / WEIGHTS_NAME).is_file():
        print(f"{folder} already holds a {config.model} trained for {start_epoch} epochs; "
              "pass more epochs to continue, or overwrite=True to train again.")
        return start_epoch
    if start_epoch < config.epochs:
        batch = config.resolved_batch_size * strategy.num_replicas_in_sync
        samples = training_samples(trainset, "train", config.recurrent)
        steps = config.steps_per_epoch or max(1, math.ceil(len(samples) / batch))
        # A resumed run continues the sample stream where the checkpoint left it, so that it trains
        # on the batches (and augmentations) an uninterrupted run would have seen.
        if int(checkpoint.samples.numpy()) < 0:  # a fresh run, or a checkpoint from before the counter
            checkpoint.samples.assign(start_epoch * steps * batch)
        train_data, _ = make_dataset(trainset, "train", config, batch, (height, width), training=True,
                                     skip=int(checkpoint.samples.numpy()), samples=samples)
        test_samples = training_samples(trainset, "test", config.recurrent)
        test_batch = validation_batch_size(len(test_samples), batch, strategy.num_replicas_in_sync)
        test_data, n_test = make_dataset(trainset, "test", config, max(test_batch, 1), (height, width),
                                         training=False, samples=test_samples)
        if not test_batch and n_test:
            print(f"{n_test} test windows cannot be shared among {strategy.num_replicas_in_sync} devices; "
                  "no test loss this run")
            n_test = 0
        _truncate_history(folder / HISTORY_NAME, start_epoch)
        callbacks = [
            keras.callbacks.CSVLogger(str(folder / HISTORY_NAME), append=start_epoch > 0),
            EpochCheckpoint(manager, checkpoint, samples_per_epoch=steps * batch),
            keras.callbacks.TensorBoard(log_dir=str(folder / "logs"), update_freq="epoch", profile_batch=0),
            TqdmProgress(config.epochs, steps),
        ]
        trainer.fit(
            train_data.repeat(),
            epochs=config.epochs,
            initial_epoch=start_epoch,
            steps_per_epoch=steps,
            validation_data=test_data if n_test else None,
            callbacks=callbacks,
            verbose=0,
        )
    network.save_weights(str(folder / (WEIGHTS_NAME + ".tmp")), save_format="h5")
    os.replace(folder / (WEIGHTS_NAME + ".tmp"), folder / WEIGHTS_NAME)
    _write_summary(folder, config, trainset)
    return config.epochs


def build_trainer(config: TrainingConfig, height: int, width: int):
    """A fresh student, its HeatmapTrainer and Adam (loss-scaled under mixed precision), built for H x W."""
    network = config.build_model()
    trainer = HeatmapTrainer(network, config)
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate, amsgrad=False)
    if keras.mixed_precision.global_policy().name == "mixed_float16":
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    trainer.compile(optimizer=optimizer)
    trainer.build_for(height, width, config)
    return network, trainer, optimizer


def _truncate_history(path: Path, start_epoch: int) -> None:
    """Drop history rows of epochs that will be trained again (logged before a crash, not checkpointed)."""
    if start_epoch == 0 or not path.is_file():
        return
    history = pd.read_csv(path)
    history[history.epoch < start_epoch].to_csv(path, index=False)


def _check_same_config(folder: Path, config: TrainingConfig) -> None:
    """Refuse to resume a run that was started with another recipe (more epochs are allowed)."""
    path = folder / CONFIG_NAME
    if not path.is_file():
        return
    saved, requested = asdict(TrainingConfig.load(path)), asdict(config)
    saved.pop("epochs"), requested.pop("epochs")
    if saved != requested:
        raise ProjectError(
            f"{path}: a training run with other settings is in this folder; pass the same settings "
            "to resume it, or overwrite=True to start again"
        )


def _check_same_training_set(folder: Path, trainset: TrainingSet) -> None:
    """Refuse to resume or extend a student on a training set rebuilt with other data since it started."""
    path = folder / TRAINING_SET_RECORD
    current = training_set_fingerprint(trainset.folder)
    if path.is_file() and YAML(typ="safe").load(path.read_text()).get("fingerprint") != current:
        raise ProjectError(
            f"{folder}: this student was trained on a training set since rebuilt with other data "
            f"({trainset.folder}); pass overwrite=True to train it again on the new one"
        )
    _atomic_yaml(path, {"training_set": str(trainset.folder), "fingerprint": current})


def _select_gpu(gputouse: int | None) -> None:
    if gputouse is None:
        return
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        print(f"gputouse={gputouse} ignored: TensorFlow sees no GPU, training on the CPU.")
        return
    if gputouse >= len(gpus):
        raise ValueError(f"gputouse={gputouse} but only {len(gpus)} GPU(s) are visible")
    tf.config.set_visible_devices(gpus[gputouse], "GPU")


def validation_batch_size(n_samples: int, batch_size: int, replicas: int) -> int:
    """The largest batch, at most ``batch_size``, that gives every device at least one test window in
    every batch, the last one included; 0 when there is none (fewer windows than devices).

    TensorFlow splits each batch among the devices as evenly as it can (checked with TF 2.21: a batch
    of 3 on 2 devices gives 2 + 1, of 2 gives 1 + 1, of 1 gives 1 + nothing), and a device with an
    empty share fails on the CPU ("input depth must be evenly divisible by filter depth"); so 5 test
    windows on 2 devices go in batches of 3 and 2, not 4 and 1.
    """
    if replicas <= 1:
        return batch_size
    for size in range(batch_size, replicas - 1, -1):
        if n_samples % size == 0 or n_samples % size >= replicas:
            return size
    return 0


def _strategy(devices: list[str] | None):
    """Data-parallel over the given devices or every visible GPU; the default strategy otherwise."""
    if devices is None:
        gpus = tf.config.list_logical_devices("GPU")
        devices = [gpu.name for gpu in gpus] if len(gpus) > 1 else None
    if devices and len(devices) > 1:
        print(f"Training data-parallel on {len(devices)} devices: {', '.join(devices)}")
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def render_maps(xy: tf.Tensor, height: int, width: int, sigma: float, amplitude: float) -> tf.Tensor:
    """Gaussian confidence maps (..., H, W, K) for points xy (..., K, 2), in pixel-centre coordinates."""
    xy = tf.cast(xy, tf.float32)
    columns = tf.range(width, dtype=tf.float32)
    rows = tf.range(height, dtype=tf.float32)
    gx = tf.exp(-tf.square(columns - xy[..., 0:1]) / (2 * sigma**2))
    gy = tf.exp(-tf.square(rows - xy[..., 1:2]) / (2 * sigma**2))
    maps = amplitude * gy[..., :, None] * gx[..., None, :]
    rank = len(maps.shape)
    return tf.transpose(maps, [*range(rank - 3), rank - 2, rank - 1, rank - 3])


def masked_mse(target: tf.Tensor, predicted: tf.Tensor, weight: tf.Tensor) -> tf.Tensor:
    """Mean squared error over the maps, weighted per point; masked points (weight 0) add nothing."""
    weight = tf.cast(weight, tf.float32)[..., None, None, :]
    squared = tf.square(tf.cast(predicted, tf.float32) - target) * weight
    pixels = tf.cast(tf.shape(target)[-3] * tf.shape(target)[-2], tf.float32)
    return tf.reduce_sum(squared) / (tf.reduce_sum(weight) * pixels + 1e-8)


class HeatmapTrainer(keras.Model):
    """Wraps a student so batches of (frames, xy, weight) train it on rendered, masked maps."""

    def __init__(self, network: keras.Model, config: TrainingConfig):
        super().__init__()
        self.network = network
        self.sigma = config.map_sigma
        self.amplitude = config.map_amplitude
        self.loss_tracker = keras.metrics.Mean(name="loss")

    def build_for(self, height: int, width: int, config: TrainingConfig) -> None:
        shape = (1, 2, height, width, config.channels) if config.recurrent else (1, height, width, config.channels)
        self.network(tf.zeros(shape), training=False)

    @property
    def metrics(self):
        return [self.loss_tracker]

    def call(self, frames, training=False):
        return self.network(frames, training=training)

    def _loss(self, frames, xy, weight, training):
        predicted = self.network(frames, training=training)
        target = render_maps(xy, tf.shape(frames)[-3], tf.shape(frames)[-2], self.sigma, self.amplitude)
        return masked_mse(target, predicted, weight)

    def train_step(self, data):
        frames, xy, weight = data["frames"], data["xy"], data["weight"]
        with tf.GradientTape() as tape:
            loss = self._loss(frames, xy, weight, training=True)
            scaled = self.optimizer.get_scaled_loss(loss) if hasattr(self.optimizer, "get_scaled_loss") else loss
        gradients = tape.gradient(scaled, self.network.trainable_variables)
        if hasattr(self.optimizer, "get_unscaled_gradients"):
            gradients = self.optimizer.get_unscaled_gradients(gradients)
        self.optimizer.apply_gradients(zip(gradients, self.network.trainable_variables))
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        frames, xy, weight = data["frames"], data["xy"], data["weight"]
        self.loss_tracker.update_state(self._loss(frames, xy, weight, training=False))
        return {"loss": self.loss_tracker.result()}


def training_samples(trainset: TrainingSet, split: str, recurrent: bool) -> np.ndarray:
    """(video, first_row) of every sample: whole windows for the recurrent model, frames for LEAP."""
    windows = trainset.split(split)
    if recurrent:
        return windows[["video", "first_row"]].to_numpy(np.int64)
    rows = set()
    for video, first in windows[["video", "first_row"]].to_numpy():
        for row in range(first, first + trainset.window_length):
            if trainset.targets[video].weight[row].any():
                rows.add((int(video), row))
    return np.array(sorted(rows), dtype=np.int64).reshape(-1, 2)


def make_dataset(
    trainset: TrainingSet,
    split: str,
    config: TrainingConfig,
    batch_size: int,
    padded_shape: tuple[int, int],
    training: bool,
    skip: int = 0,
    samples: np.ndarray | None = None,
) -> tuple[tf.data.Dataset, int]:
    """A tf.data pipeline of {frames (uint8), xy, weight} batches for ``split``, and its sample count.

    ``skip`` samples of the (seeded) stream are passed over before the first batch: a resumed run
    starts where the interrupted one stopped. ``samples``: ``training_samples`` of the split, if
    the caller has them already.
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
        weight[trainset.targets[video].source[rows] == GAP_FILLED] *= config.gap_filled_weight
        rng = np.random.default_rng([seed, int(draw)])
        if training and config.augment:
            frames, xy, weight = augment_window(frames, xy, weight, config, rng)
        if training and config.occluder_probability and rng.random() < config.occluder_probability:
            frames, _ = add_occluder(frames, stored.shape[1:3], config, rng)
        return frames, xy.astype(np.float32), weight.astype(np.float32)

    def load_tf(index, draw):
        frames, xy, weight = tf.numpy_function(load, [index, draw], [tf.uint8, tf.float32, tf.float32])
        frames.set_shape((length, height, width, trainset.channels))
        xy.set_shape((length, n_parts, 2))
        weight.set_shape((length, n_parts))
        if not config.recurrent:
            frames, xy, weight = frames[0], xy[0], weight[0]
        return {"frames": frames, "xy": xy, "weight": weight}

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
    """One random shift, brightness and contrast change applied to every frame of a window alike."""
    length, height, width, _ = frames.shape
    dx = int(round(rng.uniform(-1, 1) * config.max_shift * width))
    dy = int(round(rng.uniform(-1, 1) * config.max_shift * height))
    shifted = np.zeros_like(frames)
    shifted[:, max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = frames[
        :, max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    xy = xy + np.array([dx, dy], np.float32)
    inside = (xy[..., 0] >= 0) & (xy[..., 0] <= width - 1) & (xy[..., 1] >= 0) & (xy[..., 1] <= height - 1)
    weight = weight * inside
    gain = 1 + rng.uniform(-config.contrast, config.contrast)
    offset = 255 * rng.uniform(-config.brightness, config.brightness)
    pixels = shifted.astype(np.float32)
    pixels = (pixels - pixels.mean()) * gain + pixels.mean() + offset
    return np.clip(pixels, 0, 255).astype(np.uint8), xy, weight


OCCLUDER_SHAPES = ("rectangle", "ellipse", "bar")
OCCLUDER_FILLS = ("black", "white", "grey", "noise")


def add_occluder(frames: np.ndarray, area: tuple[int, int], config: TrainingConfig, rng: np.random.Generator):
    """Cover a run of consecutive frames with one drifting occluder; returns (frames, mask (T, H, W)).

    The occluder lands anywhere in the top-left ``area`` (height, width) of the frames, whatever
    the body parts do, so a network cannot learn "the part is under the square".
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
        dx, dy = (columns - centre[0] - step * velocity[0]) / half[0], (rows - centre[1] - step * velocity[1]) / half[1]
        inside = dx**2 + dy**2 <= 1 if shape == "ellipse" else (np.abs(dx) <= 1) & (np.abs(dy) <= 1)
        mask[t] = inside & (rows < area_height) & (columns < area_width)
    fill = OCCLUDER_FILLS[rng.integers(len(OCCLUDER_FILLS))]
    if fill == "noise":
        values = rng.integers(0, 256, frames.shape, dtype=np.uint8)
    else:
        level = {"black": 0, "white": 255}.get(fill, int(rng.integers(0, 256)))
        values = np.full(frames.shape, level, np.uint8)
    frames = np.where(mask[..., None], values, frames)
    return frames, mask


def dataset_statistics(trainset: TrainingSet, max_frames: int = 2000) -> tuple[float, float]:
    """Mean and standard deviation of the training frames' pixels (scaled to [0, 1]), sampled."""
    rng = np.random.default_rng(0)
    values = []
    for frames in trainset.frames:
        rows = rng.choice(len(frames), size=min(len(frames), max_frames // len(trainset.frames) + 1), replace=False)
        values.append(np.asarray(frames[np.sort(rows)], np.float32).ravel() / 255)
    pixels = np.concatenate(values)
    return float(pixels.mean()), float(max(pixels.std(), 1e-3))


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves network, optimizer, epoch and sample counters after every epoch (what resuming needs)."""

    def __init__(self, manager: tf.train.CheckpointManager, checkpoint: tf.train.Checkpoint, samples_per_epoch: int):
        super().__init__()
        self.manager, self.checkpoint, self.samples_per_epoch = manager, checkpoint, samples_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        self.checkpoint.epoch.assign(epoch + 1)
        self.checkpoint.samples.assign_add(self.samples_per_epoch)
        self.manager.save(checkpoint_number=epoch + 1)


class TqdmProgress(keras.callbacks.Callback):
    """One tqdm bar per epoch with the running loss, and the test loss when the epoch ends."""

    def __init__(self, epochs: int, steps: int):
        super().__init__()
        self.epochs, self.steps, self.bar = epochs, steps, None

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = tqdm(total=self.steps, desc=f"epoch {epoch + 1}/{self.epochs}", unit="batch", leave=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{logs['loss']:.4g}")

    def on_epoch_end(self, epoch, logs=None):
        if "val_loss" in logs:
            self.bar.set_postfix(loss=f"{logs['loss']:.4g}", test_loss=f"{logs['val_loss']:.4g}")
        self.bar.close()


def write_dlc_model_files(project: Project, folder: Path, model: str, epochs: int) -> None:
    """Make the train folder discoverable by deeplabcut: pytorch_config.yaml and snapshot-<epochs>.pt.

    The snapshot is a small torch file that points to the Keras weights; it is not a DLC network.
    """
    import torch
    from deeplabcut.pose_estimation_pytorch.config.pose import PoseConfig

    pose_config = PoseConfig.build(
        project.config_path, folder / "pytorch_config.yaml", top_down=False, net_type=DLC_NET_TYPES[model]
    )
    pose_config.to_yaml(folder / "pytorch_config.yaml", overwrite=True)
    for old in folder.glob("snapshot-*.pt"):
        old.unlink()
    note = {
        "dlc_recurrent": {
            "model": model,
            "epochs": epochs,
            "weights": WEIGHTS_NAME,
            "config": CONFIG_NAME,
            "note": "Not a DeepLabCut network: a dlc-recurrent student; use dlc_recurrent.analyze_videos.",
        }
    }
    torch.save(note, folder / f"snapshot-{epochs:03d}.pt")


def _write_summary(folder: Path, config: TrainingConfig, trainset: TrainingSet) -> None:
    history = pd.read_csv(folder / HISTORY_NAME) if (folder / HISTORY_NAME).is_file() else pd.DataFrame()
    _atomic_yaml(
        folder / "training_summary.yaml",
        {
            "finished": datetime.datetime.now().isoformat(timespec="seconds"),
            "model": config.model,
            "epochs": config.epochs,
            "training_set": str(trainset.folder),
            "teachers": sorted({v["teacher_scorer"] for v in trainset.videos}),
            "final_train_loss": float(history["loss"].iloc[-1]) if "loss" in history else None,
            "final_test_loss": float(history["val_loss"].iloc[-1]) if "val_loss" in history else None,
        },
    )


def _atomic_yaml(path: Path, data: dict) -> None:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w") as handle:
        yaml.dump(data, handle)
    os.replace(temporary, path)


def load_student(train_folder: str | Path) -> tuple[keras.Model, TrainingConfig]:
    """Rebuild a trained student from its folder: the network (any H, W; any T) and its config."""
    folder = Path(train_folder)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ProjectError(f"{folder}: no trained student here ({WEIGHTS_NAME}); run dlc_recurrent.train(config)")
    config = TrainingConfig.load(folder / CONFIG_NAME)
    network = config.build_model()
    network.load_weights(str(weights))
    return network, config
