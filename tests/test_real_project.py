"""DeepLabCut's own example project: real video, its real config and labels, a real DLC teacher.

A short cut of the example's video goes through the README's three calls (tiny training) and
DeepLabCut's own tools. The teacher's predictions are those of a network trained with deeplabcut
(``benchmarks/real_teacher.py``), cached in ``benchmarks/data/``. The example project lives outside
this repository (``../shared/real``, or ``$DLC_RECURRENT_REAL``); without it the test is skipped.
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dlc_recurrent
from dlc_recurrent.frames import read_video_info
from dlc_recurrent.project import load_project

REPO = Path(__file__).resolve().parent.parent
TEACHER_RECORD = REPO / "benchmarks" / "data" / "real_teacher.json"
EXAMPLE = "openfield-Pranav-2018-10-30"


def _real_data() -> Path | None:
    candidates = [os.environ.get("DLC_RECURRENT_REAL"), REPO.parent / "shared" / "real", "/work/shared/real"]
    for candidate in candidates:
        if candidate and (Path(candidate) / EXAMPLE / "config.yaml").is_file():
            return Path(candidate)
    return None


REAL = _real_data()
pytestmark = pytest.mark.skipif(REAL is None,
                                reason="DeepLabCut's example project is not here (set DLC_RECURRENT_REAL)")

FRAMES = 150


@pytest.fixture(scope="module")
def real_project(tmp_path_factory) -> Path:
    """The example project copied (config.yaml and labeled-data as they are), its video's first frames
    cut losslessly, and the real teacher's rows for them beside the cut."""
    import cv2
    from deeplabcut.utils import auxiliaryfunctions

    record = json.loads(TEACHER_RECORD.read_text())
    root = tmp_path_factory.mktemp("real") / EXAMPLE
    shutil.copytree(REAL / EXAMPLE, root, ignore=shutil.ignore_patterns("*.mp4"))
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    video = root / "videos" / "m3v1cut.avi"
    capture = cv2.VideoCapture(str(REAL / EXAMPLE / "videos" / "m3v1mp4.mp4"))
    writer = None
    for _ in range(FRAMES):
        ok, frame = capture.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"FFV1"), 30, frame.shape[1::-1])
        writer.write(frame)
    writer.release()
    capture.release()
    teacher = pd.read_hdf(REPO / "benchmarks" / "data" / record["predictions"]).iloc[:FRAMES]
    teacher.to_hdf(video.parent / f"{video.stem}{record['scorer']}.h5", key="df_with_missing", format="table")
    config = root / "config.yaml"
    cfg = auxiliaryfunctions.read_config(str(config))
    cfg["project_path"] = str(root)
    cfg["video_sets"] = {str(video): {"crop": "0, 640, 0, 480"}}
    auxiliaryfunctions.write_config(str(config), cfg)
    return config


def test_the_three_calls_and_deeplabcuts_tools_on_real_video(real_project, capsys):
    import deeplabcut

    from dlc_recurrent.layout import modelprefix

    project = load_project(real_project)
    assert project.bodyparts == ["snout", "leftear", "rightear", "tailbase"]
    dlc_recurrent.create_training_set(real_project, window_length=5, windows_per_video=40, scale=0.25)
    short = dict(schedule="fixed", epochs=1, steps_per_epoch=3, batch_size=2)
    for model in ("leap", "convlstm_leap"):
        dlc_recurrent.train(real_project, model=model, **short)
    said = capsys.readouterr().out
    assert said.count("NOT converged after 3 steps") >= 2, "the report tells a user the students are unfinished"
    video = project.videos[0]
    scorer = dlc_recurrent.analyze_videos(real_project, [str(video)], progress=False)
    table, _, found, _ = deeplabcut.auxiliaryfunctions.load_analyzed_data(str(video.parent), video.stem, scorer)
    assert found == scorer and len(table) == read_video_info(video).n_frames == FRAMES
    assert np.isfinite(table.to_numpy()).all()
    kw = dict(shuffle=1, modelprefix=modelprefix("convlstm_leap"))
    deeplabcut.filterpredictions(str(real_project), [str(video)], **kw)
    assert list(video.parent.glob(f"{video.stem}{scorer}_filtered.h5"))
    deeplabcut.plot_trajectories(str(real_project), [str(video)], **kw)
    assert list(video.parent.rglob("plot-poses/*/*.png"))
    report = pd.read_csv(next((project.project_path / "dlc-recurrent" / "convlstm_leap").rglob("quality.csv")))
    assert set(report.bodypart) == {"all", *project.bodyparts}
    assert report[(report.reference == "teacher") & (report.bodypart == "all")].n_points.iloc[0] > 0
