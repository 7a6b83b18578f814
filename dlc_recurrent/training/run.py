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

import logging
import math
import os
import shutil
from dataclasses import fields
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent._tensorflow import keras, tf
from dlc_recurrent.config import (
    COPIED_FIELDS,
    SHARED_WITH_LEAP,
    TrainingConfig,
    fine_tune_defaults,
    set_arguments,
    steps_per_epoch,
)
from dlc_recurrent.devices import default_device_type, device_names, refuse_multi_machine, select_device
from dlc_recurrent.distill import TrainingSet, load_training_set, training_set_fingerprint
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import check_free_space, explain_full_disk
from dlc_recurrent.kinds import model_kind
from dlc_recurrent.layout import (
    BEST_WEIGHTS_NAME,
    CONFIG_NAME,
    HISTORY_NAME,
    TRAINING_SET_META,
    WEIGHTS_NAME,
    ShuffleLayout,
    builder_lock_path,
    trainer_lock_path,
)
from dlc_recurrent.locks import describe_holder, is_stale, try_lock
from dlc_recurrent.models import warm_start_from_leap
from dlc_recurrent.precision import computing_in, keras_policy
from dlc_recurrent.project import load_project
from dlc_recurrent.training.callbacks import (
    EpochCheckpoint,
    Forecast,
    HiddenTestLoss,
    Schedule,
    ScheduleState,
    StepLog,
    Stopwatch,
    TqdmProgress,
)
from dlc_recurrent.training.checkpoints import (
    check_same_config,
    check_same_training_set,
    repair_checkpoint_state,
    restore_newest_readable,
    trained_on,
    truncate_history,
)
from dlc_recurrent.training.data import (
    dataset_statistics,
    hidden_test_samples,
    make_dataset,
    training_samples,
    validation_batch_size,
)
from dlc_recurrent.training.outputs import load_student, write_dlc_model_files, write_summary
from dlc_recurrent.training.trainer import build_trainer

logger = logging.getLogger(__name__)


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
    """Train a student on the project's training set (built by ``create_training_set``).

    Re-running after an interruption resumes from the last checkpoint; a finished student is kept
    unless ``overwrite=True`` (a larger ``max_steps``, or ``min_steps``, or ``epochs`` under
    schedule="fixed", trains it on).

    Args:
        config: the DLC project's config.yaml (or its folder).
        shuffle: the student's own training-set number, not your DLC network's.
        trainingsetindex: the index of the training fraction in config.yaml.
        model: "convlstm_leap" (the recurrent student), "leap" (single-frame control) or
            "bidirectional_leap".
        gputouse: the GPU to train on (DLC's argument); by default the first GPU (memory growth on)
            or the CPU.
        overwrite: delete a student already in the folder and train afresh.
        devices: TensorFlow device names (e.g. ["/GPU:0", "/GPU:1"]) to train data-parallel on several
            (not with ``gputouse`` or ``device``).
        device: DLC 3's device ("cpu", "cuda:1"), instead of ``gputouse``.
        **options: fields of :class:`~dlc_recurrent.config.TrainingConfig` (schedule, min_steps,
            max_steps, batch_size, learning_rate, sigma, ...); a misspelt one is an error.

    Returns:
        The student's ``train`` folder (weights, settings, history, training summary).

    Raises:
        ProjectError: no training set, or the set or the student is busy with another process.
        ValueError: an unknown option, an option out of range, or both ``devices`` and one device.
    """
    project = load_project(config)
    refuse_multi_machine()
    _check_option_names(options)
    if devices and (gputouse is not None or device is not None):
        raise ValueError("devices (several, data-parallel) or gputouse/device (one): give one of them")
    chosen = None if devices else select_device(device, gputouse)  # before anything is deleted or locked
    where = ShuffleLayout.resolve(project, shuffle, trainingsetindex)
    set_folder = where.training_set
    building = builder_lock_path(set_folder)
    if not is_stale(building):  # a lock that is not there is stale too
        raise ProjectError(f"{set_folder}: {describe_holder(building)} is building this training set; let it "
                           "finish, then train")
    if not (set_folder / TRAINING_SET_META).is_file():
        raise ProjectError(f"{set_folder}: no training set here; make it first with "
                           f"dlc_recurrent.create_training_set(config, {set_arguments(shuffle, trainingsetindex)})")
    if options.get("start_from") == "leap":
        if not model_kind(model).recurrent:
            raise ValueError("start_from='leap' applies to the recurrent students; LEAP is what they start from")
        options = {**fine_tune_defaults(options.get("max_steps")), **options}
        if not (where.train_folder("leap") / WEIGHTS_NAME).is_file():
            logger.info(f"{model} starts from the LEAP control of this training set, which is not trained yet: "
                        "training it first")
            shared = {name: options[name] for name in SHARED_WITH_LEAP if name in options}
            train(config, shuffle, trainingsetindex, model="leap", gputouse=gputouse, devices=devices, device=device,
                  **shared)
    lock = try_lock(trainer_lock_path(set_folder, model))
    if lock is None:
        raise ProjectError(f"{where.model(model)}: "
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
        return _train_locked(where, trainset, train_config, overwrite, devices, chosen)


def _check_option_names(options: dict) -> None:
    """A misspelt training option is a one-line error that suggests the field meant."""
    import difflib

    settable = [f.name for f in fields(TrainingConfig) if f.name not in COPIED_FIELDS or f.name in ("mean", "std")]
    for name in options:
        if name not in settable:
            close = difflib.get_close_matches(name, settable, n=1)
            hint = f"did you mean {close[0]}?" if close else "see dlc_recurrent.config.TrainingConfig"
            raise ValueError(f"train: no option {name!r}; {hint}")


def _train_locked(where: ShuffleLayout, trainset: TrainingSet, train_config: TrainingConfig, overwrite: bool,
                  devices: list[str] | None, chosen: str | None) -> Path:
    folder = where.train_folder(train_config.model)
    if overwrite and folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    check_same_config(folder, train_config)
    check_same_training_set(folder, trainset)
    train_config.save(folder / CONFIG_NAME)

    strategy = _strategy(devices, chosen)
    device_type = tf.DeviceSpec.from_string(chosen or devices[0]).device_type or "CPU"
    policy = keras_policy(train_config.precision, device_type, training=True)
    with computing_in(policy):
        epochs = _fit(trainset, train_config, folder, strategy, where.shuffle, where.trainingsetindex,
                      leap_folder=where.train_folder("leap"))
        write_dlc_model_files(where.project, folder, train_config.model, epochs)
    return folder


def bfloat16_would_pay(config: TrainingConfig, policy: str, where: str) -> bool:
    """Whether a run left in float32 by precision="auto" on ``where`` would get bfloat16 if it asked for it
    (keras_policy's own rule: hardware bfloat16).

    Args:
        config: the student's settings (its precision).
        policy: the Keras dtype policy the run computes in.
        where: the devices it trains on, as :func:`~dlc_recurrent.devices.device_names` gives them
            ("CPU:0", "GPU:0, GPU:1").

    Returns:
        True when precision is "auto", the run is in float32, and "bfloat16" would give "mixed_bfloat16"
        on that device type.
    """
    device_type = where.split(":")[0]
    return (config.precision == "auto" and policy == "float32"
            and keras_policy("bfloat16", device_type, training=True) == "mixed_bfloat16")


def _fit(trainset: TrainingSet, config: TrainingConfig, folder: Path, strategy, shuffle: int = 1,
         trainingsetindex: int = 0, leap_folder: Path | None = None) -> int:
    """Train (or resume) until the schedule ends; returns the number of evaluation periods trained.

    A fresh recurrent run with ``start_from="leap"`` starts from the LEAP control in ``leap_folder``.
    """
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
    repair_checkpoint_state(folder / "checkpoints")
    manager = tf.train.CheckpointManager(checkpoint, str(folder / "checkpoints"), max_to_keep=2)
    restored = restore_newest_readable(manager, checkpoint)
    start_epoch = int(checkpoint.epoch.numpy())
    if config.recurrent and config.start_from == "leap" and not restored:
        _start_from_leap(network, config, trainset, leap_folder)

    batch = config.resolved_batch_size * strategy.num_replicas_in_sync
    where = device_names(strategy)
    samples = training_samples(trainset, "train", config.recurrent)
    steps = int(period.numpy()) if start_epoch and int(period.numpy()) else steps_per_epoch(config, len(samples), batch)
    period.assign(steps)
    total_epochs = math.ceil(config.max_steps / steps) if config.converge else config.resolved_epochs
    done = _schedule_done(config, state, start_epoch, steps, total_epochs)
    if done and (folder / WEIGHTS_NAME).is_file():
        _log_finished(folder, config, state, start_epoch * steps)
        return start_epoch
    if not done:
        existing = sum(path.stat().st_size for path in (folder / "checkpoints").glob("ckpt-*"))
        check_free_space(folder, max(student_bytes - existing, 0), "training")
        _announce(config, where, (height, width), start_epoch, steps, restored)
        state.stopped.assign(False)
        # A resumed run continues the sample stream where the checkpoint left it, so that it trains
        # on the batches (and augmentations) an uninterrupted run would have seen.
        if int(checkpoint.samples.numpy()) < 0:  # a fresh run, or a checkpoint from before the counter
            checkpoint.samples.assign(start_epoch * steps * batch)
        train_data, _ = make_dataset(trainset, "train", config, batch, (height, width), training=True,
                                     skip=int(checkpoint.samples.numpy()), samples=samples)
        test_data, n_test, hidden_data = _evaluation_data(trainset, config, folder, batch, (height, width),
                                                          strategy.num_replicas_in_sync, start_epoch)
        truncate_history(folder / HISTORY_NAME, start_epoch)
        callbacks = [
            HiddenTestLoss(hidden_data) if hidden_data is not None else None,  # before those that read it
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
            trainer.fit(train_data.repeat(), epochs=total_epochs, initial_epoch=start_epoch, steps_per_epoch=steps,
                        validation_data=test_data if n_test else None, verbose=0,
                        callbacks=[callback for callback in callbacks if callback is not None])
    trained_epochs = int(checkpoint.epoch.numpy())
    history = pd.read_csv(folder / HISTORY_NAME) if (folder / HISTORY_NAME).is_file() else pd.DataFrame()
    _check_finite(history, folder, trained_epochs * steps)
    _keep_weights(network, config, folder, student_bytes)
    summary = write_summary(folder, config, trainset, state, steps, trained_epochs, history, shuffle,
                             trainingsetindex)
    logger.info(summary["verdict"])
    return trained_epochs


def _announce(config: TrainingConfig, where: str, shape: tuple[int, int], start_epoch: int, steps: int,
              restored) -> None:
    """Say what trains where, at what size and precision, and from which step a resumed run goes on."""
    height, width = shape
    policy = keras.mixed_precision.global_policy().name
    logger.info(f"Training {config.model} on {where} ({policy}): {config.resolved_batch_size} "
                f"{'windows of ' + str(config.window_length) + ' frames' if config.recurrent else 'frames'} "
                f"of {width}x{height} px per step and device")
    if bfloat16_would_pay(config, policy, where):
        logger.info("This CPU computes bfloat16 in hardware: train(..., precision=\"bfloat16\") takes several "
                    "times shorter steps; float32 stays the default because, trained to convergence on a real "
                    "project, its students were not consistently as good (benchmarks/RESULTS.md)")
    if start_epoch:
        logger.info(f"Resuming {config.model} training from epoch {start_epoch} (step {start_epoch * steps}; "
                    f"{restored}).")


def _evaluation_data(trainset: TrainingSet, config: TrainingConfig, folder: Path, batch: int,
                     shape: tuple[int, int], replicas: int, start_epoch: int):
    """The test windows (dataset, count) and, where the run scores hidden parts, the hidden test windows
    (None otherwise), with a warning where either cannot judge what it should."""
    test_data, n_test = _test_data(trainset, config, batch, shape, replicas)
    hidden_data = None
    if n_test and config.tests_hidden_parts and _hidden_test_continues(folder, start_epoch):
        hidden_data, _ = _test_data(trainset, config, batch, shape, replicas, hide_parts=True)
        if not sum(float(tf.reduce_sum(b["weight"])) for b in hidden_data):
            logger.warning("No test window has a part with a target to hide: no hidden-part test loss")
            hidden_data = None
    if not n_test and config.converge and start_epoch == 0:
        logger.warning("No test windows: convergence is judged on the training loss, which keeps falling as a "
                       "student overfits; a TrainingFraction below 1 keeps test blocks apart for this.")
    return test_data, n_test, hidden_data


def _start_from_leap(network, config: TrainingConfig, trainset: TrainingSet, leap_folder: Path) -> None:
    """Give a fresh recurrent student the weights of the LEAP control trained on the same training set."""
    if not (leap_folder / WEIGHTS_NAME).is_file():
        raise ProjectError(f"{leap_folder}: no trained LEAP control to start from; train it first "
                           "(dlc_recurrent.train(config, model='leap')) or pass start_from='scratch'")
    leap, leap_config = load_student(leap_folder)
    if trained_on(leap_folder) != training_set_fingerprint(trainset.folder):
        raise ProjectError(f"{leap_folder}: this LEAP control was trained on another training set than "
                           f"{trainset.folder}; train it again (model='leap', overwrite=True) before starting from it")
    differ = [name for name in ("filters", "channels", "mean", "std", "bodyparts", "sigma", "map_amplitude")
              if getattr(leap_config, name) != getattr(config, name)]
    if differ:
        raise ProjectError(f"{leap_folder}: the LEAP control differs from this student in {', '.join(differ)}; "
                           "give both the same settings or pass start_from='scratch'")
    warm_start_from_leap(network, leap)
    logger.info(f"{config.model} starts from the trained LEAP control ({leap_folder}): its maps are LEAP's at "
                "step 0, and training adds what the frames before give")


def _hidden_test_continues(folder: Path, start_epoch: int) -> bool:
    """Whether this run scores hidden test windows: a fresh run does, a resumed one only if it did from
    the start (a run begun without them keeps its history's columns and its schedule's loss)."""
    if not start_epoch:
        return True
    history = folder / HISTORY_NAME
    return history.is_file() and "val_hidden_loss" in history.read_text().partition("\n")[0].split(",")


def _schedule_done(config: TrainingConfig, state: ScheduleState, start_epoch: int, steps: int,
                   total_epochs: int) -> bool:
    """Whether the checkpoint already reached the schedule's end (all epochs, or converged past min_steps)."""
    if not config.converge:
        return start_epoch >= total_epochs
    converged = bool(state.stopped.numpy()) and start_epoch * steps >= config.resolved_min_steps
    return start_epoch >= total_epochs or converged


def _log_finished(folder: Path, config: TrainingConfig, state: ScheduleState, trained_steps: int) -> None:
    if not config.converge:
        how = "a larger epochs"
    elif bool(state.stopped.numpy()):
        how = "a larger min_steps (it converged: more steps are rarely worth it)"
    else:
        how = "a larger max_steps"
    logger.info(f"{folder} already holds a finished {config.model} ({trained_steps} steps); pass {how} to "
                "train it on, or overwrite=True to train again.")


def _test_data(trainset: TrainingSet, config: TrainingConfig, batch: int, shape: tuple[int, int], replicas: int,
               hide_parts: bool = False):
    """The test blocks' samples in batches every device gets a share of; (dataset, n samples), 0 without.
    ``hide_parts``: each window HIDDEN_COPIES times under part occluders, scored on what they hide."""
    test_samples = hidden_test_samples(trainset) if hide_parts else training_samples(trainset, "test", config.recurrent)
    test_batch = validation_batch_size(len(test_samples), batch, replicas)
    test_data, n_test = make_dataset(trainset, "test", config, max(test_batch, 1), shape, training=False,
                                     samples=test_samples, hide_parts=hide_parts)
    if not test_batch and n_test:
        logger.warning(f"{n_test} test windows cannot be shared among {replicas} devices; no test loss this run")
        n_test = 0
    return test_data, n_test


def _check_finite(history: pd.DataFrame, folder: Path, trained_steps: int) -> None:
    """A loss that became NaN or infinite ends training with the fix, not with a useless student."""
    names = {"loss": "training", "val_loss": "test", "val_hidden_loss": "hidden-part test"}
    for column, name in names.items():
        if column in history and len(history) and not np.isfinite(history[column].iloc[-1]):
            raise ProjectError(f"{folder}: the {name} loss became "
                               f"{history[column].iloc[-1]} at step {trained_steps}; train again with a lower "
                               "learning_rate (overwrite=True)")


def _keep_weights(network, config: TrainingConfig, folder: Path, student_bytes: int) -> None:
    """Write the student's weights (the best ones under schedule="converge") atomically."""
    if config.converge and (folder / BEST_WEIGHTS_NAME).is_file():
        network.load_weights(str(folder / BEST_WEIGHTS_NAME))
    try:
        with explain_full_disk(folder, student_bytes, "train"):
            network.save_weights(str(folder / (WEIGHTS_NAME + ".tmp")), save_format="h5")
    except BaseException:
        (folder / (WEIGHTS_NAME + ".tmp")).unlink(missing_ok=True)
        raise
    os.replace(folder / (WEIGHTS_NAME + ".tmp"), folder / WEIGHTS_NAME)


def _strategy(devices: list[str] | None, chosen: str | None):
    """Data-parallel over ``devices`` when several are given; otherwise the one device chosen, through
    TensorFlow's default strategy where its own placement already picks it (the first GPU, or the
    CPU of a machine without one)."""
    if devices and len(devices) > 1:
        logger.info(f"Training data-parallel on {len(devices)} devices: {', '.join(devices)}")
        return tf.distribute.MirroredStrategy(devices)
    device = tf.DeviceSpec.from_string(devices[0] if devices else chosen)
    if (device.device_type or "").upper() == default_device_type() and (device.device_index or 0) == 0:
        return tf.distribute.get_strategy()
    return tf.distribute.OneDeviceStrategy(device.to_string())


