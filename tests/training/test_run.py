"""train() (dlc_recurrent.training.run): learning, warm starts, devices, precision, locks, bad input."""

import re
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent import models
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.distill import create_training_set, load_training_set
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.layout import CONFIG_NAME, HISTORY_NAME, WEIGHTS_NAME, model_folder
from dlc_recurrent.project import load_project
from dlc_recurrent.training import load_student, train
from tests.helpers import TINY


def peak_error(network, trainset, recurrent):
    """Mean distance between predicted map peaks and the targets on the training windows."""
    errors = []
    for row in range(len(trainset.windows)):
        frames, xy, weight = trainset.window(row)
        inputs = frames[None] if recurrent else frames
        maps = network(inputs.astype(np.float32)).numpy().reshape(-1, *frames.shape[1:3], xy.shape[1])
        for t in range(len(frames)):
            for k in np.flatnonzero(weight[t]):
                row_, column = np.unravel_index(maps[t, ..., k].argmax(), maps.shape[1:3])
                errors.append(np.hypot(column - xy[t, k, 0], row_ - xy[t, k, 1]))
    return float(np.mean(errors))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["leap", "convlstm_leap"])
def test_training_moves_peaks_towards_the_targets(trainset_project, model):
    """A short run lowers the loss and, unlike a 'predict zeros' plateau, moves the peaks."""
    project = load_project(trainset_project)
    options = dict(schedule="fixed", epochs=4, steps_per_epoch=20, batch_size=4 if model != "leap" else 16, sigma=4.0,
                   map_amplitude=10.0, learning_rate=3e-3, augment=False)
    folder = train(trainset_project, model=model, **options)
    trainset = load_training_set(
        next((project.project_path / "dlc-recurrent" / "training-sets").rglob("trainingset.yaml")).parent
    )
    network, config = load_student(folder)
    untrained = models.build_student(config)
    history = pd.read_csv(folder / HISTORY_NAME)
    assert list(history.epoch) == [0, 1, 2, 3]
    assert history.loss.iloc[-1] < history.loss.iloc[0]
    assert "val_loss" in history
    recurrent = model != "leap"
    assert peak_error(network, trainset, recurrent) < 0.5 * peak_error(untrained, trainset, recurrent)


def test_model_folder_and_saved_config(trainset_project):
    project = load_project(trainset_project)
    folder = train(trainset_project, model="leap", **TINY)
    assert folder == model_folder(project, 1, 0, "leap") / "train"
    assert "dlc-recurrent/leap/dlc-models-pytorch/iteration-0" in folder.as_posix()
    saved = TrainingConfig.load(folder / CONFIG_NAME)
    assert saved.model == "leap" and saved.bodyparts == project.bodyparts and saved.window_length == 5
    assert (folder / WEIGHTS_NAME).is_file() and (folder / "logs").is_dir()
    assert (folder / "checkpoints" / "checkpoint").is_file()


def test_a_student_started_from_leap_trains_leap_first_and_starts_with_its_maps(trainset_project, caplog,
                                                                                 monkeypatch):
    from dlc_recurrent.config import FINE_TUNE
    from dlc_recurrent.training import run

    real_train = run.train
    leap_calls = []

    def short_leap(config, *args, model="convlstm_leap", **options):  # the control, briefly
        if model == "leap":
            leap_calls.append(options)
            options = {**options, **TINY}
        return real_train(config, *args, model=model, **options)

    monkeypatch.setattr(run, "train", short_leap)
    caplog.set_level("INFO", logger="dlc_recurrent")
    # learning rate ~0: after its steps the student still gives the maps it started with
    folder = train(trainset_project, model="convlstm_leap", start_from="leap", schedule="fixed", epochs=1,
                   steps_per_epoch=2, batch_size=2, sigma=3.0, learning_rate=1e-12, augment=False)
    assert "training it first" in caplog.text and "starts from the trained LEAP control" in caplog.text
    # LEAP gets the student's maps (sigma), not its schedule (learning_rate, epochs, augment)
    assert leap_calls == [{"gputouse": None, "devices": None, "device": None, "sigma": 3.0}]
    leap_folder = model_folder(load_project(trainset_project), 1, 0, "leap") / "train"
    leap, leap_config = load_student(leap_folder)
    student, config = load_student(folder)
    assert config.start_from == "leap" and config.skip_connection
    assert config.patience == FINE_TUNE["patience"] and leap_config.learning_rate == TrainingConfig.learning_rate
    frames = np.random.default_rng(0).integers(0, 256, (1, 6, 64, 64, 1)).astype(np.float32)
    np.testing.assert_allclose(student(frames).numpy()[0], leap(frames[0]).numpy(), atol=1e-4)


def test_a_memory_of_maps_trained_with_leap_frozen_keeps_leaps_weights(trainset_project):
    leap_folder = train(trainset_project, model="leap", **TINY)
    folder = train(trainset_project, model="convlstm_leap", start_from="leap", memory="maps", freeze_leap=True,
                   schedule="fixed", epochs=1, steps_per_epoch=3, batch_size=2, sigma=TINY["sigma"],
                   learning_rate=1e-2, occluder_probability=1.0, occluder_target="parts")
    leap, _ = load_student(leap_folder)
    student, config = load_student(folder)
    assert config.freeze_leap and config.memory == "maps"
    reader = student.get_layer("encoder_td").layer
    for name in ("encoder", "decoder"):
        for kept, trained in zip(leap.get_layer(name).get_weights(), reader.get_layer(name).get_weights()):
            np.testing.assert_array_equal(kept, trained)
    assert student.get_layer("decoder_td").layer.get_layer("memory_maps").kernel.numpy().any(), "the memory trained"
    with pytest.raises(ValueError, match="freeze_leap"):
        TrainingConfig(memory="maps", freeze_leap=True)


def test_a_warm_start_refuses_a_leap_control_of_another_training_set(trainset_project):
    train(trainset_project, model="leap", **TINY)
    create_training_set(trainset_project, window_length=5, windows_per_video=12, max_gap_fill=0, overwrite=True)
    with pytest.raises(ProjectError, match="another training set"):
        train(trainset_project, model="convlstm_leap", start_from="leap", **TINY)


def test_device_names_and_their_conflicts(trainset_project):
    folder = train(trainset_project, model="leap", device="cpu", **TINY)
    assert (folder / WEIGHTS_NAME).is_file()
    with pytest.raises(ValueError, match="give one of them"):
        train(trainset_project, model="leap", devices=["/cpu:0"], gputouse=0, **TINY)
    with pytest.raises(ValueError, match="disagree"):
        train(trainset_project, model="leap", device="cuda:1", gputouse=0, **TINY)


@pytest.mark.slow
def test_data_parallel_on_two_logical_cpus(trainset_project):
    """MirroredStrategy over two devices, as on a two-GPU machine (two logical CPUs here)."""
    script = textwrap.dedent(
        f"""
        import dlc_recurrent
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from dlc_recurrent.training import train
        train({str(trainset_project)!r}, model="convlstm_leap", devices=["/cpu:0", "/cpu:1"], **{TINY!r})
        print("replicas ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "replicas ok" in result.stdout
    assert "data-parallel on 2 devices" in result.stdout
    history = pd.read_csv(model_folder(load_project(trainset_project), 1, 0, "convlstm_leap") / "train" / HISTORY_NAME)
    assert history.val_loss.notna().all()  # the test windows were shared among both devices


def test_train_without_training_set(project_copy):
    with pytest.raises(ProjectError, match="create_training_set"):
        train(project_copy, model="leap", **TINY)


def test_a_run_begun_without_hidden_test_windows_continues_without_them(trainset_project):
    options = dict(TINY, model="convlstm_leap", occluder_probability=0.5, occluder_target="parts")
    folder = train(trainset_project, **options)
    history = pd.read_csv(folder / HISTORY_NAME)
    assert "val_hidden_loss" in history
    history.drop(columns="val_hidden_loss").to_csv(folder / HISTORY_NAME, index=False)  # as an earlier build wrote it
    train(trainset_project, **{**options, "epochs": 2})
    history = pd.read_csv(folder / HISTORY_NAME)
    assert list(history.epoch) == [0, 1] and "val_hidden_loss" not in history


def test_one_training_run_per_student_and_no_rebuilt_set_under_a_running_one(trainset_project):
    """Another process training this student (its lock, its live process): a second train() and a
    rebuild of the set stop with a message; once that process is gone its lock is taken over."""
    import socket
    import time

    from dlc_recurrent.layout import trainer_lock_path, training_set_folder

    project = load_project(trainset_project)
    lock = trainer_lock_path(training_set_folder(project, 1, 0), "leap")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lock.write_text(f"{socket.gethostname()} {other.pid} {time.time():.0f}")
        with pytest.raises(ProjectError, match=f"process {other.pid} on .* is training this student"):
            train(trainset_project, model="leap", **TINY)
        with pytest.raises(ProjectError, match=f"process {other.pid} on .* is training a student on it"):
            create_training_set(trainset_project, window_length=5, windows_per_video=20, max_gap_fill=0,
                                overwrite=True)
    finally:
        other.kill()
        other.wait()
    folder = train(trainset_project, model="leap", **TINY)  # the lock of a process gone: taken over
    assert (folder / WEIGHTS_NAME).is_file() and not lock.exists()


def test_a_misspelt_option_suggests_the_one_meant(trainset_project):
    with pytest.raises(ValueError, match="no option 'max_step'; did you mean max_steps"):
        train(trainset_project, model="leap", max_step=50)
    with pytest.raises(ValueError, match="no option 'window_length'"):  # the training set's, not train's
        train(trainset_project, model="leap", window_length=5)


def test_train_says_where_it_runs_and_what_the_steps_will_cost(trainset_project, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="dlc_recurrent"):
        train(trainset_project, model="leap", **{**TINY, "epochs": 3})
    assert "Training leap on CPU:0 (float32): 2 frames of" in caplog.text  # "auto" trains in float32 on a CPU
    assert re.search(r"leap on CPU:0: [\d.]+ s per step; the 3 steps left take about \d+ s", caplog.text)
    from dlc_recurrent.precision import cpu_supports_bfloat16

    assert ('precision="bfloat16") takes several' in caplog.text) == cpu_supports_bfloat16()


def test_the_bfloat16_hint_only_where_float32_was_chosen_for_the_user_on_a_capable_cpu(monkeypatch):
    from dlc_recurrent import precision
    from dlc_recurrent.training import run

    auto = TrainingConfig(model="leap", bodyparts=["a"])
    for capable in (True, False):
        monkeypatch.setattr(precision, "cpu_supports_bfloat16", lambda capable=capable: capable)
        assert run.bfloat16_would_pay(auto, "float32", "CPU:0") is capable
    monkeypatch.setattr(precision, "cpu_supports_bfloat16", lambda: True)
    assert not run.bfloat16_would_pay(auto, "mixed_float16", "GPU:0")
    assert not run.bfloat16_would_pay(auto, "mixed_bfloat16", "CPU:0")  # asked for already
    assert not run.bfloat16_would_pay(TrainingConfig(model="leap", bodyparts=["a"], precision="float32"),
                                      "float32", "CPU:0")  # full precision asked for


def test_training_in_bfloat16_when_asked_and_the_weights_stay_float32(trainset_project, caplog):
    import logging

    from dlc_recurrent._tensorflow import keras
    from dlc_recurrent.precision import cpu_supports_bfloat16
    from dlc_recurrent.training import read_training_summary

    with caplog.at_level(logging.INFO, logger="dlc_recurrent"):
        folder = train(trainset_project, model="leap", precision="bfloat16", **TINY)
    policy = "mixed_bfloat16" if cpu_supports_bfloat16() else "float32"
    assert f"Training leap on CPU:0 ({policy})" in caplog.text
    assert read_training_summary(folder)["computed_in"] == policy
    network, config = load_student(folder)
    assert config.precision == "bfloat16"
    assert {w.dtype.name for w in network.weights} == {"float32"}
    assert keras.mixed_precision.global_policy().name == "float32"  # the caller's policy is back
