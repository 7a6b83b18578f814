"""What a trained student leaves behind: its weights, summary (converged or not, and why), the files
deeplabcut's tools expect in a model folder, and reading a student back."""

from __future__ import annotations

import datetime
import math
from pathlib import Path

import numpy as np
import pandas as pd
from ruamel.yaml import YAML

from dlc_recurrent import models
from dlc_recurrent._tensorflow import keras
from dlc_recurrent.config import TrainingConfig, train_call
from dlc_recurrent.distill import TrainingSet
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import atomic_yaml
from dlc_recurrent.layout import CONFIG_NAME, SUMMARY_NAME, WEIGHTS_NAME, modelprefix
from dlc_recurrent.precision import computing_in
from dlc_recurrent.project import Project
from dlc_recurrent.training.callbacks import SMOOTHING, ScheduleState, monitor_name, monitored_loss

#: deeplabcut's post-processing tools rebuild the scorer from a pytorch_config.yaml whose net_type
#: must be one of DLC's own; these borrowed names only make the students findable (and keep the
#: two students' files apart). What really made a file is in its _meta.pickle and in CONFIG_NAME.
DLC_NET_TYPES = {"leap": "cspnext_s", "convlstm_leap": "cspnext_m", "bidirectional_leap": "cspnext_x",
                 "ensemble": "hrnet_w18"}


def deeplabcut_options(model: str, shuffle: int = 1, trainingsetindex: int = 0) -> dict:
    """Keyword arguments with which deeplabcut's tools (filterpredictions, create_labeled_video, ...)
    find a student's predictions in any project: the engine too, since DLC takes it from the user's
    own shuffle of that number, which may be a TensorFlow one.

    Args:
        model: the student ("leap", "convlstm_leap", "bidirectional_leap") or "ensemble".
        shuffle: the student's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.

    Returns:
        ``shuffle``, ``trainingsetindex``, ``modelprefix`` and ``engine`` (PyTorch), to pass as
        ``deeplabcut.filterpredictions(config, videos, **options)``.
    """
    from deeplabcut.core.engine import Engine

    return {"shuffle": shuffle, "trainingsetindex": trainingsetindex, "modelprefix": modelprefix(model),
            "engine": Engine.PYTORCH}


def write_dlc_model_files(project: Project, folder: Path, model: str, epochs: int) -> None:
    """Make the train folder discoverable by deeplabcut: pytorch_config.yaml and snapshot-<epochs>.pt.

    The snapshot is a small torch file that points to the Keras weights; it is not a DLC network. Older
    snapshots in the folder are removed.

    Args:
        project: the DLC project.
        folder: the student's ``train`` folder.
        model: the student's model kind (picks the borrowed DLC net type, ``DLC_NET_TYPES``).
        epochs: the evaluation periods trained, the snapshot's number.
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
            "note": "Not a DeepLabCut network: written by dlc-recurrent so that deeplabcut's tools find its "
                    "predictions (a student: dlc_recurrent.analyze_videos; the ensemble: ensemble_videos).",
        }
    }
    torch.save(note, folder / f"snapshot-{epochs:03d}.pt")


def convergence(history: pd.DataFrame, config: TrainingConfig, steps_per_epoch: int) -> dict:
    """Whether the monitored loss had stopped improving when training ended, by the converge rule
    (for either schedule): its mean over the last SMOOTHING evaluations fell by less than
    ``min_improvement`` over the last ``patience`` steps.

    Args:
        history: history.csv, one row per evaluation period.
        config: the student's settings (patience, min_improvement).
        steps_per_epoch: optimizer steps per evaluation period.

    Returns:
        ``monitor`` (:func:`monitor_name`), ``converged`` (False too when training was shorter than
        ``patience``) and ``recent_improvement`` (the relative fall over the last ``patience`` steps).
    """
    monitor = monitor_name(history)
    losses = monitored_loss(history).to_numpy(float) if "loss" in history else np.zeros(0)
    if not len(losses):
        return {"monitor": monitor, "converged": False, "recent_improvement": float("nan")}
    smoothed = pd.Series(losses).rolling(SMOOTHING, min_periods=1).mean().to_numpy()
    back = min(len(smoothed) - 1, math.ceil(config.patience / steps_per_epoch))
    before = np.min(smoothed[: len(smoothed) - back])
    improvement = float(1 - smoothed[-1] / before) if back and before > 0 else 0.0
    long_enough = len(losses) * steps_per_epoch >= config.patience
    return {"monitor": monitor, "converged": bool(long_enough and improvement < config.min_improvement),
            "recent_improvement": improvement}


def write_summary(folder: Path, config: TrainingConfig, trainset: TrainingSet, state: ScheduleState,
                   steps_per_epoch: int, epochs: int, history: pd.DataFrame, shuffle: int,
                   trainingsetindex: int) -> dict:
    """training_summary.yaml: what was trained, how long, and whether it converged (in words too,
    with the call that trains it on when it did not).

    Args:
        folder: the student's ``train`` folder.
        config: the student's settings.
        trainset: its training set.
        state: the schedule's checkpointed state (stopped, best epoch, seconds).
        steps_per_epoch: optimizer steps per evaluation period.
        epochs: the evaluation periods trained.
        history: history.csv, one row per evaluation period.
        shuffle: the student's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.

    Returns:
        The summary written: finished, model, schedule, epochs, steps, steps_per_epoch, minutes,
        computed_in, converged, stop_reason, monitor, kept_step, verdict, train_on (the call that trains it
        on, None when converged), training_set, teachers and the final and kept losses.
    """
    steps = epochs * steps_per_epoch
    judged = convergence(history, config, steps_per_epoch)
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
    if "val_hidden_loss" in history and 0 < best_epoch <= len(history):
        verdict += (f". Test loss where a part is hidden: {history['val_hidden_loss'].iloc[0]:.4g} at step "
                    f"{steps_per_epoch}, {history['val_hidden_loss'].iloc[best_epoch - 1]:.4g} at the kept step "
                    "(lower: the memory places what the frame does not show)")
    summary = {
        "finished": datetime.datetime.now().isoformat(timespec="seconds"),
        "model": config.model,
        "schedule": config.schedule,
        "epochs": epochs,
        "steps": steps,
        "steps_per_epoch": steps_per_epoch,
        "minutes": round(minutes, 2),
        "computed_in": keras.mixed_precision.global_policy().name,  # "float32", "mixed_bfloat16", ...
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
        "final_hidden_test_loss": float(history["val_hidden_loss"].iloc[-1]) if "val_hidden_loss" in history
        else None,
        "kept_loss": float(monitored_loss(history).iloc[best_epoch - 1]) if "loss" in history
        and best_epoch <= len(history) else None,
    }
    atomic_yaml(folder / SUMMARY_NAME, summary)
    return summary


def read_training_summary(folder: str | Path) -> dict | None:
    """A trained student's training_summary.yaml: how long it trained, whether it converged, its losses.

    Args:
        folder: the student's ``train`` folder.

    Returns:
        The summary's fields by name (model, steps, minutes, converged, verdict, ...); None for a folder
        without one.
    """
    path = Path(folder) / SUMMARY_NAME
    return YAML(typ="safe").load(path.read_text()) if path.is_file() else None


def load_student(train_folder: str | Path, policy: str = "float32") -> tuple[keras.Model, TrainingConfig]:
    """Rebuild a trained student from its folder, for analysis or evaluation.

    Args:
        train_folder: the student's ``train`` folder.
        policy: the Keras dtype policy it computes in ("float32", "mixed_bfloat16", "mixed_float16";
            see :mod:`dlc_recurrent.precision`).

    Returns:
        (network, config): the Keras model, taking frames (B, H, W, C) for LEAP or (B, T, H, W, C) for
        the recurrent students (any H, W divisible by 4; any T) and giving maps of the same size with K
        channels; and its :class:`~dlc_recurrent.config.TrainingConfig`.

    Raises:
        ProjectError: no weights, or settings or weights damaged or from another version.
    """
    folder = Path(train_folder)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ProjectError(f"{folder}: no trained student here ({WEIGHTS_NAME}); run dlc_recurrent.train(config)")
    try:
        config = TrainingConfig.load(folder / CONFIG_NAME)
    except ProjectError:  # settings this version cannot use: says so itself
        raise
    except Exception as error:  # garbled or cut short
        raise ProjectError(f"{folder / CONFIG_NAME}: damaged ({type(error).__name__}); retrain the student with "
                           "dlc_recurrent.train(config, ..., overwrite=True)") from None
    with computing_in(policy):
        network = models.build_student(config)
    try:
        network.load_weights(str(weights))
    except Exception as error:
        raise ProjectError(f"{weights}: damaged or not this student's ({type(error).__name__}); retrain it with "
                           "dlc_recurrent.train(config, ..., overwrite=True)") from None
    return network, config
