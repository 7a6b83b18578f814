"""Train the LEAP or ConvLSTM-LEAP student on a training set built by ``create_training_set``.

The network, loss and inputs follow the seed paper: Adam, mean squared error on confidence maps
(masked: points without a target, see distill, do not count), inputs normalised with mean 0.257 /
std 0.288, batch 32 for LEAP and 8 windows for the recurrent network. How long to train does not:
the paper's 10 epochs of whatever the set holds left students far from converged on a small real
project (a few hundred optimizer steps), so by default training runs until the loss on the
never-trained test blocks stops improving (``schedule="converge"``: warm-up, the learning rate
halved on plateaus, early stopping with the best weights kept, between ``min_steps`` and
``max_steps``); ``schedule="fixed"`` is the paper's recipe. Frames stream from the memory-mapped
training set through a parallel tf.data pipeline, augmented alike over every frame of a window;
confidence maps are rendered inside the training step, on the GPU when there is one. Every
evaluation period is checkpointed, and ``train`` resumes from the last checkpoint after an
interruption, on the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from ruamel.yaml import YAML
from tqdm import tqdm

from dlc_recurrent.devices import refuse_multi_machine, select_device
from dlc_recurrent.locks import describe_holder, is_stale, try_lock
from dlc_recurrent.distill import (
    GAP_FILLED,
    PACKAGE_FOLDER,
    TrainingSet,
    builder_lock_path,
    load_training_set,
    training_fraction,
    trainer_lock_path,
    training_set_fingerprint,
    training_set_folder,
)
from dlc_recurrent.project import (
    Project,
    ProjectError,
    atomic_write,
    check_free_space,
    explain_full_disk,
    load_project,
)

# The package's __init__ has loaded torchvision already, so TensorFlow may come now.
from dlc_recurrent._tensorflow import keras, tf  # noqa: E402  (quiet; after torchvision)

from dlc_recurrent import models  # noqa: E402

logger = logging.getLogger(__name__)

CONFIG_NAME = "dlc_recurrent.yaml"
TRAINING_SET_RECORD = "training_set.yaml"
#: deeplabcut's post-processing tools rebuild the scorer from a pytorch_config.yaml whose net_type
#: must be one of DLC's own; these borrowed names only make the students findable (and keep the
#: two students' files apart). What really made a file is in its _meta.pickle and in CONFIG_NAME.
DLC_NET_TYPES = {"leap": "cspnext_s", "convlstm_leap": "cspnext_m", "bidirectional_leap": "cspnext_x"}
WEIGHTS_NAME = "student_weights.h5"
BEST_WEIGHTS_NAME = "best_weights.h5"
HISTORY_NAME = "history.csv"
SUMMARY_NAME = "training_summary.yaml"
SCHEDULES = ("converge", "fixed")
#: schedule="converge" judges plateaus on the mean of this many evaluations of the test loss: on the
#: real project's 12 test windows single evaluations scattered by +-15% around the trend.
SMOOTHING = 3
#: The paper's length under ``schedule="fixed"`` when ``epochs`` is not given.
PAPER_EPOCHS = 10
#: schedule="converge" never stops before this many steps unless max_steps is lower
DEFAULT_MIN_STEPS = 1000
#: schedule="converge" evaluates the test loss (and checkpoints) this often unless told otherwise
DEFAULT_PERIOD = 50
#: TrainingConfig fields copied from the training set or derived, not chosen by the user
COPIED_FIELDS = ("model", "window_length", "scale", "bodyparts", "channels", "mean", "std")


@dataclass
class TrainingConfig:
    """Everything that decides how a student is trained, saved as ``dlc_recurrent.yaml`` beside it.

    The network, loss, optimizer and batch are the seed paper's; the schedule, augmentation and
    the fields marked "not in the paper" were added where real or synthetic video needed them.
    The last four fields are copied from the training set, not chosen.
    """

    #: "leap" (single frame, the control), "convlstm_leap" (the paper's recurrent student) or
    #: "bidirectional_leap" (sees frames after the current one too; not causal).
    model: str = "convlstm_leap"

    # --- How long: the schedule ---------------------------------------------------------------
    #: "converge" (default): train until the test-block loss stops improving, within
    #: [min_steps, max_steps]; the best weights are kept. "fixed": the paper's recipe, ``epochs``
    #: passes over the training samples at a constant learning rate, the last weights kept.
    schedule: str = "converge"
    #: Passes over the training samples under ``schedule="fixed"`` (default 10, the paper's). Not
    #: used by "converge", which counts optimizer steps instead: more epochs of a small set are
    #: not "more training" in any comparable unit.
    epochs: int | None = None
    #: Optimizer steps between two evaluations of the test loss (and checkpoints, and rows of
    #: history.csv). Default: 50 under "converge" (finer stopping costs more evaluations), one
    #: pass over the training samples under "fixed".
    steps_per_epoch: int | None = None
    #: Never stop before this many optimizer steps (default 1000, or max_steps if that is lower).
    #: Students on real video sat on the "predict zeros" plateau for a few hundred steps before the
    #: loss moved; stopping there loses them.
    min_steps: int | None = None
    #: Stop here even if the test loss still improves (the quality report then says so), rounded up
    #: to a whole number of evaluation periods. Each step costs seconds on a CPU: 20000 steps is
    #: hours there, minutes on a GPU.
    max_steps: int = 20000
    #: Stop once the test loss has not improved by ``min_improvement`` for this many steps (after
    #: min_steps). Longer patience trains longer for smaller gains.
    patience: int = 500
    #: Halve the learning rate (``lr_factor``) after this many steps without improvement; several
    #: halvings happen before patience runs out.
    lr_patience: int = 200
    lr_factor: float = 0.5
    #: The learning rate is never lowered below learning_rate x this.
    min_lr_fraction: float = 1 / 64
    #: An improvement counts when the test loss (the mean of its last 3 evaluations) falls below
    #: the best so far by this fraction.
    min_improvement: float = 0.01
    #: The learning rate rises linearly from learning_rate / warmup_steps to learning_rate over
    #: the first steps (not in the paper; spares a fresh network Adam's first large steps).
    warmup_steps: int = 100

    # --- The optimizer and the network ----------------------------------------------------------
    #: Windows (recurrent) or frames (LEAP) per step; default 8 windows or 32 frames (the paper's).
    batch_size: int | None = None
    #: Adam's learning rate (the paper's 1e-3); the schedule lowers it on plateaus.
    learning_rate: float = 1e-3
    #: Filters of LEAP's conv blocks (encoder 1, encoder 2, decoder 64-block, decoder 32-block).
    filters: tuple[int, int, int, int] = models.DEFAULT_FILTERS
    #: Filters of the ConvLSTM layer (the paper's 32).
    convlstm_filters: int = 32
    #: Recurrent students only (not in the paper): the decoder sees each frame's own encoder
    #: features beside the ConvLSTM's output, so a visible part is placed from its own frame and
    #: the memory only has to fill in what the frame does not show. Costs a wider first decoder
    #: layer (+50% of its weights at the paper's widths).
    skip_connection: bool = False
    #: Width of the Gaussian confidence maps, in full-resolution pixels (the paper's 5).
    sigma: float = 5.0
    #: Peak height of the target maps (not in the paper: peak-1 maps sat on the "predict zeros"
    #: plateau for hundreds of steps on real mouse video, x10 maps left it). The predicted peak is
    #: divided by it again to give a likelihood.
    map_amplitude: float = 10.0
    #: "paper": inputs normalised with mean 0.257 / std 0.288; "dataset": the training frames' own.
    normalization: str = "paper"
    mean: float = models.DEFAULT_MEAN
    std: float = models.DEFAULT_STD
    #: Mixed float16 on a GPU (no effect on the CPU): about twice the speed, same accuracy.
    mixed_precision: bool = True
    #: Seeds the network's initial weights and the order and augmentation of the samples.
    seed: int = 0

    # --- Augmentation (one draw per window: every frame of a window changes alike) ----------
    #: Off: the frames as stored (the paper trained without augmentation).
    augment: bool = True
    #: Largest shift, as a fraction of the frame's width and height.
    max_shift: float = 0.05
    #: Largest rotation in degrees, either way (DeepLabCut trains with up to 30). No flips: they
    #: would swap left and right body parts.
    rotation: float = 15.0
    #: Range of zoom factors (DeepLabCut: 0.5-1.25); narrower keeps the animal's size familiar.
    zoom: tuple[float, float] = (0.9, 1.1)
    #: Largest brightness offset and contrast change, as fractions of the 0-255 range and gain.
    brightness: float = 0.1
    contrast: float = 0.2
    #: Share of windows blurred (Gaussian, sigma up to ``max_blur`` stored pixels): motion blur and
    #: focus vary in real video.
    blur_probability: float = 0.25
    max_blur: float = 1.5
    #: Standard deviation of pixel noise added to every frame, in grey levels (DeepLabCut: 12.75).
    noise: float = 4.0
    #: ``occluder_*`` (not in the paper) train through occlusion: with ``occluder_probability`` a
    #: training sample gets an occluder (rectangle, ellipse or bar; black, white, grey or noise),
    #: placed at random independently of the body parts and drifting by up to ``occluder_speed`` x
    #: the frame size per frame, over a run of up to ``occluder_max_run`` frames (default: the
    #: window); its side is ``occluder_size`` x the frame's smaller side. Targets are unchanged, so
    #: a covered part keeps the teacher's position. LEAP gets the same occluders on single frames.
    occluder_probability: float = 0.0
    occluder_size: tuple[float, float] = (0.1, 0.3)
    occluder_max_run: int | None = None
    occluder_speed: float = 0.02
    #: Loss weight of targets interpolated across short teacher gaps (training sets made with
    #: ``max_gap_fill``), relative to the teacher's and the hand labels' 1; lower trusts the
    #: straight line less (half was worse on hidden points over three seeds: RESULTS.md).
    gap_filled_weight: float = 1.0

    # --- Copied from the training set --------------------------------------------------------
    window_length: int = 15
    scale: float = 1.0
    bodyparts: list[str] = field(default_factory=list)
    channels: int = 1

    def __post_init__(self):
        if self.model not in models.MODEL_KINDS:
            raise ValueError(f"model must be one of {models.MODEL_KINDS}, got {self.model!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.schedule == "converge" and self.epochs is not None:
            raise ValueError(
                "epochs applies to schedule='fixed' (the paper's recipe); the default schedule trains until the "
                "test loss stops improving: set min_steps / max_steps instead, or pass schedule='fixed'"
            )
        if self.normalization not in ("paper", "dataset"):
            raise ValueError(f"normalization must be 'paper' or 'dataset', got {self.normalization!r}")
        self.filters = tuple(int(f) for f in self.filters)
        self.occluder_size = tuple(float(f) for f in self.occluder_size)
        self.zoom = tuple(float(f) for f in self.zoom)
        if not 0 <= self.occluder_probability <= 1:
            raise ValueError(f"occluder_probability must be in [0, 1], got {self.occluder_probability}")
        if len(self.occluder_size) != 2 or not 0 < self.occluder_size[0] <= self.occluder_size[1]:
            raise ValueError(f"occluder_size must be (smallest, largest) fractions > 0, got {self.occluder_size}")
        if len(self.zoom) != 2 or not 0 < self.zoom[0] <= self.zoom[1]:
            raise ValueError(f"zoom must be (smallest, largest) factors > 0, got {self.zoom}")
        if not 0 <= self.blur_probability <= 1:
            raise ValueError(f"blur_probability must be in [0, 1], got {self.blur_probability}")
        if not 0 <= self.gap_filled_weight <= 1:
            raise ValueError(f"gap_filled_weight must be in [0, 1], got {self.gap_filled_weight}")
        if not 0 < self.lr_factor <= 1 or not 0 < self.min_lr_fraction <= 1:
            raise ValueError(f"lr_factor and min_lr_fraction must be in (0, 1], got {self.lr_factor}, "
                             f"{self.min_lr_fraction}")
        if self.max_steps < 1 or not 0 <= self.resolved_min_steps <= self.max_steps:
            raise ValueError(f"need 0 <= min_steps <= max_steps and max_steps >= 1, got {self.min_steps}, "
                             f"{self.max_steps}")
        for name in ("epochs", "steps_per_epoch", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")

    @property
    def recurrent(self) -> bool:
        return self.model != "leap"

    @property
    def converge(self) -> bool:
        return self.schedule == "converge"

    @property
    def resolved_batch_size(self) -> int:
        """Paper: 32 single frames for LEAP, 8 windows for the recurrent network."""
        return self.batch_size or (8 if self.recurrent else 32)

    @property
    def resolved_min_steps(self) -> int:
        """min_steps, by default 1000 or max_steps if that is lower."""
        return DEFAULT_MIN_STEPS if self.min_steps is None and self.max_steps >= DEFAULT_MIN_STEPS else (
            self.max_steps if self.min_steps is None else self.min_steps)

    @property
    def resolved_epochs(self) -> int:
        """Passes under "fixed" (the paper's 10 by default)."""
        return self.epochs or PAPER_EPOCHS

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
            skip_connection=self.skip_connection,
            channels=self.channels,
            filters=self.filters,
            mean=self.mean,
            std=self.std,
            height=height,
            width=width,
        )

    def save(self, path: Path) -> None:
        data = asdict(self)
        for name in ("filters", "occluder_size", "zoom"):
            data[name] = list(data[name])
        _atomic_yaml(path, data)

    @classmethod
    def load(cls, path: Path) -> "TrainingConfig":
        data = YAML(typ="safe").load(Path(path).read_text())
        known = {f.name for f in fields(cls)}
        return cls(**{**ADDED_LATER, **{k: v for k, v in data.items() if k in known}})


#: Fields added after the first students were trained, with the value that reproduces how those
#: were trained (not today's default), so an old dlc_recurrent.yaml loads as what it was.
ADDED_LATER = {"schedule": "fixed", "rotation": 0.0, "zoom": (1.0, 1.0), "blur_probability": 0.0, "noise": 0.0}


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


def deeplabcut_options(model: str, shuffle: int = 1, trainingsetindex: int = 0) -> dict:
    """Keyword arguments with which deeplabcut's tools (filterpredictions, create_labeled_video, ...)
    find a student's predictions in any project: the engine too, since DLC takes it from the user's
    own shuffle of that number, which may be a TensorFlow one."""
    from deeplabcut.core.engine import Engine

    return {"shuffle": shuffle, "trainingsetindex": trainingsetindex, "modelprefix": modelprefix(model),
            "engine": Engine.PYTORCH}


def train(
    config: str | Path,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    model: str = "convlstm_leap",
    gputouse: int | None = None,
    overwrite: bool = False,
    devices: list[str] | None = None,
    device: str | int | None = None,
    **options,
) -> Path:
    """Train a student on the project's training set; returns its ``train`` folder.

    ``options`` override fields of :class:`TrainingConfig` (schedule, min_steps, max_steps,
    batch_size, learning_rate, sigma, ...). Re-running after an interruption resumes from the last
    checkpoint; a finished student is kept unless ``overwrite=True`` (a larger ``max_steps``, or
    ``min_steps``, or ``epochs`` under schedule="fixed", trains it on). Trains on one device: ``gputouse``
    or DLC 3's ``device`` ("cpu", "cuda:1"), by default the first GPU (memory growth on) or the CPU;
    ``devices`` (TensorFlow names, e.g. ["/GPU:0", "/GPU:1"]) trains data-parallel on several.
    ``shuffle`` is the student's own training-set number, not your DLC network's.
    """
    project = load_project(config)
    refuse_multi_machine()
    _check_option_names(options)
    if devices and (gputouse is not None or device is not None):
        raise ValueError("devices (several, data-parallel) or gputouse/device (one): give one of them")
    chosen = None if devices else select_device(device, gputouse)  # before anything is deleted or locked
    set_folder = training_set_folder(project, shuffle, trainingsetindex)
    building = builder_lock_path(set_folder)
    if not is_stale(building):  # a lock that is not there is stale too
        raise ProjectError(f"{set_folder}: {describe_holder(building)} is building this training set; let it "
                           "finish, then train")
    if not (set_folder / "trainingset.yaml").is_file():
        raise ProjectError(f"{set_folder}: no training set here; make it first with "
                           f"dlc_recurrent.create_training_set(config, {set_arguments(shuffle, trainingsetindex)})")
    lock = try_lock(trainer_lock_path(set_folder, model))
    if lock is None:
        raise ProjectError(f"{model_folder(project, shuffle, trainingsetindex, model)}: "
                           f"{describe_holder(trainer_lock_path(set_folder, model))} is training this student; "
                           "let it finish (or stop it) first")
    with lock:
        trainset = load_training_set(set_folder)
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
        return _train_locked(project, shuffle, trainingsetindex, model, trainset, train_config, overwrite, devices,
                             chosen)


def _check_option_names(options: dict) -> None:
    """A misspelt training option is a one-line error that suggests the field meant."""
    import difflib

    settable = [f.name for f in fields(TrainingConfig) if f.name not in COPIED_FIELDS or f.name in ("mean", "std")]
    for name in options:
        if name not in settable:
            close = difflib.get_close_matches(name, settable, n=1)
            hint = f"did you mean {close[0]}?" if close else "see dlc_recurrent.training.TrainingConfig"
            raise ValueError(f"train: no option {name!r}; {hint}")


def _train_locked(project: Project, shuffle: int, trainingsetindex: int, model: str, trainset: TrainingSet,
                  train_config: TrainingConfig, overwrite: bool, devices: list[str] | None, chosen: str | None) -> Path:
    folder = model_folder(project, shuffle, trainingsetindex, model) / "train"
    if overwrite and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _check_same_config(folder, train_config)
    _check_same_training_set(folder, trainset)
    train_config.save(folder / CONFIG_NAME)

    strategy = _strategy(devices, chosen)
    if train_config.mixed_precision and tf.DeviceSpec.from_string(chosen or devices[0]).device_type == "GPU":
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        epochs = _fit(trainset, train_config, folder, strategy, shuffle, trainingsetindex)
        write_dlc_model_files(project, folder, train_config.model, epochs)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return folder


class ScheduleState(tf.Module):
    """What the schedule knows, checkpointed with the weights so a resumed run decides as the
    uninterrupted one would have."""

    def __init__(self):
        super().__init__(name="schedule")
        #: lowest monitored loss so far, and the evaluation (epoch count) it came at; its weights
        #: are in BEST_WEIGHTS_NAME
        self.best_loss = tf.Variable(math.inf, dtype=tf.float64)
        self.best_epoch = tf.Variable(0, dtype=tf.int64)
        #: the last SMOOTHING monitored losses (NaN until there are that many); plateaus and the stop
        #: are judged on their mean, since a small test set makes single evaluations noisy
        self.recent = tf.Variable(tf.fill([SMOOTHING], tf.constant(math.nan, tf.float64)))
        #: the smoothed loss at the last improvement by min_improvement, and the steps since then
        self.reference = tf.Variable(math.inf, dtype=tf.float64)
        self.since_improvement = tf.Variable(0, dtype=tf.int64)
        self.since_lr_change = tf.Variable(0, dtype=tf.int64)
        self.lr_scale = tf.Variable(1.0, dtype=tf.float64)
        #: the stopping rule has fired (the student converged)
        self.stopped = tf.Variable(False)
        #: seconds spent training, over all runs that resumed each other
        self.seconds = tf.Variable(0.0, dtype=tf.float64)


def steps_per_epoch(config: TrainingConfig, n_samples: int, batch: int) -> int:
    """Optimizer steps per evaluation period of a new run (see TrainingConfig.steps_per_epoch); a
    resumed run keeps the period it started with (checkpointed), whatever max_steps is now."""
    if config.steps_per_epoch:
        return config.steps_per_epoch
    return min(DEFAULT_PERIOD, config.max_steps) if config.converge else max(1, math.ceil(n_samples / batch))


def _fit(trainset: TrainingSet, config: TrainingConfig, folder: Path, strategy, shuffle: int = 1,
         trainingsetindex: int = 0) -> int:
    """Train (or resume) until the schedule ends; returns the number of evaluation periods trained."""
    keras.utils.set_random_seed(config.seed)
    height, width = trainset.max_frame_shape()
    with strategy.scope():
        network, trainer, optimizer = build_trainer(config, height, width)
    # two checkpoints of weights and Adam's two moments, the best and the final weights
    student_bytes = 8 * 4 * network.count_params()

    # samples: how far into the (seeded, endless) training stream the checkpointed weights are
    state = ScheduleState()
    period = tf.Variable(0, dtype=tf.int64)  # steps per epoch the run started with (0: before it was saved)
    checkpoint = tf.train.Checkpoint(network=network, optimizer=optimizer, epoch=tf.Variable(0),
                                     samples=tf.Variable(-1, dtype=tf.int64), schedule=state, period=period)
    _repair_checkpoint_state(folder / "checkpoints")
    manager = tf.train.CheckpointManager(checkpoint, str(folder / "checkpoints"), max_to_keep=2)
    restored = _restore_newest_readable(manager, checkpoint)
    start_epoch = int(checkpoint.epoch.numpy())

    batch = config.resolved_batch_size * strategy.num_replicas_in_sync
    where = _device_names(strategy)
    samples = training_samples(trainset, "train", config.recurrent)
    steps = int(period.numpy()) if start_epoch and int(period.numpy()) else steps_per_epoch(config, len(samples), batch)
    period.assign(steps)
    if config.converge:
        total_epochs = math.ceil(config.max_steps / steps)
        done = start_epoch >= total_epochs or (bool(state.stopped.numpy()) and start_epoch * steps >= config.resolved_min_steps)
    else:
        total_epochs = config.resolved_epochs
        done = start_epoch >= total_epochs
    if done and (folder / WEIGHTS_NAME).is_file():
        if not config.converge:
            how = "a larger epochs"
        elif bool(state.stopped.numpy()):
            how = "a larger min_steps (it converged: more steps are rarely worth it)"
        else:
            how = "a larger max_steps"
        logger.info(f"{folder} already holds a finished {config.model} ({start_epoch * steps} steps); pass {how} to "
                    "train it on, or overwrite=True to train again.")
        return start_epoch
    if not done:
        existing = sum(path.stat().st_size for path in (folder / "checkpoints").glob("ckpt-*"))
        check_free_space(folder, max(student_bytes - existing, 0), "training")
        logger.info(f"Training {config.model} on {where}: {config.resolved_batch_size} "
                    f"{'windows of ' + str(config.window_length) + ' frames' if config.recurrent else 'frames'} "
                    f"of {width}x{height} px per step and device")
        if start_epoch:
            logger.info(f"Resuming {config.model} training from epoch {start_epoch} (step {start_epoch * steps}; "
                        f"{restored}).")
        state.stopped.assign(False)
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
            logger.warning(f"{n_test} test windows cannot be shared among {strategy.num_replicas_in_sync} devices; "
                           "no test loss this run")
            n_test = 0
        if not n_test and config.converge and start_epoch == 0:
            logger.warning("No test windows: convergence is judged on the training loss, which keeps falling as a "
                           "student overfits; a TrainingFraction below 1 keeps test blocks apart for this.")
        _truncate_history(folder / HISTORY_NAME, start_epoch)
        callbacks = [
            StepLog(steps, optimizer),
            Schedule(state, config, network, folder, steps, optimizer) if config.converge else None,
            Stopwatch(state),
            Forecast(config, steps, where),
            keras.callbacks.CSVLogger(str(folder / HISTORY_NAME), append=start_epoch > 0),
            EpochCheckpoint(manager, checkpoint, samples_per_epoch=steps * batch),
            keras.callbacks.TensorBoard(log_dir=str(folder / "logs"), update_freq="epoch", profile_batch=0),
            TqdmProgress(total_epochs, steps, config.converge),
        ]
        with explain_full_disk(folder, student_bytes, "train"):
            trainer.fit(
                train_data.repeat(),
                epochs=total_epochs,
                initial_epoch=start_epoch,
                steps_per_epoch=steps,
                validation_data=test_data if n_test else None,
                callbacks=[callback for callback in callbacks if callback is not None],
                verbose=0,
            )
    trained_epochs = int(checkpoint.epoch.numpy())
    history = pd.read_csv(folder / HISTORY_NAME) if (folder / HISTORY_NAME).is_file() else pd.DataFrame()
    for column in ("loss", "val_loss"):
        if column in history and len(history) and not np.isfinite(history[column].iloc[-1]):
            raise ProjectError(f"{folder}: the {'test' if column == 'val_loss' else 'training'} loss became "
                               f"{history[column].iloc[-1]} at step {trained_epochs * steps}; train again with a lower "
                               "learning_rate (overwrite=True)")
    if config.converge and (folder / BEST_WEIGHTS_NAME).is_file():
        network.load_weights(str(folder / BEST_WEIGHTS_NAME))
    try:
        with explain_full_disk(folder, student_bytes, "train"):
            network.save_weights(str(folder / (WEIGHTS_NAME + ".tmp")), save_format="h5")
    except BaseException:
        (folder / (WEIGHTS_NAME + ".tmp")).unlink(missing_ok=True)
        raise
    os.replace(folder / (WEIGHTS_NAME + ".tmp"), folder / WEIGHTS_NAME)
    summary = _write_summary(folder, config, trainset, state, steps, trained_epochs, history, shuffle,
                             trainingsetindex)
    logger.info(summary["verdict"])
    return trained_epochs


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
    """Refuse to resume a run that was started with another recipe (a longer one is allowed)."""
    path = folder / CONFIG_NAME
    if not path.is_file():
        return
    saved, requested = asdict(TrainingConfig.load(path)), asdict(config)
    for extendable in ("epochs", "min_steps", "max_steps"):
        saved.pop(extendable), requested.pop(extendable)
    differ = [f"{name}={saved[name]!r}" for name in saved if saved[name] != requested.get(name)]
    if differ:
        raise ProjectError(
            f"{path}: a training run with other settings is in this folder ({', '.join(differ)}); pass the same "
            "settings to resume it, or overwrite=True to start again"
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


def _repair_checkpoint_state(directory: Path) -> None:
    """Rewrite TensorFlow's ``checkpoint`` state file from the checkpoints on disk when it is damaged
    or missing: TensorFlow then ignores them all, and a resumed run would silently start again."""
    indexes = sorted((path for path in directory.glob("ckpt-*.index") if re.fullmatch(r"ckpt-\d+\.index", path.name)),
                     key=lambda path: int(path.name[5:-6]))
    if not indexes:
        return
    state = None
    with contextlib.suppress(Exception):
        state = tf.train.get_checkpoint_state(str(directory))
    if state is not None and state.model_checkpoint_path:
        return
    names = [path.name[:-len(".index")] for path in indexes]
    times = [path.stat().st_mtime for path in indexes]  # the manager keeps only checkpoints newer than
    text = (f'model_checkpoint_path: "{names[-1]}"\n'  # the last preserved time
            + "".join(f'all_model_checkpoint_paths: "{n}"\n' for n in names)
            + "".join(f"all_model_checkpoint_timestamps: {t}\n" for t in times)
            + f"last_preserved_timestamp: {min(times) - 1}\n")
    atomic_write(directory / "checkpoint", lambda tmp: Path(tmp).write_text(text))
    logger.warning(f"{directory / 'checkpoint'}: damaged or missing; rebuilt from the checkpoints on disk "
                   f"({', '.join(names)}) so that training resumes")


def _restore_newest_readable(manager: tf.train.CheckpointManager, checkpoint: tf.train.Checkpoint) -> str | None:
    """Restore the newest checkpoint that reads back whole; None for a fresh run.

    A full disk or a killed copy can leave the newest one cut short: the one before it (the manager
    keeps two) is used instead, and the user is told; when none reads, a one-line error.
    """
    damaged = []
    for path in reversed(manager.checkpoints):
        try:
            checkpoint.restore(path).expect_partial()
        except (tf.errors.OpError, IndexError, ValueError, OSError) as error:
            damaged.append(f"{Path(path).name}: {type(error).__name__}")
            continue
        if damaged:
            logger.warning(f"{Path(path).parent}: {damaged[0]} is damaged (cut short by a full disk or a killed "
                           f"copy?); resuming from {Path(path).name} instead, a few steps earlier")
        return path
    if damaged:
        raise ProjectError(f"{Path(manager.directory)}: no checkpoint reads back ({'; '.join(damaged)}); pass "
                           "overwrite=True to train this student again from the start")
    return None


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


def _strategy(devices: list[str] | None, chosen: str | None):
    """Data-parallel over ``devices`` when several are given; otherwise the one device chosen, through
    TensorFlow's default strategy where its own placement already picks it (the first GPU, or the
    CPU of a machine without one)."""
    if devices and len(devices) > 1:
        logger.info(f"Training data-parallel on {len(devices)} devices: {', '.join(devices)}")
        return tf.distribute.MirroredStrategy(devices)
    device = tf.DeviceSpec.from_string(devices[0] if devices else chosen)
    if (device.device_type or "").upper() == _default_device_type() and (device.device_index or 0) == 0:
        return tf.distribute.get_strategy()
    return tf.distribute.OneDeviceStrategy(device.to_string())


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
    """One random rotation, zoom, shift, blur, brightness and contrast change applied to every
    frame of a window alike (pixel noise drawn per frame); points that leave the frame are masked."""
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


class StepLog(keras.callbacks.Callback):
    """Adds the optimizer step and the learning rate to each epoch's logs (history.csv, TensorBoard)."""

    def __init__(self, steps_per_epoch: int, optimizer):
        super().__init__()
        self.steps_per_epoch, self.optimizer = steps_per_epoch, optimizer

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["step"] = (epoch + 1) * self.steps_per_epoch
            logs["lr"] = float(keras.backend.get_value(self.optimizer.learning_rate))


class Forecast(keras.callbacks.Callback):
    """Says once, after the second evaluation period of a run (the first includes tracing), how long a
    step takes here and what min_steps and max_steps will cost, so nobody waits a day unawares."""

    def __init__(self, config: TrainingConfig, steps_per_epoch: int, where: str):
        super().__init__()
        self.config, self.steps_per_epoch, self.where = config, steps_per_epoch, where
        self.periods, self.started = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.periods += 1
        if self.periods != 2 or self.started is None:
            return
        seconds = (time.time() - self.started) / self.steps_per_epoch
        done = (epoch + 1) * self.steps_per_epoch  # steps trained so far, earlier runs included
        period = self.steps_per_epoch
        if self.config.converge:
            least = max(0, self.config.resolved_min_steps - done)
            most = max(0, math.ceil(self.config.max_steps / period) * period - done)
            span = (f"reaching min_steps ({self.config.resolved_min_steps}) takes about {_duration(seconds * least)} "
                    f"more, max_steps ({self.config.max_steps}) at most {_duration(seconds * most)} more")
        else:
            left = max(0, self.config.resolved_epochs * period - done)
            span = f"the {left} steps left take about {_duration(seconds * left)}"
        faster = "a smaller create_training_set(scale=...)" + ("" if "GPU" in self.where else " or a GPU")
        logger.info(f"{self.config.model} on {self.where}: {seconds:.2f} s per step; {span} ({faster} makes "
                    "steps faster)")


def _device_names(strategy) -> str:
    try:
        devices = strategy.extended.worker_devices
    except RuntimeError:  # TensorFlow's default strategy: its own placement, the first GPU or the CPU
        devices = [f"{_default_device_type()}:0"]
    return ", ".join(device.split("device:")[-1] for device in devices)


def _default_device_type() -> str:
    """Where TensorFlow places work by itself: "GPU" (the first one) when it sees any, else "CPU"."""
    return "GPU" if tf.config.list_logical_devices("GPU") else "CPU"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class Schedule(keras.callbacks.Callback):
    """schedule="converge": warm-up, the learning rate lowered on plateaus, early stopping, best weights.

    The monitored loss is the test-block loss (the training loss when there is no test window);
    plateaus and the stop are judged on the mean of its last SMOOTHING evaluations, the best weights
    on single evaluations. Every value it decides on lives in a :class:`ScheduleState` that the
    checkpoint saves.
    """

    def __init__(self, state: ScheduleState, config: TrainingConfig, network: keras.Model, folder: Path,
                 steps_per_epoch: int, optimizer):
        super().__init__()
        self.state, self.config, self.network, self.folder = state, config, network, folder
        self.steps_per_epoch, self.optimizer = steps_per_epoch, optimizer
        self.epoch = 0

    def learning_rate(self, step: int) -> float:
        warm = min(1.0, (step + 1) / self.config.warmup_steps) if self.config.warmup_steps else 1.0
        return self.config.learning_rate * float(self.state.lr_scale.numpy()) * warm

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.optimizer.learning_rate.assign(self.learning_rate(epoch * self.steps_per_epoch))

    def on_train_batch_begin(self, batch, logs=None):
        step = self.epoch * self.steps_per_epoch + batch
        if step <= self.config.warmup_steps:
            self.optimizer.learning_rate.assign(self.learning_rate(step))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        state, config = self.state, self.config
        loss = float(logs.get("val_loss", logs.get("loss", math.nan)))
        if not np.isfinite(loss):
            self.model.stop_training = True
            return
        if loss < float(state.best_loss.numpy()):
            state.best_loss.assign(loss)
            state.best_epoch.assign(epoch + 1)
            temporary = self.folder / (BEST_WEIGHTS_NAME + ".tmp")
            self.network.save_weights(str(temporary), save_format="h5")
            os.replace(temporary, self.folder / BEST_WEIGHTS_NAME)
        recent = np.append(state.recent.numpy()[1:], loss)
        state.recent.assign(recent)
        smoothed = float(np.nanmean(recent))
        if smoothed < float(state.reference.numpy()) * (1 - config.min_improvement):
            state.reference.assign(smoothed)
            state.since_improvement.assign(0)
            state.since_lr_change.assign(0)
        else:
            state.since_improvement.assign_add(self.steps_per_epoch)
            state.since_lr_change.assign_add(self.steps_per_epoch)
        scale = float(state.lr_scale.numpy())
        if int(state.since_lr_change.numpy()) >= config.lr_patience and scale > config.min_lr_fraction:
            state.lr_scale.assign(max(scale * config.lr_factor, config.min_lr_fraction))
            state.since_lr_change.assign(0)
        step = (epoch + 1) * self.steps_per_epoch
        if step >= config.resolved_min_steps and int(state.since_improvement.numpy()) >= config.patience:
            state.stopped.assign(True)
            self.model.stop_training = True


class Stopwatch(keras.callbacks.Callback):
    """Adds each epoch's wall time to the checkpointed total (training minutes over resumed runs)."""

    def __init__(self, state: ScheduleState):
        super().__init__()
        self.state, self.started = state, None

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        self.state.seconds.assign_add(time.monotonic() - self.started)


class TqdmProgress(keras.callbacks.Callback):
    """One tqdm bar per evaluation period with the running loss, and the test loss when it ends."""

    def __init__(self, epochs: int, steps: int, converge: bool = False):
        super().__init__()
        self.epochs, self.steps, self.converge, self.bar = epochs, steps, converge, None

    def on_epoch_begin(self, epoch, logs=None):
        if self.converge:
            first = epoch * self.steps
            description = f"steps {first + 1}-{first + self.steps} (at most {self.epochs * self.steps})"
        else:
            description = f"epoch {epoch + 1}/{self.epochs}"
        self.bar = tqdm(total=self.steps, desc=description, unit="step", leave=True)

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


def convergence(history: pd.DataFrame, config: TrainingConfig, steps_per_epoch: int) -> dict:
    """Whether the monitored loss had stopped improving when training ended, by the converge rule
    (for either schedule): its mean over the last SMOOTHING evaluations fell by less than
    ``min_improvement`` over the last ``patience`` steps."""
    column = "val_loss" if "val_loss" in history else "loss"
    monitor = "test_loss" if column == "val_loss" else "train_loss"
    losses = history[column].to_numpy(float) if column in history else np.zeros(0)
    if not len(losses):
        return {"monitor": monitor, "converged": False, "recent_improvement": float("nan")}
    smoothed = pd.Series(losses).rolling(SMOOTHING, min_periods=1).mean().to_numpy()
    back = min(len(smoothed) - 1, math.ceil(config.patience / steps_per_epoch))
    before = np.min(smoothed[: len(smoothed) - back])
    improvement = float(1 - smoothed[-1] / before) if back and before > 0 else 0.0
    long_enough = len(losses) * steps_per_epoch >= config.patience
    return {"monitor": monitor, "converged": bool(long_enough and improvement < config.min_improvement),
            "recent_improvement": improvement}


def set_arguments(shuffle: int, trainingsetindex: int = 0) -> str:
    """How a suggested call names a training set: ``shuffle=N`` (and ``trainingsetindex=M`` unless 0)."""
    return f"shuffle={shuffle}" + (f", trainingsetindex={trainingsetindex}" if trainingsetindex else "")


def train_call(config: TrainingConfig, shuffle: int = 1, trainingsetindex: int = 0, **changes) -> str:
    """The ``dlc_recurrent.train`` call that trains this student on: its settings that differ from the
    defaults (a resumed run must repeat them), then ``changes``."""
    defaults = asdict(TrainingConfig())
    chosen = {name: value for name, value in asdict(config).items()
              if name not in COPIED_FIELDS and value != defaults[name]}
    chosen.update(changes)
    words = [set_arguments(shuffle, trainingsetindex), f"model={config.model!r}"]
    words += [f"{name}={value!r}" for name, value in chosen.items()]
    return f"dlc_recurrent.train(config, {', '.join(words)})"


def _write_summary(folder: Path, config: TrainingConfig, trainset: TrainingSet, state: ScheduleState,
                   steps_per_epoch: int, epochs: int, history: pd.DataFrame, shuffle: int,
                   trainingsetindex: int) -> dict:
    """training_summary.yaml: what was trained, how long, and whether it converged (in words too,
    with the call that trains it on when it did not)."""
    steps = epochs * steps_per_epoch
    judged = convergence(history, config, steps_per_epoch)
    column = "val_loss" if "val_loss" in history else "loss"
    if config.converge and bool(state.stopped.numpy()):
        converged, reason = True, f"no {config.min_improvement:.0%} improvement of the {judged['monitor']} " \
                                  f"over {config.patience} steps"
    elif config.converge:
        rounded = "" if steps == config.max_steps else f", rounded up to whole periods of {steps_per_epoch} steps"
        converged, reason = False, f"reached max_steps={config.max_steps}{rounded}"
    else:
        converged, reason = judged["converged"], f"schedule='fixed': {config.resolved_epochs} epochs"
    best_epoch = int(state.best_epoch.numpy()) if config.converge and int(state.best_epoch.numpy()) else epochs
    minutes = float(state.seconds.numpy()) / 60
    if converged:
        verdict = (f"{config.model}: converged after {steps} steps ({minutes:.1f} min; {reason}); "
                   f"weights of step {best_epoch * steps_per_epoch} kept")
        fix = None
    else:
        longer = {"max_steps": 2 * config.max_steps} if config.converge else {"epochs": 2 * config.resolved_epochs}
        fix = train_call(config, shuffle, trainingsetindex, **longer)
        verdict = (f"{config.model}: NOT converged after {steps} steps ({minutes:.1f} min; {reason}; the "
                   f"{judged['monitor']} fell {judged['recent_improvement']:.1%} over the last "
                   f"{min(config.patience, steps)} steps): train it on with {fix}")
        if not config.converge:
            verdict += ", or train until it converges (the default schedule) with overwrite=True"
    summary = {
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "model": config.model,
        "schedule": config.schedule,
        "epochs": epochs,
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "minutes": round(minutes, 2),
        "converged": bool(converged),
        "stop_reason": reason,
        "monitor": judged["monitor"],
        "kept_step": best_epoch * steps_per_epoch,
        "verdict": verdict,
        "train_on": fix,
        "training_set": str(trainset.folder),
        "teachers": sorted({v["teacher_scorer"] for v in trainset.videos}),
        "final_train_loss": float(history["loss"].iloc[-1]) if "loss" in history else None,
        "final_test_loss": float(history["val_loss"].iloc[-1]) if "val_loss" in history else None,
        "kept_loss": float(history[column].iloc[best_epoch - 1]) if column in history and best_epoch <= len(history)
        else None,
    }
    _atomic_yaml(folder / SUMMARY_NAME, summary)
    return summary


def read_training_summary(folder: str | Path) -> dict | None:
    """A trained student's training_summary.yaml (None for a folder without one)."""
    path = Path(folder) / SUMMARY_NAME
    return YAML(typ="safe").load(path.read_text()) if path.is_file() else None


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
    try:
        config = TrainingConfig.load(folder / CONFIG_NAME)
    except Exception as error:  # garbled or cut short
        raise ProjectError(f"{folder / CONFIG_NAME}: damaged ({type(error).__name__}); retrain the student with "
                           "dlc_recurrent.train(config, ..., overwrite=True)") from None
    network = config.build_model()
    try:
        network.load_weights(str(weights))
    except Exception as error:
        raise ProjectError(f"{weights}: damaged or not this student's ({type(error).__name__}); retrain it with "
                           "dlc_recurrent.train(config, ..., overwrite=True)") from None
    return network, config
