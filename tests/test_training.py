"""Training both students: maps, masked loss, learning, checkpoints, resume, config, bad input."""

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
import tensorflow as tf

from dlc_recurrent.distill import GAP_FILLED, MASKED, create_training_set, load_training_set
from dlc_recurrent.project import ProjectError, load_project
from dlc_recurrent.training import (
    CONFIG_NAME,
    DLC_NET_TYPES,
    HISTORY_NAME,
    WEIGHTS_NAME,
    TrainingConfig,
    add_occluder,
    augment_window,
    load_student,
    make_dataset,
    masked_mse,
    model_folder,
    render_maps,
    train,
    training_samples,
    validation_batch_size,
)

TINY = dict(epochs=1, steps_per_epoch=3, batch_size=2, sigma=3.0, map_amplitude=10.0)


@pytest.fixture
def trainset_project(project_copy):
    # The paper's targets: on this 64x64 project ConvLSTM-LEAP trained on gap-filled targets (the
    # default) was still on the "predict zeros" plateau after the 80 steps of the learning test.
    create_training_set(project_copy, window_length=5, windows_per_video=20, max_gap_fill=0)
    return project_copy


def test_render_maps_peak_sits_on_the_point():
    maps = render_maps(tf.constant([[[10.0, 20.0], [30.5, 5.0]]]), 32, 48, 2.0, 10.0).numpy()
    assert maps.shape == (1, 32, 48, 2)
    assert np.unravel_index(maps[0, ..., 0].argmax(), (32, 48)) == (20, 10)
    assert maps[0, ..., 0].max() == pytest.approx(10.0)
    row = maps[0, 5, :, 1]
    assert row[30] == pytest.approx(row[31])  # x = 30.5 lies between columns 30 and 31


def test_masked_points_do_not_count():
    target = tf.zeros((1, 8, 8, 2))
    predicted = tf.concat([tf.zeros((1, 8, 8, 1)), tf.ones((1, 8, 8, 1))], axis=-1)
    assert masked_mse(target, predicted, tf.constant([[1.0, 0.0]])).numpy() == pytest.approx(0)
    assert masked_mse(target, predicted, tf.constant([[0.0, 1.0]])).numpy() == pytest.approx(1)
    assert masked_mse(target, predicted, tf.constant([[1.0, 1.0]])).numpy() == pytest.approx(0.5)


def test_augmentation_moves_points_with_the_pixels():
    frames = np.zeros((3, 32, 32, 1), np.uint8)
    frames[:, 10, 12] = 255
    xy = np.tile(np.array([[12.0, 10.0]], np.float32), (3, 1, 1))
    config = TrainingConfig(max_shift=0.2, brightness=0.0, contrast=0.0)
    out, new_xy, weight = augment_window(frames, xy, np.ones((3, 1), np.float32), config, np.random.default_rng(1))
    for t in range(3):
        row, column = np.unravel_index(out[t, ..., 0].argmax(), (32, 32))
        assert (column, row) == tuple(new_xy[t, 0].astype(int))
    assert (new_xy == new_xy[0]).all(), "the whole window moves together"
    assert weight.all()


def test_occluder_covers_one_run_of_frames_wherever_the_parts_are():
    frames = np.full((15, 40, 48, 1), 100, np.uint8)
    config = TrainingConfig(occluder_size=(0.2, 0.4))
    centres, lengths = [], []
    for seed in range(200):
        out, mask = add_occluder(frames, (36, 44), config, np.random.default_rng(seed))
        covered = np.flatnonzero(mask.any(axis=(1, 2)))
        assert len(covered) and (np.diff(covered) == 1).all(), "one run of consecutive frames"
        assert not mask[:, 36:].any() and not mask[:, :, 44:].any(), "only inside the stored area"
        np.testing.assert_array_equal(out[~mask], 100)  # nothing outside the occluder changes
        lengths.append(len(covered))
        rows, columns = np.nonzero(mask[covered[0]])
        if len(rows):
            centres.append((columns.mean(), rows.mean()))
    centres = np.array(centres)
    assert max(lengths) >= 10 and min(lengths) == 1, "run lengths span 1 frame to most of the window"
    # Placement ignores the body parts (there are none here): centres spread over the whole frame.
    assert centres[:, 0].min() < 8 and centres[:, 0].max() > 36 and centres[:, 1].min() < 8 and centres[:, 1].max() > 28


def test_occluders_in_the_pipeline_leave_targets_alone(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets").rglob("trainingset.yaml")).parent
    )
    plain = TrainingConfig(bodyparts=trainset.bodyparts, window_length=5, augment=False)
    occluded = TrainingConfig(bodyparts=trainset.bodyparts, window_length=5, augment=False, occluder_probability=1.0)
    batches = [next(iter(make_dataset(trainset, "train", c, 8, (64, 64), training=True)[0])) for c in (plain, occluded)]
    np.testing.assert_array_equal(batches[0]["xy"], batches[1]["xy"])
    np.testing.assert_array_equal(batches[0]["weight"], batches[1]["weight"])
    changed = (batches[0]["frames"].numpy() != batches[1]["frames"].numpy()).any(axis=(2, 3, 4))
    assert changed.any(axis=1).all(), "every window has an occluded frame"
    assert not changed.all(), "but not every frame"
    test_batches = [next(iter(make_dataset(trainset, "test", c, 8, (64, 64), training=False)[0])) for c in (plain, occluded)]
    np.testing.assert_array_equal(test_batches[0]["frames"], test_batches[1]["frames"])


def test_gap_filled_targets_get_their_own_loss_weight(project_copy):
    create_training_set(project_copy, window_length=5, windows_per_video=20, max_gap_fill=12)
    trainset = load_training_set(
        next((load_project(project_copy).project_path / "dlc-recurrent" / "training-sets").rglob("trainingset.yaml")).parent
    )
    samples = training_samples(trainset, "train", recurrent=True)
    source = np.stack([trainset.targets[video].source[first:first + 5] for video, first in samples])
    assert (source == GAP_FILLED).any(), "the project must have teacher gaps for this test to mean anything"
    weights = {}
    for weight in (1.0, 0.25):
        config = TrainingConfig(bodyparts=trainset.bodyparts, window_length=5, augment=False, gap_filled_weight=weight)
        data, count = make_dataset(trainset, "train", config, len(samples), (64, 64), training=False)
        weights[weight] = next(iter(data))["weight"].numpy()
    np.testing.assert_array_equal(weights[0.25], np.where(source == GAP_FILLED, 0.25 * weights[1.0], weights[1.0]))
    assert (weights[1.0][source == GAP_FILLED] == 1).all() and (weights[1.0][source == MASKED] == 0).all()
    with pytest.raises(ValueError, match="gap_filled_weight"):
        TrainingConfig(gap_filled_weight=2.0)


def test_config_round_trips_through_yaml(tmp_path):
    config = TrainingConfig(model="leap", epochs=3, filters=(8, 16, 32, 16), bodyparts=["a", "b"],
                            occluder_probability=0.5, occluder_size=(0.05, 0.2))
    config.save(tmp_path / "c.yaml")
    assert TrainingConfig.load(tmp_path / "c.yaml") == config
    assert config.resolved_batch_size == 32 and TrainingConfig().resolved_batch_size == 8
    with pytest.raises(ValueError, match="model"):
        TrainingConfig(model="resnet")


def test_dataset_yields_padded_windows_and_frames(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets").rglob("trainingset.yaml")).parent
    )
    for model, shape in (("convlstm_leap", (2, 5, 64, 64, 1)), ("leap", (2, 64, 64, 1))):
        config = TrainingConfig(model=model, bodyparts=trainset.bodyparts, window_length=5)
        data, count = make_dataset(trainset, "train", config, 2, (64, 64), training=True)
        batch = next(iter(data))
        frames, xy, weight = batch["frames"], batch["xy"], batch["weight"]
        assert frames.shape == shape and frames.dtype == tf.uint8
        assert xy.shape[-2:] == (len(trainset.bodyparts), 2) and weight.shape[-1] == len(trainset.bodyparts)
        assert count > 0


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
    options = dict(epochs=4, steps_per_epoch=20, batch_size=4 if model != "leap" else 16, sigma=4.0,
                   map_amplitude=10.0, learning_rate=3e-3, augment=False)
    folder = train(trainset_project, model=model, **options)
    trainset = load_training_set(
        next((project.project_path / "dlc-recurrent" / "training-sets").rglob("trainingset.yaml")).parent
    )
    network, config = load_student(folder)
    untrained = config.build_model()
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


def test_bidirectional_student_trains_and_analyzes_into_its_own_dlc_file(trainset_project, tmp_path):
    import deeplabcut

    from dlc_recurrent.infer import analyze_videos, student_scorer
    from dlc_recurrent.models import MODEL_KINDS
    from dlc_recurrent.project import read_video_info

    project = load_project(trainset_project)
    folder = train(trainset_project, model="bidirectional_leap", **TINY)
    assert TrainingConfig.load(folder / CONFIG_NAME).model == "bidirectional_leap"
    video = project.videos[0]
    scorer = analyze_videos(trainset_project, [str(video)], model="bidirectional_leap", destfolder=tmp_path,
                            progress=False)
    assert scorer == student_scorer(project, 1, 0, "bidirectional_leap")
    assert set(DLC_NET_TYPES) == set(MODEL_KINDS) and len(set(DLC_NET_TYPES.values())) == len(MODEL_KINDS)
    table, _, found, _ = deeplabcut.auxiliaryfunctions.load_analyzed_data(str(tmp_path), video.stem, scorer)
    assert found == scorer
    assert list(table.index) == list(range(read_video_info(video).n_frames))
    assert np.isfinite(table.to_numpy()).all()


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


def test_a_resumed_stream_starts_where_the_interrupted_one_stopped(trainset_project):
    trainset = load_training_set(
        next((load_project(trainset_project).project_path / "dlc-recurrent" / "training-sets").rglob("trainingset.yaml")).parent
    )
    config = TrainingConfig(model="convlstm_leap", bodyparts=trainset.bodyparts, window_length=5)
    stream = make_dataset(trainset, "train", config, 2, (64, 64), training=True)[0]
    resumed = make_dataset(trainset, "train", config, 2, (64, 64), training=True, skip=4)[0]
    expected = list(stream.take(4))[2:]
    for got, want in zip(resumed.take(2), expected):
        for key in ("frames", "xy", "weight"):
            np.testing.assert_array_equal(got[key].numpy(), want[key].numpy())


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
    with pytest.raises(ProjectError, match="overwrite=True"):
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


def test_every_device_gets_test_windows_in_every_batch():
    for n_samples, batch, replicas in [(5, 4, 2), (7, 8, 4), (24, 8, 2), (9, 8, 4), (3, 16, 2), (2, 4, 2)]:
        size = validation_batch_size(n_samples, batch, replicas)
        assert replicas <= size <= batch
        assert n_samples % size == 0 or n_samples % size >= replicas
        assert not any(n_samples % larger == 0 or n_samples % larger >= replicas for larger in range(size + 1, batch + 1))
    assert validation_batch_size(5, 4, 2) == 3 and validation_batch_size(24, 8, 2) == 8
    assert validation_batch_size(1, 4, 2) == 0  # fewer test windows than devices: no test loss
    assert validation_batch_size(5, 4, 1) == 4


def test_train_without_training_set(project_copy):
    with pytest.raises(ProjectError, match="create_training_set"):
        train(project_copy, model="leap", **TINY)


def test_load_student_without_weights(tmp_path):
    with pytest.raises(ProjectError, match="no trained student"):
        load_student(tmp_path)
