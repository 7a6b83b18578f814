"""What happens between steps: the convergence schedule (evaluation periods, learning-rate halving,
early stopping with the best weights kept), checkpoints, the history log, progress and forecasts."""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from dlc_recurrent._tensorflow import keras, tf
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.layout import BEST_WEIGHTS_NAME

logger = logging.getLogger(__name__)


#: schedule="converge" judges plateaus on the mean of this many evaluations of the test loss: on the
#: real project's 12 test windows single evaluations scattered by +-15% around the trend.
SMOOTHING = 3


def monitored_loss(logs):
    """The loss schedule="converge" judges: the test loss, or where the student has a hidden-part test loss
    (``HiddenTestLoss``) the geometric mean of the two, so that each counts by its relative change
    (the hidden one, on wider maps, is many times larger); the training loss when there are no test
    windows.

    Args:
        logs: one epoch's logs (a dict) or history.csv (a DataFrame).

    Returns:
        The monitored loss: a float from logs, a Series (one value per evaluation) from a DataFrame.
    """
    if "val_hidden_loss" in logs:
        return (logs["val_loss"] * logs["val_hidden_loss"]) ** 0.5
    return logs["val_loss"] if "val_loss" in logs else logs["loss"]


def monitor_name(logs) -> str:
    """What monitored_loss returns, in words for the summary.

    Args:
        logs: one epoch's logs (a dict) or history.csv (a DataFrame).

    Returns:
        "geometric mean of the test loss and the hidden-part test loss", "test_loss" or "train_loss".
    """
    if "val_hidden_loss" in logs:
        return "geometric mean of the test loss and the hidden-part test loss"
    return "test_loss" if "val_loss" in logs else "train_loss"


class HiddenTestLoss(keras.callbacks.Callback):
    """Adds ``val_hidden_loss`` to each epoch's logs: the loss on the points that part occluders hide
    in the test windows (``make_dataset(hide_parts=True)``), which the ordinary test loss cannot see:
    a student started as LEAP already fits every visible point, and what its memory adds shows only
    where the frame does not show the part. Must come before the callbacks that read it.

    Args:
        dataset: the test windows with part occluders, weighted on the hidden points only
            (``make_dataset(hide_parts=True)`` over :func:`~dlc_recurrent.training.data.hidden_test_samples`).
    """

    def __init__(self, dataset: tf.data.Dataset):
        super().__init__()
        self.dataset = dataset

    def on_epoch_end(self, epoch, logs=None):
        """Evaluate the hidden-part test windows into ``logs["val_hidden_loss"]``."""
        if logs is not None:
            logs["val_hidden_loss"] = float(self.model.evaluate(self.dataset, verbose=0, return_dict=True)["loss"])


class ScheduleState(tf.Module):
    """What the schedule knows, checkpointed with the weights so a resumed run decides as the
    uninterrupted one would have.

    Attributes:
        best_loss: the lowest monitored loss so far (float64); its weights are in BEST_WEIGHTS_NAME.
        best_epoch: the evaluation (epoch count) it came at (int64; 0: none yet).
        recent: (SMOOTHING,) float64, the last monitored losses (NaN until there are that many).
        reference: the smoothed loss at the last improvement by min_improvement.
        since_improvement: steps since that improvement.
        since_lr_change: steps since that improvement or the last lowering of the learning rate.
        lr_scale: the factor the plateaus have lowered the learning rate by so far.
        stopped: the stopping rule has fired (the student converged).
        seconds: seconds spent training, over all runs that resumed each other.
    """

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


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves network, optimizer, epoch and sample counters after every epoch (what resuming needs).

    Args:
        manager: the checkpoint manager of the student's folder.
        checkpoint: the checkpoint (it has ``epoch`` and ``samples`` counters).
        samples_per_epoch: training samples seen per epoch (steps x batch).
    """

    def __init__(self, manager: tf.train.CheckpointManager, checkpoint: tf.train.Checkpoint, samples_per_epoch: int):
        super().__init__()
        self.manager, self.checkpoint, self.samples_per_epoch = manager, checkpoint, samples_per_epoch

    def on_epoch_end(self, epoch, logs=None):
        """Count the epoch and its samples and save a checkpoint numbered by the epoch."""
        self.checkpoint.epoch.assign(epoch + 1)
        self.checkpoint.samples.assign_add(self.samples_per_epoch)
        self.manager.save(checkpoint_number=epoch + 1)


class StepLog(keras.callbacks.Callback):
    """Adds the optimizer step and the learning rate to each epoch's logs (history.csv, TensorBoard).

    Args:
        steps_per_epoch: optimizer steps per evaluation period.
        optimizer: the optimizer (its learning rate is logged).
    """

    def __init__(self, steps_per_epoch: int, optimizer):
        super().__init__()
        self.steps_per_epoch, self.optimizer = steps_per_epoch, optimizer

    def on_epoch_end(self, epoch, logs=None):
        """Add ``step`` and ``lr`` to ``logs``."""
        if logs is not None:
            logs["step"] = (epoch + 1) * self.steps_per_epoch
            logs["lr"] = float(keras.backend.get_value(self.optimizer.learning_rate))


class Forecast(keras.callbacks.Callback):
    """Says once, after the second evaluation period of a run (the first includes tracing), how long a
    step takes here and what min_steps and max_steps will cost, so nobody waits a day unawares.

    Args:
        config: the student's settings (its schedule and limits).
        steps_per_epoch: optimizer steps per evaluation period.
        where: the devices it trains on, for the message (e.g. "GPU:0").
    """

    def __init__(self, config: TrainingConfig, steps_per_epoch: int, where: str):
        super().__init__()
        self.config, self.steps_per_epoch, self.where = config, steps_per_epoch, where
        self.periods, self.started = 0, None

    def on_epoch_begin(self, epoch, logs=None):
        """Note when the period starts."""
        self.started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        """After the run's second period, log the time per step and what the schedule's limits cost."""
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


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class Schedule(keras.callbacks.Callback):
    """schedule="converge": warm-up, the learning rate lowered on plateaus, early stopping, best weights.

    The monitored loss is ``monitored_loss``: the test-block loss (with the hidden-part test loss
    where there is one; the training loss when there is no test window); plateaus and the stop are
    judged on the mean of its last SMOOTHING evaluations, the best weights on single evaluations.
    Every value it decides on lives in a :class:`ScheduleState` that the checkpoint saves.

    Args:
        state: the checkpointed schedule state.
        config: the student's settings (learning rate, warm-up, patience, limits...).
        network: the student (the best weights are saved from it).
        folder: the student's ``train`` folder (BEST_WEIGHTS_NAME goes there).
        steps_per_epoch: optimizer steps per evaluation period.
        optimizer: the optimizer whose learning rate it sets.
    """

    def __init__(self, state: ScheduleState, config: TrainingConfig, network: keras.Model, folder: Path,
                 steps_per_epoch: int, optimizer):
        super().__init__()
        self.state, self.config, self.network, self.folder = state, config, network, folder
        self.steps_per_epoch, self.optimizer = steps_per_epoch, optimizer
        self.epoch = 0

    def learning_rate(self, step: int) -> float:
        """The learning rate at ``step``: the configured one, lowered by the plateaus so far, ramped up
        over the warm-up steps."""
        warm = min(1.0, (step + 1) / self.config.warmup_steps) if self.config.warmup_steps else 1.0
        return self.config.learning_rate * float(self.state.lr_scale.numpy()) * warm

    def on_epoch_begin(self, epoch, logs=None):
        """Set the learning rate for the period's first step."""
        self.epoch = epoch
        self.optimizer.learning_rate.assign(self.learning_rate(epoch * self.steps_per_epoch))

    def on_train_batch_begin(self, batch, logs=None):
        """During the warm-up, raise the learning rate step by step."""
        step = self.epoch * self.steps_per_epoch + batch
        if step <= self.config.warmup_steps:
            self.optimizer.learning_rate.assign(self.learning_rate(step))

    def on_epoch_end(self, epoch, logs=None):
        """Judge the period's monitored loss: keep the best weights, lower the learning rate on a
        plateau, stop when patience runs out after min_steps (or at once on a non-finite loss)."""
        logs = logs if logs is not None else {}
        state, config = self.state, self.config
        loss = float(monitored_loss(logs)) if logs else math.nan
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
    """Adds each epoch's wall time to the checkpointed total (training minutes over resumed runs).

    Args:
        state: the checkpointed schedule state (its ``seconds``).
    """

    def __init__(self, state: ScheduleState):
        super().__init__()
        self.state, self.started = state, None

    def on_epoch_begin(self, epoch, logs=None):
        """Note when the epoch starts."""
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        """Add the epoch's seconds to the checkpointed total."""
        self.state.seconds.assign_add(time.monotonic() - self.started)


class TqdmProgress(keras.callbacks.Callback):
    """One tqdm bar per evaluation period with the running loss, and the test loss when it ends.

    Args:
        epochs: evaluation periods in all (the most under "converge").
        steps: optimizer steps per period.
        converge: label the bars by steps (schedule="converge") instead of by epoch.
    """

    def __init__(self, epochs: int, steps: int, converge: bool = False):
        super().__init__()
        self.epochs, self.steps, self.converge, self.bar = epochs, steps, converge, None

    def on_epoch_begin(self, epoch, logs=None):
        """Open the period's bar."""
        if self.converge:
            first = epoch * self.steps
            description = f"steps {first + 1}-{first + self.steps} (at most {self.epochs * self.steps})"
        else:
            description = f"epoch {epoch + 1}/{self.epochs}"
        self.bar = tqdm(total=self.steps, desc=description, unit="step", leave=True)

    def on_train_batch_end(self, batch, logs=None):
        """Advance the bar and show the running loss."""
        self.bar.update(1)
        self.bar.set_postfix(loss=f"{logs['loss']:.4g}")

    def on_epoch_end(self, epoch, logs=None):
        """Show the test losses, if any, and close the bar."""
        if "val_loss" in logs:
            hidden = {"hidden_test_loss": f"{logs['val_hidden_loss']:.4g}"} if "val_hidden_loss" in logs else {}
            self.bar.set_postfix(loss=f"{logs['loss']:.4g}", test_loss=f"{logs['val_loss']:.4g}", **hidden)
        self.bar.close()
