"""Synthetic projects must be real DeepLabCut projects, read by deeplabcut's own functions, with honest truth."""

import math
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from dlc_recurrent.measures import true_runs
from dlc_recurrent.synthetic import (
    BODYPARTS,
    OCCLUDERS,
    SKELETON,
    make_synthetic_project,
    open_synthetic_project,
    read_ground_truth,
    teacher_scorer,
)
from tests.helpers import decoded_frames

WIDTH, HEIGHT, N_LABELED, N_VIDEOS = 168, 140, 12, 2
N_FRAMES = 300  # the default


@pytest.fixture(scope="module")
def dlc():
    import deeplabcut

    return deeplabcut


@pytest.fixture(scope="module")
def project(dlc, tmp_path_factory):
    """A default project, except for a half-size frame, two videos and fewer hand labels."""
    config = make_synthetic_project(
        tmp_path_factory.mktemp("synthetic"),
        n_videos=N_VIDEOS,
        width=WIDTH,
        height=HEIGHT,
        n_labeled_frames=N_LABELED,
    )
    return open_synthetic_project(config)



def _teacher(project, video) -> np.ndarray:
    return pd.read_hdf(project.teacher_h5(video)).to_numpy().reshape(N_FRAMES, len(BODYPARTS), 3)


def _run_lengths(hidden: np.ndarray) -> set[int]:
    return {int(stop - start) for start, stop in true_runs(hidden)}


def test_config_is_read_by_deeplabcut(dlc, project):
    cfg = dlc.utils.auxiliaryfunctions.read_config(project.config_path)
    assert cfg["bodyparts"] == BODYPARTS
    assert [list(pair) for pair in cfg["skeleton"]] == SKELETON
    assert not cfg["multianimalproject"]
    assert cfg["numframes2pick"] == N_LABELED
    videos_folder = project.config_path.parent / "videos"
    assert sorted(cfg["video_sets"]) == [str(videos_folder / f"mouse{i:02d}.mp4") for i in range(N_VIDEOS)]
    for settings in cfg["video_sets"].values():
        assert settings["crop"] == f"0, {WIDTH}, 0, {HEIGHT}"


def test_videos_decode_to_every_rendered_frame(dlc, project):
    for video in project.videos:
        reader = dlc.utils.auxfun_videos.VideoReader(str(video))
        assert len(reader) == N_FRAMES
        assert reader.dimensions == (WIDTH, HEIGHT)
        frames = decoded_frames(video)
        assert len(frames) == N_FRAMES
        assert frames[0].shape == (HEIGHT, WIDTH, 3)
        assert all((frame == frame[..., :1]).all() for frame in frames), "grey frames: three equal channels"


def test_labeled_data_is_read_by_deeplabcut(dlc, project, tmp_path):
    from deeplabcut.generate_training_dataset.trainingsetmanipulation import merge_annotateddatasets

    cfg = dlc.utils.auxiliaryfunctions.read_config(project.config_path)
    merged = merge_annotateddatasets(cfg, tmp_path)
    assert merged.shape == (N_VIDEOS * N_LABELED, 2 * len(BODYPARTS))
    assert list(merged.columns.names) == ["scorer", "bodyparts", "coords"]
    assert list(merged.columns.get_level_values("bodyparts").unique()) == BODYPARTS
    assert all(len(row) == 3 and row[0] == "labeled-data" for row in merged.index)

    copy = tmp_path / "copy"
    shutil.copytree(project.config_path.parent, copy, ignore=shutil.ignore_patterns("*.mp4", "*.h5", "*.png"))
    dlc.convertcsv2h5(str(copy / "config.yaml"), userfeedback=False)
    for video in project.videos:
        ours = pd.read_hdf(project.config_path.parent / "labeled-data" / video.stem / "CollectedData_sim.h5")
        from_csv = pd.read_hdf(copy / "labeled-data" / video.stem / "CollectedData_sim.h5")
        pd.testing.assert_frame_equal(from_csv, ours)


def test_labels_name_the_frames_they_label(dlc, project):
    digits = math.ceil(math.log10(N_FRAMES))
    n_hidden_labels = 0
    for video in project.videos:
        truth = read_ground_truth(video)
        folder = project.config_path.parent / "labeled-data" / video.stem
        labels = pd.read_hdf(folder / "CollectedData_sim.h5")
        reader = dlc.utils.auxfun_videos.VideoReader(str(video))
        frames = decoded_frames(video)
        for (_, stem, image_name), row in labels.iterrows():
            assert stem == video.stem
            assert re.fullmatch(rf"img\d{{{digits}}}\.png", image_name)
            frame = int(image_name[3:-4])
            png = cv2.imread(str(folder / image_name))
            np.testing.assert_array_equal(png, frames[frame])
            reader.set_to_frame(frame)
            np.testing.assert_array_equal(cv2.cvtColor(png, cv2.COLOR_BGR2RGB), reader.read_frame())

            xy = row.to_numpy().reshape(len(BODYPARTS), 2)
            hidden = ~truth.visible[frame]
            assert np.isnan(xy[hidden]).all()
            assert np.abs(xy[~hidden] - truth.xy[frame][~hidden]).max() < 5
            n_hidden_labels += hidden.sum()
    assert n_hidden_labels > 0, "some labelled frames show a hidden part, left unlabelled"


def test_teacher_is_found_and_read_by_deeplabcut(dlc, project):
    aux = dlc.utils.auxiliaryfunctions
    cfg = aux.read_config(project.config_path)
    scorer = teacher_scorer(project.config_path)
    assert scorer == project.teacher_scorer == f"DLC_Resnet50_{cfg['Task']}{cfg['date']}shuffle1_snapshot_200"
    expected_columns = pd.MultiIndex.from_product(
        [[scorer], BODYPARTS, ["x", "y", "likelihood"]], names=["scorer", "bodyparts", "coords"]
    )
    for video in project.videos:
        folder = str(video.parent)
        path, found_scorer, _ = aux.find_analyzed_data(folder, video.stem, scorer)
        assert Path(path) == project.teacher_h5(video) and found_scorer == scorer
        df, _, _, _ = aux.load_analyzed_data(folder, video.stem, scorer)
        assert df.shape == (N_FRAMES, 3 * len(BODYPARTS))
        assert df.columns.equals(expected_columns)
        assert df.index.equals(pd.RangeIndex(N_FRAMES))
        assert (df.dtypes == np.float64).all() and not df.isna().any().any()
        with pd.HDFStore(path, mode="r") as store:
            assert store.keys() == ["/df_with_missing"]
            assert store.get_storer("df_with_missing").is_table
        meta = aux.load_video_metadata(folder, video.stem, scorer)["data"]
        assert meta["Scorer"] == scorer
        assert meta["nframes"] == N_FRAMES and meta["fps"] == 250
        assert meta["frame_dimensions"] == (WIDTH, HEIGHT)
        assert meta["cropping"] is False and meta["cropping_parameters"] == [0, WIDTH, 0, HEIGHT]
        assert meta["iteration (active-learning)"] == 0 and meta["training set fraction"] == 0.8


def test_only_the_teacher_looks_like_predictions(dlc, project):
    folder = project.videos[0].parent
    for video in project.videos:
        path, _, _ = dlc.utils.auxiliaryfunctions.find_analyzed_data(str(folder), video.stem, "DLC")
        assert Path(path) == project.teacher_h5(video)
        assert video.with_name(video.stem + "_groundtruth.npz").is_file()
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert leftovers == [], "atomic writes leave no temporary files"


def test_teacher_is_right_when_visible_and_wrong_when_hidden(project):
    for video in project.videos:
        truth = read_ground_truth(video)
        teacher = _teacher(project, video)
        error = np.linalg.norm(teacher[..., :2] - truth.xy, axis=-1)
        likelihood = teacher[..., 2]
        visible = truth.visible
        assert (~visible).sum() > 50
        assert np.median(error[visible]) < 1.5
        assert np.mean(likelihood[visible] >= 0.6) > 0.99
        assert np.median(error[~visible]) > 4.0
        assert np.mean(likelihood[~visible] < 0.6) > 0.8


def test_every_occlusion_length_from_1_to_10_frames_occurs(project):
    truth = read_ground_truth(project.videos[0])
    lengths = set().union(*(_run_lengths(~truth.visible[:, k]) for k in range(len(BODYPARTS))))
    assert set(range(1, 11)) <= lengths
    occluders = {OCCLUDERS[code] for code in np.unique(truth.occluded_by[~truth.visible])}
    assert {"tail", "bar"} <= occluders
    assert (truth.occluded_by[truth.visible] == 0).all()


def test_occluders_cover_the_hidden_paws_in_the_video(project):
    near_paws = [BODYPARTS.index("forepaw_near"), BODYPARTS.index("hindpaw_near")]
    brightness = {"visible": [], "tail": [], "bar": []}
    for video in project.videos:
        truth = read_ground_truth(video)
        for t, frame in enumerate(decoded_frames(video)):
            for k in near_paws:
                col, row = np.round(truth.xy[t, k]).astype(int)
                key = "visible" if truth.visible[t, k] else OCCLUDERS[truth.occluded_by[t, k]]
                brightness[key].append(frame[row, col, 0])
    assert np.median(brightness["visible"]) > 170
    assert np.median(brightness["bar"]) < 60
    assert np.median(brightness["tail"]) < 150


def test_same_seed_same_project_other_seed_other_project(dlc, tmp_path):
    kwargs = dict(n_frames=60, width=64, height=64, n_labeled_frames=5)
    projects = [
        open_synthetic_project(make_synthetic_project(tmp_path / name, seed=seed, **kwargs))
        for name, seed in (("a", 3), ("b", 3), ("c", 4))
    ]
    (a, b, c) = projects
    truth_a, truth_b, truth_c = (read_ground_truth(p.videos[0]) for p in projects)
    for field in ("xy", "visible", "occluded_by"):
        np.testing.assert_array_equal(getattr(truth_a, field), getattr(truth_b, field))
    pd.testing.assert_frame_equal(pd.read_hdf(a.teacher_h5(a.videos[0])), pd.read_hdf(b.teacher_h5(b.videos[0])))
    labels = [pd.read_hdf(p.config_path.parent / "labeled-data" / "mouse00" / "CollectedData_sim.h5") for p in (a, b)]
    pd.testing.assert_frame_equal(*labels)
    np.testing.assert_array_equal(np.stack(decoded_frames(a.videos[0])), np.stack(decoded_frames(b.videos[0])))
    assert truth_a.frame_count == truth_c.frame_count == 60
    assert not np.allclose(truth_a.xy, truth_c.xy)


def test_refuses_to_reuse_an_existing_project(dlc, tmp_path):
    make_synthetic_project(tmp_path, n_frames=20, width=64, height=64, n_labeled_frames=2)
    with pytest.raises(FileExistsError, match="already exists"):
        make_synthetic_project(tmp_path, n_frames=20, width=64, height=64, n_labeled_frames=2)


def test_rejects_odd_frame_sizes(tmp_path):
    with pytest.raises(ValueError, match="even"):
        make_synthetic_project(tmp_path, width=65, height=64)


def test_rejects_an_unknown_occlusion_phase(tmp_path):
    with pytest.raises(ValueError, match="occlusions_during must be 'stance' or 'any'"):
        make_synthetic_project(tmp_path, width=64, height=64, occlusions_during="swing")


def test_the_long_hidden_preset_hides_paws_longer_than_gap_filling_reaches(dlc, tmp_path):
    """The conditions under which, on real video, the recurrent student fell behind LEAP: paws hidden
    for longer than max_gap_fill, with the teacher on a look-alike or the occluder meanwhile."""
    from dlc_recurrent.config import TrainingSetSpec
    from dlc_recurrent.synthetic import PRESETS

    config = make_synthetic_project(tmp_path, n_frames=400, width=64, height=64, n_labeled_frames=4, seed=2,
                                    **PRESETS["long_hidden"])
    project = open_synthetic_project(config)
    truth = read_ground_truth(project.videos[0])
    lengths = [n for k in range(len(BODYPARTS)) for n in _run_lengths(~truth.visible[:, k])]
    longest_filled = TrainingSetSpec().max_gap_fill
    assert max(lengths) > 2 * longest_filled
    assert sum(n for n in lengths if n > longest_filled) > 0.5 * sum(lengths), "mostly long runs"
    teacher = pd.read_hdf(project.teacher_h5(project.videos[0])).to_numpy().reshape(len(truth.xy), -1, 3)
    hidden = ~truth.visible
    error = np.linalg.norm(teacher[..., :2] - truth.xy, axis=-1)
    assert np.median(error[hidden]) > 3 * np.median(error[~hidden]), "the teacher is off while a paw is hidden"
