"""DeepLabCut's own post-processing tools, unmodified, on a student's output (the package's contract with DLC),
called exactly as the README says, in every project layout DeepLabCut users have."""

import re
from pathlib import Path

import cv2
import deeplabcut
import numpy as np
import pandas as pd
import pytest

from dlc_recurrent.inference.analyze import analyze_videos
from tests.helpers import copy_project

README = Path(__file__).resolve().parent.parent / "README.md"
LAYOUTS = ["no training-datasets", "pytorch shuffle", "tensorflow shuffle", "2.x: Documentation pickles only"]


def _make_layout(config: Path, layout: str, monkeypatch) -> None:
    """Give the project the DLC shuffle 1 a user of each kind has, with deeplabcut's own functions.

    The TensorFlow engine's create_training_dataset needs imgaug and downloads ImageNet weights
    (neither is here), so its shuffle is made as PyTorch's and declared TensorFlow through
    deeplabcut's update_metadata, which is what DLC's tools read to choose the engine.
    """
    from deeplabcut.generate_training_dataset import metadata

    if layout == "no training-datasets":
        return
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    deeplabcut.create_training_dataset(str(config), num_shuffles=1, engine=deeplabcut.Engine.PYTORCH)
    meta_path = metadata.TrainingDatasetMetadata.path(config)
    if layout == "tensorflow shuffle":
        shuffle = metadata.TrainingDatasetMetadata.load(config, load_splits=True).get(0, 1)
        metadata.update_metadata(config, shuffle.train_fraction, 1, deeplabcut.Engine.TF,
                                 list(shuffle.split.train_indices), list(shuffle.split.test_indices), overwrite=True)
    elif layout == "2.x: Documentation pickles only":
        meta_path.unlink()  # DLC 2.x wrote none; DLC 3 rebuilds it from the pickles, assuming TensorFlow
    expected = deeplabcut.Engine.PYTORCH if layout == "pytorch shuffle" else deeplabcut.Engine.TF
    assert metadata.get_shuffle_engine(config, 0, 1) == expected


def _readme_tool_options(model: str) -> dict:
    """The keyword arguments the README gives for DeepLabCut's tools, evaluated as written there."""
    block = re.search(r"```python\nimport deeplabcut\n(kw = .*?)\n", README.read_text())
    assert block, "README: the DLC tools block starting 'import deeplabcut' / 'kw = ...' is gone"
    namespace = {"deeplabcut": deeplabcut}
    exec(block.group(1).replace('"dlc-recurrent/convlstm_leap"', f'"dlc-recurrent/{model}"'), namespace)
    return namespace["kw"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_dlc_tool_runs_on_the_student_output(trained_project, layout, tmp_path, monkeypatch):
    """The user's order: their DLC project (with its own shuffle 1), the student's analysis, DLC's tools."""
    config = copy_project(trained_project, tmp_path / trained_project.parent.name)
    _make_layout(config, layout, monkeypatch)
    video = config.parent / "videos" / "mouse00.mp4"
    scorer = analyze_videos(config, [str(video)], model="convlstm_leap", progress=False)
    common = _readme_tool_options("convlstm_leap")
    folder = video.parent

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


def test_the_outlier_loop_leads_back_into_training(trained_project, tmp_path, monkeypatch):
    """extract_outlier_frames on the student's output -> the labeler's corrections saved as refine_labels
    saves them -> deeplabcut.merge_datasets -> create_training_set and train on the next iteration,
    with the corrected frames as hand labels that override the teacher."""
    from dlc_recurrent.distill import HAND_LABEL, create_training_set, load_training_set
    from dlc_recurrent.project import load_project
    from dlc_recurrent.training import train

    config = copy_project(trained_project, tmp_path / trained_project.parent.name)
    _make_layout(config, "pytorch shuffle", monkeypatch)
    videos = [str(v) for v in load_project(config).videos]
    video = Path(videos[0])
    analyze_videos(config, [str(video)], model="convlstm_leap", progress=False)
    deeplabcut.extract_outlier_frames(str(config), [str(video)], automatic=True, outlieralgorithm="jump",
                                      epsilon=5, **_readme_tool_options("convlstm_leap"))

    folder = config.parent / "labeled-data" / video.stem
    machine = pd.read_hdf(next(folder.glob("machinelabels-iter0.h5")))
    project = load_project(config)
    collected = folder / f"CollectedData_{project.scorer}.h5"
    refined = machine.drop(columns="likelihood", level="coords") + 1.5  # the labeler moves every point
    refined.columns = refined.columns.set_levels([project.scorer], level="scorer")
    old = pd.read_hdf(collected)
    pd.concat([old, refined.reindex(columns=old.columns)]).to_hdf(collected, key="df_with_missing", mode="w")

    deeplabcut.merge_datasets(str(config))
    assert load_project(config).iteration == 1
    trainset = create_training_set(config, videos=videos, window_length=5, windows_per_video=24, max_gap_fill=0)
    assert "iteration-1" in str(trainset)
    loaded = load_training_set(trainset)
    targets = loaded.targets[[Path(v["video"]).name for v in loaded.videos].index(video.name)]
    frames = [int(name[-1][3:-4]) for name in refined.index]
    stored = np.isin(targets.frame, frames)
    assert stored.any(), "no refined frame made it into the training set"
    assert (targets.source[stored] == HAND_LABEL).all()
    for row in np.flatnonzero(stored):
        expected = refined.iloc[frames.index(targets.frame[row])].to_numpy(float).reshape(-1, 2)
        np.testing.assert_allclose(targets.xy[row], expected, atol=1e-3)

    student = train(config, model="leap", batch_size=16, schedule="fixed", epochs=1, steps_per_epoch=5, augment=False)
    assert "iteration-1" in str(student)
    assert analyze_videos(config, [str(video)], model="leap", progress=False)
