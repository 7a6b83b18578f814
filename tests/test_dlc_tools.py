"""DeepLabCut's own post-processing tools, unmodified, on a student's output (issue 4's contract)."""

import shutil

import cv2
import pandas as pd
import pytest

import deeplabcut

from dlc_recurrent.infer import analyze_videos
from dlc_recurrent.training import modelprefix


@pytest.fixture(scope="module")
def analyzed(trained_project, tmp_path_factory):
    """A copy of the trained project whose video was analyzed by the recurrent student."""
    folder = tmp_path_factory.mktemp("tools") / trained_project.parent.name
    shutil.copytree(trained_project.parent, folder)
    config = folder / "config.yaml"
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(config.read_text())
    data["project_path"] = str(folder)
    data["video_sets"] = {str(folder / "videos" / "mouse00.mp4"): {"crop": "0, 64, 0, 64"}}
    with config.open("w") as handle:
        yaml.dump(data, handle)
    video = folder / "videos" / "mouse00.mp4"
    scorer = analyze_videos(config, [str(video)], model="convlstm_leap", progress=False)
    return config, video, scorer


def test_every_dlc_tool_runs_on_the_student_output(analyzed):
    config, video, scorer = analyzed
    prefix = modelprefix("convlstm_leap")
    folder = video.parent
    common = dict(shuffle=1, trainingsetindex=0, modelprefix=prefix)

    deeplabcut.filterpredictions(str(config), [str(video)], filtertype="median", save_as_csv=True, **common)
    filtered = folder / f"{video.stem}{scorer}_filtered.h5"
    assert filtered.is_file()
    assert pd.read_hdf(filtered).shape == pd.read_hdf(folder / f"{video.stem}{scorer}.h5").shape

    deeplabcut.plot_trajectories(str(config), [str(video)], **common)
    plots = list((folder / "plot-poses" / video.stem).glob("*.png"))
    assert {p.stem for p in plots} >= {"trajectory", "plot", "plot-likelihood", "hist"}

    deeplabcut.create_labeled_video(str(config), [str(video)], **common)
    labeled = list(folder.glob(f"{video.stem}{scorer}*_labeled.mp4"))
    assert labeled
    capture = cv2.VideoCapture(str(labeled[0]))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == len(pd.read_hdf(folder / f"{video.stem}{scorer}.h5"))
    capture.release()

    deeplabcut.analyzeskeleton(str(config), [str(video)], save_as_csv=True, **common)
    skeleton = folder / f"{video.stem}{scorer}_skeleton.h5"
    assert skeleton.is_file()
    bones = pd.read_hdf(skeleton)
    assert len(bones) == len(pd.read_hdf(folder / f"{video.stem}{scorer}.h5"))

    deeplabcut.extract_outlier_frames(str(config), [str(video)], automatic=True, outlieralgorithm="jump",
                                      epsilon=5, **common)
    machine = list((config.parent / "labeled-data" / video.stem).glob("machinelabels-iter*.h5"))
    assert machine, "extract_outlier_frames wrote no machine labels"
    outliers = pd.read_hdf(machine[0])
    assert len(outliers) > 0 and outliers.columns.get_level_values("scorer")[0] == scorer

    deeplabcut.analyze_videos_converth5_to_csv(str(folder), ".mp4")
    assert (folder / f"{video.stem}{scorer}.csv").is_file()
