"""ensemble_videos on a trained synthetic project: an h5 deeplabcut's tools find and read, the members it
came from in its meta, the teacher still found as the teacher, and clear errors."""

import os
import pickle
from pathlib import Path

import deeplabcut
import numpy as np
import pandas as pd
import pytest

from dlc_recurrent.ensemble import ensemble_kalman_smooth
from dlc_recurrent.ensemble.videos import ensemble_videos
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.inference.analyze import analyze_videos
from dlc_recurrent.project import find_teacher, load_project, own_output_record, read_teacher, teacher_candidates
from dlc_recurrent.training import deeplabcut_options


def test_the_ensemble_of_teacher_and_students_is_a_dlc_file(trained_project, tmp_path):
    project = load_project(trained_project)
    video = project.videos[0]
    out = tmp_path / "out"
    for model in ("leap", "convlstm_leap"):
        analyze_videos(trained_project, [str(video)], model=model, destfolder=out, progress=False, precision="float32")
    teacher_before = find_teacher(video)

    scorer = ensemble_videos(trained_project, [str(video)], members=("teacher", "leap", "convlstm_leap"),
                             destfolder=out)
    h5 = out / f"{video.stem}{scorer}.h5"
    table = pd.read_hdf(h5)
    teacher = read_teacher(teacher_before, project.bodyparts)
    assert table.shape == (len(teacher.xy), 3 * len(project.bodyparts))
    assert list(table.columns.names) == ["scorer", "bodyparts", "coords"]
    assert table.columns.get_level_values("scorer")[0] == scorer
    values = table.to_numpy().reshape(len(table), -1, 3)
    assert np.isfinite(values).all() and ((values[..., 2] >= 0) & (values[..., 2] <= 1)).all()
    with open(h5.with_name(h5.stem + "_meta.pickle"), "rb") as handle:
        meta = pickle.load(handle)["data"]
    record = meta["dlc_recurrent"]
    assert set(record["members"]) == {"teacher", "leap", "convlstm_leap"}
    assert set(record["smooth_param"]) == set(project.bodyparts)

    # the same as smoothing the members' own files
    members = [np.concatenate([teacher.xy, teacher.likelihood[..., None]], -1)]
    for model in ("leap", "convlstm_leap"):
        members.append(pd.read_hdf(record["members"][model]).to_numpy().reshape(len(table), -1, 3))
    smoothed = ensemble_kalman_smooth(np.stack(members))
    np.testing.assert_allclose(values[..., :2], smoothed.xy, atol=1e-9)

    # deeplabcut finds it by the scorer it computes for modelprefix "dlc-recurrent/ensemble"
    deeplabcut.filterpredictions(str(trained_project), [str(video)], filtertype="median", destfolder=str(out),
                                 **deeplabcut_options("ensemble"))
    assert (out / f"{video.stem}{scorer}_filtered.h5").is_file()
    assert teacher_candidates(video, out) == {}  # the ensemble (and the students) are never taken for a teacher


def test_ensemble_errors_and_reruns(trained_project, tmp_path, caplog):
    project = load_project(trained_project)
    video = project.videos[0]
    with pytest.raises(ProjectError, match=r"no convlstm_leap predictions of .*analyze_videos"):
        ensemble_videos(trained_project, [str(video)], members=("teacher", "convlstm_leap"), destfolder=tmp_path)
    with pytest.raises(ProjectError, match="no teacher predictions"):
        ensemble_videos(trained_project, [str(video)], members=("teacher",), teacher_folder=tmp_path)
    with pytest.raises(ValueError, match="distinct names"):
        ensemble_videos(trained_project, [str(video)], members=("teacher", "teacher"), destfolder=tmp_path)
    with pytest.raises(ValueError, match="distinct names"):
        ensemble_videos(trained_project, [str(video)], members=("teacher", "resnet"), destfolder=tmp_path)
    scorer = ensemble_videos(trained_project, [str(video)], members=("teacher",), destfolder=tmp_path)
    h5 = tmp_path / f"{video.stem}{scorer}.h5"
    written = h5.stat().st_mtime_ns
    with caplog.at_level("INFO"):
        ensemble_videos(trained_project, [str(video)], members=("teacher",), destfolder=tmp_path)
    assert "already written" in caplog.text and h5.stat().st_mtime_ns == written
    with pytest.raises(ProjectError, match=r"holds the ensemble of teacher, not of teacher, leap; pass overwrite"):
        ensemble_videos(trained_project, [str(video)], members=("teacher", "leap"), destfolder=tmp_path)
    teacher_h5 = Path(own_output_record(h5)["members"]["teacher"])
    times = teacher_h5.stat()
    os.utime(teacher_h5, ns=(times.st_atime_ns, written + 10**9))
    try:
        caplog.clear()
        with caplog.at_level("INFO"):
            ensemble_videos(trained_project, [str(video)], members=("teacher",), destfolder=tmp_path)
    finally:
        os.utime(teacher_h5, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert f"{teacher_h5.name} changed after it was written" in caplog.text and h5.stat().st_mtime_ns == written
    (tmp_path / (h5.stem + "_meta.pickle")).unlink()
    with pytest.raises(ProjectError, match="not written by dlc-recurrent"):
        ensemble_videos(trained_project, [str(video)], members=("teacher",), destfolder=tmp_path, overwrite=True)
