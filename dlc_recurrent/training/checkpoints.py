"""Resuming an interrupted training: the saved config and training set must match, a damaged
checkpoint index is rebuilt, and the newest readable checkpoint is restored."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import asdict
from pathlib import Path

import pandas as pd
from ruamel.yaml import YAML

from dlc_recurrent._tensorflow import tf
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.distill import TrainingSet, training_set_fingerprint
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import atomic_write, atomic_yaml
from dlc_recurrent.layout import CONFIG_NAME, TRAINING_SET_RECORD

logger = logging.getLogger(__name__)


def truncate_history(path: Path, start_epoch: int) -> None:
    """Drop history rows of epochs that will be trained again (logged before a crash, not checkpointed).

    Args:
        path: the student's history.csv (nothing happens when it is missing).
        start_epoch: the epoch the resumed run starts at; rows of this epoch and later go (0: none).
    """
    if start_epoch == 0 or not path.is_file():
        return
    history = pd.read_csv(path)
    history[history.epoch < start_epoch].to_csv(path, index=False)


def check_same_config(folder: Path, config: TrainingConfig) -> None:
    """Refuse to resume a run that was started with another recipe (a longer one is allowed).

    Args:
        folder: the student's ``train`` folder (nothing to check without a saved config there).
        config: the settings of this call; epochs, min_steps and max_steps may differ.

    Raises:
        ProjectError: another setting differs (pass the same settings, or overwrite=True to start again), or
            the saved settings cannot be used.
    """
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


def trained_on(folder: Path) -> str | None:
    """The fingerprint of the training set the student in ``folder`` was trained on (None before any).

    Args:
        folder: the student's ``train`` folder.

    Returns:
        The fingerprint its training-set record holds, or None without a record.
    """
    path = folder / TRAINING_SET_RECORD
    return YAML(typ="safe").load(path.read_text()).get("fingerprint") if path.is_file() else None


def check_same_training_set(folder: Path, trainset: TrainingSet) -> None:
    """Refuse to resume or extend a student on a training set rebuilt with other data since it started.

    Records the set's fingerprint in the student's folder when it matches (or none was recorded).

    Args:
        folder: the student's ``train`` folder.
        trainset: the training set of this call.

    Raises:
        ProjectError: the student was trained on the set before it was rebuilt with other data; pass
            overwrite=True to train it again.
    """
    path = folder / TRAINING_SET_RECORD
    current = training_set_fingerprint(trainset.folder)
    if trained_on(folder) not in (None, current):
        raise ProjectError(
            f"{folder}: this student was trained on a training set since rebuilt with other data "
            f"({trainset.folder}); pass overwrite=True to train it again on the new one"
        )
    atomic_yaml(path, {"training_set": str(trainset.folder), "fingerprint": current})


def repair_checkpoint_state(directory: Path) -> None:
    """Rewrite TensorFlow's ``checkpoint`` state file from the checkpoints on disk when it is damaged
    or missing: TensorFlow then ignores them all, and a resumed run would silently start again.

    Args:
        directory: the checkpoint directory (``ckpt-<N>.index`` files); nothing happens without any, or
            when the state file reads back.
    """
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


def restore_newest_readable(manager: tf.train.CheckpointManager, checkpoint: tf.train.Checkpoint) -> str | None:
    """Restore the newest checkpoint that reads back whole; None for a fresh run.

    A full disk or a killed copy can leave the newest one cut short: the one before it (the manager
    keeps two) is used instead, and the user is told.

    Args:
        manager: the checkpoint manager of the student's folder.
        checkpoint: the checkpoint to restore into.

    Returns:
        The path of the checkpoint restored, or None when there is none.

    Raises:
        ProjectError: there are checkpoints but none reads back (pass overwrite=True to train again).
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
