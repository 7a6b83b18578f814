"""create_training_set (dlc_recurrent.distill.build): the stored training set, reruns, bad input."""

import os
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest

from dlc_recurrent.distill import GAP_FILLED, HAND_LABEL, TEACHER, create_training_set, load_training_set
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import from_scaled
from dlc_recurrent.layout import training_set_folder
from dlc_recurrent.project import find_teacher, load_project, read_teacher
from tests.helpers import decoded_frames


def small_set(config, **options):
    options = {"window_length": 5, "windows_per_video": 30, **options}
    return create_training_set(config, **options)


# --- the stored training set --------------------------------------------------------------------


@pytest.fixture
def built(project_copy):
    """A training set with the paper's targets: unsure teacher points masked, none gap-filled."""
    return project_copy, small_set(project_copy, max_gap_fill=0)


def test_training_set_stores_the_right_frames_and_targets(built):
    config, folder = built
    project = load_project(config)
    trainset = load_training_set(folder)
    video = project.videos[0]
    teacher = read_teacher(find_teacher(video), project.bodyparts)
    assert folder == training_set_folder(project)
    assert trainset.channels == 1 and trainset.window_length == 5
    assert set(trainset.windows.split) == {"train", "test"}

    decoded = [cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) for frame in decoded_frames(video)]
    for row in range(len(trainset.windows)):
        frames, xy, weight = trainset.window(row)
        first = int(trainset.windows.first_frame[row])
        assert frames.shape == (5, 64, 64, 1) and frames.dtype == np.uint8
        for t in range(5):
            np.testing.assert_array_equal(frames[t, ..., 0], decoded[first + t])
        teacher_ok = (teacher.likelihood[first : first + 5] >= project.pcutoff) & (weight > 0)
        source = trainset.targets[0].source[trainset.windows.first_row[row] + np.arange(5)]
        from_teacher = teacher_ok & (source == TEACHER)
        np.testing.assert_allclose(xy[from_teacher], teacher.xy[first : first + 5][from_teacher], atol=1e-4)
        unsure = (teacher.likelihood[first : first + 5] < project.pcutoff) & (source != HAND_LABEL)
        assert not weight[unsure].any()


def test_hand_labels_override_the_teacher_in_the_stored_targets(built):
    from dlc_recurrent.project import read_hand_labels

    config, folder = built
    project = load_project(config)
    trainset = load_training_set(folder)
    labels = read_hand_labels(project, project.videos[0])
    targets = trainset.targets[0]
    labelled_rows = np.flatnonzero(np.isin(targets.frame, labels.index))
    assert len(labelled_rows) == len(labels)  # every hand label sits in some window
    for row in labelled_rows:
        label = labels.loc[targets.frame[row]].to_numpy().reshape(-1, 2)
        present = ~np.isnan(label).any(axis=1)
        np.testing.assert_allclose(targets.xy[row][present], label[present], atol=1e-4)
        assert (targets.source[row][present] == HAND_LABEL).all()
        assert (targets.weight[row][~present] == 0).all()


def test_rerun_is_a_no_op_and_other_settings_need_overwrite(built):
    config, folder = built
    stamp = (folder / "trainingset.yaml").stat().st_mtime_ns
    assert small_set(config, max_gap_fill=0) == folder
    assert (folder / "trainingset.yaml").stat().st_mtime_ns == stamp
    with pytest.raises(ProjectError, match="windows_per_video=30 then, 10 now.*overwrite=True"):
        small_set(config, max_gap_fill=0, windows_per_video=10)
    video = load_project(config).videos[0]
    other = shutil.copy(video, video.with_name("session2.mp4"))  # as extract_outlier_frames adds a video
    with pytest.raises(ProjectError, match="videos not in it: session2.mp4 .pass videos="):
        small_set(config, max_gap_fill=0, videos=[video, other])
    small_set(config, windows_per_video=10, overwrite=True)
    assert len(load_training_set(folder).windows) < 30 + 10


def test_a_rerun_after_refined_labels_or_another_pcutoff_needs_overwrite(project_copy):
    from ruamel.yaml import YAML

    folder = small_set(project_copy, max_gap_fill=0)
    project = load_project(project_copy)
    labels_path = next(project.labeled_data_folder(project.videos[0]).glob("CollectedData_*.h5"))
    labels = pd.read_hdf(labels_path)
    labels.to_hdf(labels_path, key="df_with_missing", mode="w")  # saved again, unchanged: still a no-op
    assert small_set(project_copy, max_gap_fill=0) == folder
    labels.iloc[0, 0] += 3.0  # a refined hand label
    labels.to_hdf(labels_path, key="df_with_missing", mode="w")
    with pytest.raises(ProjectError, match=f"{project.videos[0].name}'s hand labels changed.*overwrite=True"):
        small_set(project_copy, max_gap_fill=0)
    small_set(project_copy, max_gap_fill=0, overwrite=True)
    assert small_set(project_copy, max_gap_fill=0) == folder  # rebuilt from the current labels: a no-op now
    yaml = YAML()
    config = yaml.load(project_copy.read_text())
    config["pcutoff"] = 0.9
    with project_copy.open("w") as handle:
        yaml.dump(config, handle)
    with pytest.raises(ProjectError, match="pcutoff changed"):
        small_set(project_copy, max_gap_fill=0)


def test_gap_filled_training_set(project_copy):
    folder = small_set(project_copy, max_gap_fill=20, windows_per_video=40)
    project = load_project(project_copy)
    teacher = read_teacher(find_teacher(project.videos[0]), project.bodyparts)
    targets = load_training_set(folder).targets[0]
    filled = targets.source == GAP_FILLED
    assert filled.any(), "the synthetic teacher has short gaps to fill"
    assert (targets.weight[filled] == 1).all()
    assert (teacher.likelihood[targets.frame][filled] < project.pcutoff).all()
    frames, parts = np.nonzero(filled)
    for row, part in zip(frames, parts):  # interpolated between the teacher's confident neighbours
        good = np.flatnonzero(teacher.likelihood[:, part] >= project.pcutoff)
        frame = targets.frame[row]
        before, after = good[good < frame].max(), good[good > frame].min()
        assert after - before - 1 <= 20
        expected = [np.interp(frame, [before, after], teacher.xy[[before, after], part, axis]) for axis in range(2)]
        np.testing.assert_allclose(targets.xy[row, part], expected, atol=1e-3)


def test_scaled_training_set(project_copy):
    folder = small_set(project_copy, scale=0.5, windows_per_video=10)
    trainset = load_training_set(folder)
    assert trainset.frames[0].shape[1:] == (32, 32, 1)
    project = load_project(project_copy)
    teacher = read_teacher(find_teacher(project.videos[0]), project.bodyparts)
    targets = trainset.targets[0]
    ok = targets.source == TEACHER
    np.testing.assert_allclose(from_scaled(targets.xy[ok], 0.5), teacher.xy[targets.frame][ok], atol=1e-4)


def test_a_header_that_overcounts_frames_is_settled_by_decoding(project_copy, monkeypatch):
    """deeplabcut writes one teacher row per frame that decodes; some headers claim more frames."""
    import dataclasses

    from dlc_recurrent.distill import build
    from dlc_recurrent.frames import read_video_info

    true_count = read_video_info(load_project(project_copy).videos[0]).n_frames
    monkeypatch.setattr(build, "read_video_info",
                        lambda video: dataclasses.replace(read_video_info(video), n_frames=true_count + 3))
    folder = small_set(project_copy)
    assert load_training_set(folder).videos[0]["n_frames"] == true_count
    path = find_teacher(load_project(project_copy).videos[0])
    table = pd.read_hdf(path)
    table.iloc[:-1].to_hdf(path, key="df_with_missing", format="table", mode="w")
    with pytest.raises(ProjectError, match=f"{true_count - 1} rows but the video decodes {true_count} frames"):
        small_set(project_copy, overwrite=True)


# --- bad input ----------------------------------------------------------------------------------


def no_leftovers(config):
    folder = training_set_folder(load_project(config))
    return not folder.exists() and not folder.with_name(folder.name + ".partial").exists()


def test_missing_teacher(project_copy):
    find_teacher(load_project(project_copy).videos[0]).unlink()
    with pytest.raises(ProjectError, match="no teacher predictions"):
        small_set(project_copy)
    assert no_leftovers(project_copy)


def test_video_shorter_than_the_window(project_copy):
    with pytest.raises(ProjectError, match="shorter than window_length"):
        small_set(project_copy, window_length=10_000)
    assert no_leftovers(project_copy)


def test_crop_outside_the_frame_fails_cleanly(project_copy):
    from ruamel.yaml import YAML

    video = load_project(project_copy).videos[0]
    yaml = YAML()
    data = yaml.load(project_copy.read_text())
    data["video_sets"] = {str(video): {"crop": "0, 100, 0, 64"}}
    with project_copy.open("w") as handle:
        yaml.dump(data, handle)
    with pytest.raises(ProjectError, match="outside"):
        small_set(project_copy)
    assert no_leftovers(project_copy)


def test_teacher_never_confident_gives_no_windows(project_copy):
    path = find_teacher(load_project(project_copy).videos[0])
    table = pd.read_hdf(path)
    table.loc[:, (slice(None), slice(None), "likelihood")] = 0.01
    table.to_hdf(path, key="df_with_missing", format="table", mode="w")
    shutil.rmtree(load_project(project_copy).project_path / "labeled-data")
    with pytest.raises(ProjectError, match="no window"):
        small_set(project_copy)
    assert no_leftovers(project_copy)


def test_truncated_video_fails_cleanly(project_copy, tmp_path):
    """A video whose later frames cannot be decoded: a clear error, and no half-written set."""
    project = load_project(project_copy)
    video = project.videos[0]
    frames = decoded_frames(video)
    avi = video.with_name(video.stem + "_cut.avi")
    writer = cv2.VideoWriter(str(avi), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 64))
    for frame in frames:
        writer.write(frame)
    writer.release()
    data = avi.read_bytes()
    avi.write_bytes(data[: len(data) // 3])
    teacher = find_teacher(video)
    shutil.copy(teacher, avi.parent / teacher.name.replace(video.stem, avi.stem, 1))
    with pytest.raises(ProjectError, match="_cut"):
        small_set(project_copy, videos=[avi])
    assert no_leftovers(project_copy)
    assert not any(p.name.endswith(".partial") for p in training_set_folder(project).parent.glob("*"))
    assert os.path.exists(teacher)


def test_the_teacher_chosen_by_its_dlc_shuffle_and_snapshot(project_copy, monkeypatch):
    """teacher_shuffle/teacher_snapshot_index name the teacher by the DLC network that wrote it, with
    deeplabcut's own scorer naming, when several teachers' files lie next to the video."""
    import deeplabcut
    from deeplabcut.utils import auxiliaryfunctions

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    deeplabcut.create_training_dataset(str(project_copy), num_shuffles=1, engine=deeplabcut.Engine.PYTORCH)
    cfg = auxiliaryfunctions.read_config(str(project_copy))
    train_folder = project_copy.parent / auxiliaryfunctions.get_model_folder(
        cfg["TrainingFraction"][0], 1, cfg, engine=deeplabcut.Engine.PYTORCH) / "train"
    for epoch in (5, 10):  # two snapshots of a trained shuffle 1; only their names matter here
        (train_folder / f"snapshot-{epoch:03d}.pt").write_bytes(b"")
    last, _ = auxiliaryfunctions.get_scorer_name(cfg, 1, cfg["TrainingFraction"][0])
    assert last.endswith("snapshot_10")

    video = load_project(project_copy).videos[0]
    table = pd.read_hdf(find_teacher(video))  # the simulated teacher stays: two teachers now
    table.columns = table.columns.set_levels([last], level="scorer")
    table.to_hdf(video.with_name(f"{video.stem}{last}.h5"), key="df_with_missing", format="table", mode="w")
    with pytest.raises(ProjectError, match="several teachers"):
        small_set(project_copy)

    folder = small_set(project_copy, teacher_shuffle=1)
    assert [v["teacher_scorer"] for v in load_training_set(folder).videos] == [last]
    with pytest.raises(ProjectError, match=r"snapshot_5\.h5"):
        small_set(project_copy, shuffle=2, teacher_shuffle=1, teacher_snapshot_index=0)
    with pytest.raises(ProjectError, match="no trained DLC network for teacher shuffle 2"):
        small_set(project_copy, shuffle=2, teacher_shuffle=2)
    with pytest.raises(ValueError, match="not both"):
        small_set(project_copy, shuffle=2, teacher_shuffle=1, teacher_scorer=last)


def test_two_builds_of_one_training_set_do_not_share_its_partial_folder(project_copy):
    """A second create_training_set while another process builds the same set stops in one line
    (the two would delete each other's .partial folder); a lock left by a dead process is taken over."""
    import socket
    import subprocess
    import sys
    import time

    from dlc_recurrent.layout import builder_lock_path

    folder = training_set_folder(load_project(project_copy))
    lock = builder_lock_path(folder)
    lock.parent.mkdir(parents=True, exist_ok=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        lock.write_text(f"{socket.gethostname()} {other.pid} {time.time():.0f}")
        with pytest.raises(ProjectError, match=f"process {other.pid} on .* is building this training set"):
            small_set(project_copy)
        assert lock.exists() and no_leftovers(project_copy)
        from dlc_recurrent.training import train

        with pytest.raises(ProjectError, match="is building this training set; let it finish, then train"):
            train(project_copy, model="leap")
    finally:
        other.kill()
        other.wait()
    assert (small_set(project_copy) / "trainingset.yaml").is_file()
    assert not lock.exists()


def test_the_teacher_chosen_by_its_snapshot_in_a_tensorflow_shuffle(project_copy, monkeypatch):
    """deeplabcut's TensorFlow branch of get_scorer_name reads the snapshot from the config only: the
    teacher_snapshot_index must reach it there too."""
    import deeplabcut
    from deeplabcut.generate_training_dataset import metadata
    from deeplabcut.utils import auxiliaryfunctions

    from dlc_recurrent.project import dlc_teacher_scorer

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    deeplabcut.create_training_dataset(str(project_copy), num_shuffles=1, engine=deeplabcut.Engine.PYTORCH)
    split = metadata.TrainingDatasetMetadata.load(project_copy, load_splits=True).get(0, 1)
    metadata.update_metadata(project_copy, split.train_fraction, 1, deeplabcut.Engine.TF,
                             list(split.split.train_indices), list(split.split.test_indices), overwrite=True)
    cfg = auxiliaryfunctions.read_config(str(project_copy))
    train = project_copy.parent / auxiliaryfunctions.get_model_folder(
        cfg["TrainingFraction"][0], 1, cfg, engine=deeplabcut.Engine.TF) / "train"
    train.mkdir(parents=True)
    (train / "pose_cfg.yaml").write_text("net_type: resnet_50\n")
    for iterations in (500, 1000):  # a TensorFlow teacher's two snapshots; only their names matter here
        (train / f"snapshot-{iterations}.index").write_bytes(b"")
    project = load_project(project_copy)
    assert dlc_teacher_scorer(project, 1).endswith("shuffle1_1000")
    assert dlc_teacher_scorer(project, 1, snapshot_index=0).endswith("shuffle1_500")
