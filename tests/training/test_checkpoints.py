"""Resuming a student's training (dlc_recurrent.training.checkpoints): damaged checkpoints, reruns."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.distill import create_training_set
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.layout import CONFIG_NAME, HISTORY_NAME, WEIGHTS_NAME, model_folder
from dlc_recurrent.project import load_project
from dlc_recurrent.training import load_student, train
from tests.helpers import TINY
from tests.helpers import cut_short as _cut_short


def test_a_damaged_checkpoint_falls_back_to_the_one_before_or_says_what_to_do(trainset_project, caplog):
    """A checkpoint cut short (full disk, killed copy) made the next train() die in TensorFlow's reader."""
    import logging

    folder = train(trainset_project, model="leap", **{**TINY, "epochs": 2})
    newest = sorted((folder / "checkpoints").glob("ckpt-2.data-*"))
    assert newest
    _cut_short(newest[0])
    with caplog.at_level(logging.WARNING, logger="dlc_recurrent"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 3})
    assert "ckpt-2: " in caplog.text and "damaged" in caplog.text and "resuming from ckpt-1" in caplog.text
    assert len(pd.read_csv(folder / HISTORY_NAME)) == 3

    for data in (folder / "checkpoints").glob("ckpt-*.data-*"):
        _cut_short(data)
    with pytest.raises(ProjectError, match="checkpoints: no checkpoint reads back.*overwrite=True"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 4})


def test_finished_model_is_kept_and_more_epochs_continue(trainset_project, capsys):
    folder = train(trainset_project, model="leap", **TINY)
    stamp = (folder / WEIGHTS_NAME).stat().st_mtime_ns
    train(trainset_project, model="leap", **TINY)
    said = capsys.readouterr().out
    assert "already holds" in said and "Resuming" not in said
    assert (folder / WEIGHTS_NAME).stat().st_mtime_ns == stamp
    train(trainset_project, model="leap", **{**TINY, "epochs": 2})
    assert "Resuming leap training from epoch 1" in capsys.readouterr().out
    assert list(pd.read_csv(folder / HISTORY_NAME).epoch) == [0, 1]
    continued = [w.copy() for w in load_student(folder)[0].get_weights()]
    train(trainset_project, model="leap", overwrite=True, **{**TINY, "epochs": 2})
    straight = load_student(folder)[0].get_weights()
    assert all(np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(continued, straight))


def test_a_student_is_not_continued_on_a_rebuilt_training_set(trainset_project):
    train(trainset_project, model="leap", **TINY)
    create_training_set(trainset_project, window_length=5, windows_per_video=20, max_gap_fill=0, overwrite=True)
    train(trainset_project, model="leap", **{**TINY, "epochs": 2})  # rebuilt from the same inputs: same data
    create_training_set(trainset_project, window_length=5, windows_per_video=20, max_gap_fill=0, seed=1,
                        overwrite=True)
    for epochs in (2, 3):  # the finished student, and more epochs of it
        with pytest.raises(ProjectError, match="rebuilt with other data.*overwrite=True"):
            train(trainset_project, model="leap", **{**TINY, "epochs": epochs})
    train(trainset_project, model="leap", overwrite=True, **TINY)


def test_other_settings_in_the_same_folder_need_overwrite(trainset_project):
    train(trainset_project, model="leap", **TINY)
    with pytest.raises(ProjectError, match=r"\(learning_rate=0.001\).*overwrite=True"):
        train(trainset_project, model="leap", **{**TINY, "learning_rate": 0.1})
    folder = train(trainset_project, model="leap", overwrite=True, **{**TINY, "learning_rate": 0.1})
    assert TrainingConfig.load(folder / CONFIG_NAME).learning_rate == 0.1


@pytest.mark.slow
def test_resume_after_the_process_is_killed(trainset_project):
    """Kill training right after epoch 2's checkpoint; the next call resumes at epoch 2."""
    script = textwrap.dedent(
        f"""
        import os
        import dlc_recurrent.training as training
        original = training.EpochCheckpoint.on_epoch_end
        def die_after_second(self, epoch, logs=None):
            original(self, epoch, logs)
            if epoch == 1:
                os._exit(17)
        training.EpochCheckpoint.on_epoch_end = die_after_second
        training.train({str(trainset_project)!r}, model="convlstm_leap", **{ {**TINY, "epochs": 3}!r})
        """
    )
    killed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert killed.returncode == 17, killed.stderr[-2000:]
    folder = model_folder(load_project(trainset_project), 1, 0, "convlstm_leap") / "train"
    assert not (folder / WEIGHTS_NAME).exists()

    resumed = subprocess.run(
        [sys.executable, "-c", f"import dlc_recurrent.training as t; t.train({str(trainset_project)!r}, "
         f"model='convlstm_leap', **{ {**TINY, 'epochs': 3}!r})"],
        capture_output=True, text=True, timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Resuming convlstm_leap training from epoch 2" in resumed.stdout
    assert list(pd.read_csv(folder / HISTORY_NAME).epoch) == [0, 1, 2]
    assert (folder / WEIGHTS_NAME).is_file()


def test_converge_trained_on_equals_trained_straight(trainset_project):
    """A run that hit max_steps and is trained on (larger max_steps) follows the uninterrupted one:
    the schedule's state (best loss, plateau counters, learning-rate scale) is checkpointed."""
    from dlc_recurrent.training import read_training_summary

    options = dict(batch_size=2, sigma=3.0, steps_per_epoch=2, min_steps=0, patience=100, lr_patience=2,
                   warmup_steps=3, min_improvement=0.5, augment=True)
    folder = train(trainset_project, model="leap", max_steps=4, **options)
    first = read_training_summary(folder)
    assert not first["converged"] and first["steps"] == 4 and "max_steps=4" in first["stop_reason"]
    train(trainset_project, model="leap", max_steps=8, **options)
    continued = [w.copy() for w in load_student(folder)[0].get_weights()]
    history = pd.read_csv(folder / HISTORY_NAME)
    train(trainset_project, model="leap", max_steps=8, overwrite=True, **options)
    straight = load_student(folder)[0].get_weights()
    assert all(np.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(continued, straight))
    pd.testing.assert_frame_equal(history, pd.read_csv(folder / HISTORY_NAME), rtol=1e-4)
    assert list(history.step) == [2, 4, 6, 8]
    assert history.lr.iloc[-1] < history.lr.iloc[1], "plateaus (min_improvement 50%) halved the rate"


def test_a_run_trained_on_keeps_its_evaluation_period(trainset_project):
    """The default period is min(50, max_steps): raising max_steps later must not change it."""
    options = dict(batch_size=2, sigma=3.0, min_steps=0, warmup_steps=0)
    folder = train(trainset_project, model="leap", max_steps=4, **options)
    train(trainset_project, model="leap", max_steps=12, **options)
    assert list(pd.read_csv(folder / HISTORY_NAME).step) == [4, 8, 12]


@pytest.mark.parametrize("damage", ["cut short", "garbage", "empty"])
def test_a_damaged_checkpoint_state_file_is_rebuilt_from_the_checkpoints_on_disk(trainset_project, caplog, damage):
    """TensorFlow's ``checkpoints/checkpoint`` (which checkpoint is newest) is rewritten at every save;
    a full disk or a killed copy can leave it damaged, and the next train() died parsing it."""
    import logging

    folder = train(trainset_project, model="leap", **{**TINY, "epochs": 2})
    state = folder / "checkpoints" / "checkpoint"
    text = state.read_text()
    state.write_text({"cut short": text[: len(text) // 2], "garbage": "\x00\x17 not a checkpoint {",
                      "empty": ""}[damage])
    with caplog.at_level(logging.INFO, logger="dlc_recurrent"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 3})
    assert "Resuming leap training from epoch 2" in caplog.text, "started again: two epochs lost"
    assert "checkpoint: damaged or missing; rebuilt from the checkpoints on disk (ckpt-1, ckpt-2)" in caplog.text
    assert len(pd.read_csv(folder / HISTORY_NAME)) == 3
