"""Faults: a full disk (or quota) in each stage, and a damaged analysis resume file, here; each
gives one line naming the folder or file and the bytes or fix, leaves nothing half-written, and a
rerun works. The other faults are tested beside the stage they hit:

- damaged training checkpoint, its state file, training-set files, student weights and yaml:
  test_training (test_a_damaged_*);
- damaged output ``_meta.pickle``: test_infer (test_a_damaged_meta_pickle_...);
- killed runs: test_training (test_resume_after_the_process_is_killed), test_infer
  (test_an_interrupted_analysis_resumes_...);
- races: two analyses of one folder (test_infer, test_two_jobs_on_one_folder_...), two trainings of
  one student and a rebuild under a training (test_training, test_one_training_run_per_student_...), two builds of one
  training set (test_distill, test_two_builds_...), and the locks themselves (test_locks).
"""

import errno
import shutil
from collections import namedtuple

import pytest

from dlc_recurrent.distill import create_training_set
from dlc_recurrent.errors import DiskFull
from dlc_recurrent.inference.analyze import analyze_videos
from dlc_recurrent.layout import WEIGHTS_NAME, model_folder, training_set_folder
from dlc_recurrent.project import load_project
from dlc_recurrent.training import train

TINY = dict(schedule="fixed", epochs=1, steps_per_epoch=3, batch_size=2, sigma=3.0, map_amplitude=10.0)
SET = dict(window_length=5, windows_per_video=20, max_gap_fill=0)


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _little_space(monkeypatch, free: int) -> None:
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("dlc_recurrent.fileio.shutil.disk_usage", lambda path: usage(10**12, 10**12 - free, free))


def _nothing_left(config) -> bool:
    folder = training_set_folder(load_project(config))
    return not folder.exists() and not folder.with_name(folder.name + ".partial").exists()


def test_create_training_set_on_a_disk_too_small_stops_before_writing(project_copy, monkeypatch):
    _little_space(monkeypatch, 1000)
    with pytest.raises(DiskFull, match=r"the training set needs about [\d.]+ [KM]B but the disk has 1.0 KB free"):
        create_training_set(project_copy, **SET)
    assert _nothing_left(project_copy)


@pytest.mark.skipif(not hasattr(__import__("os"), "posix_fallocate"), reason="posix_fallocate is Linux's")
def test_create_training_set_when_the_disk_fills_up_leaves_nothing(project_copy, monkeypatch):
    """The frames file is memory-mapped: its blocks are reserved up front, so a full disk is an
    error here and not a SIGBUS that kills the process mid-write."""
    with monkeypatch.context() as patch:
        patch.setattr("dlc_recurrent.fileio.os.posix_fallocate", _full_disk)
        with pytest.raises(DiskFull, match="the disk filled up while create_training_set wrote .* needed"):
            create_training_set(project_copy, **SET)
    assert _nothing_left(project_copy)
    assert (create_training_set(project_copy, **SET) / "trainingset.yaml").is_file()


def test_train_on_a_disk_too_small_and_when_it_fills_up(project_copy, monkeypatch):
    create_training_set(project_copy, **SET)
    folder = model_folder(load_project(project_copy), 1, 0, "leap") / "train"
    with monkeypatch.context() as patch:
        _little_space(patch, 1000)
        with pytest.raises(DiskFull, match=r"training needs about [\d.]+ [KM]B but the disk has 1.0 KB free"):
            train(project_copy, model="leap", **TINY)
    with monkeypatch.context() as patch:
        patch.setattr("tensorflow.train.CheckpointManager.save", _full_disk)
        with pytest.raises(DiskFull, match="the disk filled up while train wrote"):
            train(project_copy, model="leap", **TINY)
    assert not (folder / WEIGHTS_NAME).exists()
    assert (train(project_copy, model="leap", **TINY) / WEIGHTS_NAME).is_file()  # with space: trains


def test_analyze_videos_stops_at_a_full_disk_and_leaves_no_output(trained_project, tmp_path, monkeypatch):
    video = load_project(trained_project).videos[0]
    other = tmp_path / "videos" / "second.mp4"
    other.parent.mkdir()
    shutil.copy(video, other)
    written = []
    with monkeypatch.context() as patch:
        patch.setattr("dlc_recurrent.inference.analyze.write_outputs",
                      lambda *args: (written.append(args), _full_disk()))
        with pytest.raises(DiskFull, match="the disk filled up while analyze_videos wrote"):
            analyze_videos(trained_project, [str(video), str(other)], model="leap", destfolder=tmp_path / "out",
                           progress=False)
    assert len(written) == 1, "a full disk stops the analysis: the next video would fail the same way"
    assert not list((tmp_path / "out").glob("*.h5"))
    scorer = analyze_videos(trained_project, [str(video)], model="leap", destfolder=tmp_path / "out", progress=False)
    assert (tmp_path / "out" / f"{video.stem}{scorer}.h5").is_file()


def test_a_damaged_resume_file_costs_time_not_results(trained_project, tmp_path, caplog):
    """An analysis's .resume.npz cut short (a full disk, a killed copy): the video is analyzed from the
    start, with a warning, to the same predictions, and the damaged file is gone."""
    import logging

    import pandas as pd

    from dlc_recurrent.layout import RESUME_SUFFIX

    video = load_project(trained_project).videos[0]
    scorer = analyze_videos(trained_project, [str(video)], model="leap", destfolder=tmp_path / "straight",
                            progress=False)
    h5 = f"{video.stem}{scorer}.h5"
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / (h5 + RESUME_SUFFIX)).write_bytes(b"PK\x03\x04 cut short")
    with caplog.at_level(logging.WARNING, logger="dlc_recurrent"):
        analyze_videos(trained_project, [str(video)], model="leap", destfolder=damaged, progress=False)
    assert "unreadable checkpoint; analyzing from the start" in caplog.text
    assert not (damaged / (h5 + RESUME_SUFFIX)).exists()
    pd.testing.assert_frame_equal(pd.read_hdf(damaged / h5), pd.read_hdf(tmp_path / "straight" / h5))
