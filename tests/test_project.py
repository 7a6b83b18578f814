"""Reading DLC projects: config, videos, hand labels, teacher predictions, and every bad input."""

import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML

from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import Crop, read_video_info
from dlc_recurrent.project import (
    find_teacher,
    frame_number_from_image_name,
    load_project,
    read_hand_labels,
    read_teacher,
    teacher_candidates,
    video_crop,
)
from dlc_recurrent.synthetic import read_ground_truth
from tests.helpers import only_video


def edit_yaml(path: Path, **edits) -> None:
    yaml = YAML()
    data = yaml.load(path.read_text())
    data.update(edits)
    with path.open("w") as handle:
        yaml.dump(data, handle)


# --- config -------------------------------------------------------------------------------------


def test_load_project_reads_what_deeplabcut_reads(small_project):
    import deeplabcut

    project = load_project(small_project)
    dlc_cfg = deeplabcut.auxiliaryfunctions.read_config(small_project)
    assert project.bodyparts == list(dlc_cfg["bodyparts"])
    assert project.task == dlc_cfg["Task"] and project.date == dlc_cfg["date"]
    assert project.pcutoff == pytest.approx(dlc_cfg["pcutoff"])
    assert project.training_fraction == pytest.approx(list(dlc_cfg["TrainingFraction"]))
    assert project.iteration == dlc_cfg["iteration"]
    assert project.project_path == small_project.parent.resolve()
    video = only_video(small_project)
    assert video.is_file()
    assert project.crop_for(video) == Crop(0, 64, 0, 64)


def test_load_project_accepts_the_project_folder(small_project):
    assert load_project(small_project.parent).config_path == small_project.resolve()


def test_moved_project_is_read_without_touching_config(small_project, tmp_path):
    """deeplabcut's read_config rewrites config.yaml of a moved project; we must not."""
    moved = tmp_path / "moved"
    shutil.copytree(small_project.parent, moved)
    before = (moved / "config.yaml").read_bytes()
    project = load_project(moved / "config.yaml")
    assert project.project_path == moved.resolve()
    assert (moved / "config.yaml").read_bytes() == before


def test_missing_config_is_a_clear_error(tmp_path):
    with pytest.raises(ProjectError, match="config file not found"):
        load_project(tmp_path / "nope" / "config.yaml")


def test_config_without_bodyparts(project_copy):
    edit_yaml(project_copy, bodyparts=[])
    with pytest.raises(ProjectError, match="no bodyparts"):
        load_project(project_copy)


def test_multianimal_project_is_refused(project_copy):
    edit_yaml(project_copy, multianimalproject=True, bodyparts="MULTI!", multianimalbodyparts=["a", "b"])
    with pytest.raises(ProjectError, match="multi-animal"):
        load_project(project_copy)


def test_broken_yaml_names_the_file(project_copy):
    project_copy.write_text("Task: [unclosed\n")
    with pytest.raises(ProjectError, match="config.yaml"):
        load_project(project_copy)


def test_error_messages_are_one_line(project_copy):
    edit_yaml(project_copy, bodyparts=[])
    with pytest.raises(ProjectError) as info:
        load_project(project_copy)
    assert "\n" not in str(info.value)


# --- crops --------------------------------------------------------------------------------------


def test_crop_outside_the_frame(project_copy):
    video = only_video(project_copy)
    edit_yaml(project_copy, video_sets={str(video): {"crop": "0, 80, 0, 64"}})
    project = load_project(project_copy)
    with pytest.raises(ProjectError, match="outside the 64x64 video"):
        video_crop(project, read_video_info(video))


def test_crop_that_is_empty_or_garbled(project_copy):
    video = only_video(project_copy)
    for crop in ("30, 10, 0, 64", "a, b, c"):
        edit_yaml(project_copy, video_sets={str(video): {"crop": crop}})
        with pytest.raises(ProjectError, match="crop"):
            load_project(project_copy)


def test_crop_inside_the_frame_is_kept(project_copy):
    video = only_video(project_copy)
    edit_yaml(project_copy, video_sets={str(video): {"crop": "4, 60, 8, 64"}})
    project = load_project(project_copy)
    assert video_crop(project, read_video_info(video)) == Crop(4, 60, 8, 64)


# --- hand labels --------------------------------------------------------------------------------


@pytest.mark.parametrize("name, frame", [("img050.png", 50), ("img0007.png", 7), ("labeled-data/v/img120.png", 120)])
def test_frame_number_from_image_name(name, frame):
    assert frame_number_from_image_name(name) == frame


def test_image_name_without_number():
    with pytest.raises(ProjectError, match="frame number"):
        frame_number_from_image_name("frame.png")


def test_hand_labels_sit_on_the_true_positions(small_project):
    project = load_project(small_project)
    video = only_video(small_project)
    labels = read_hand_labels(project, video)
    truth = read_ground_truth(video)
    assert len(labels) == 10
    assert list(labels.columns.get_level_values(0).unique()) == project.bodyparts
    for k, bodypart in enumerate(project.bodyparts):
        xy = labels[bodypart][["x", "y"]].to_numpy()
        labeled = ~np.isnan(xy).any(axis=1)
        error = np.linalg.norm(xy[labeled] - truth.xy[labels.index[labeled], k], axis=1)
        assert error.max() < 4, (bodypart, error)


def napari_style_copy(h5_path: Path) -> pd.DataFrame:
    """The labels as napari-deeplabcut writes them: key 'keypoints', string index."""
    labels = pd.read_hdf(h5_path)
    labels.index = ["/".join(row) for row in labels.index]
    labels.to_hdf(h5_path, key="keypoints", mode="w")
    return labels


def test_labels_any_key_any_index_style_or_csv(project_copy):
    project = load_project(project_copy)
    video = only_video(project_copy)
    reference = read_hand_labels(project, video)
    h5_path = next(project.labeled_data_folder(video).glob("CollectedData_*.h5"))

    napari_style_copy(h5_path)
    pd.testing.assert_frame_equal(read_hand_labels(project, video), reference)

    h5_path.unlink()
    pd.testing.assert_frame_equal(read_hand_labels(project, video), reference, check_exact=False)


def test_a_csv_with_a_single_labelled_image(project_copy):
    project = load_project(project_copy)
    video = only_video(project_copy)
    reference = read_hand_labels(project, video)
    h5_path = next(project.labeled_data_folder(video).glob("CollectedData_*.h5"))
    csv_path = h5_path.with_suffix(".csv")
    lines = csv_path.read_text().splitlines(keepends=True)
    assert lines[3].startswith("labeled-data,")
    csv_path.write_text("".join(lines[:4]))
    h5_path.unlink()
    pd.testing.assert_frame_equal(read_hand_labels(project, video), reference.iloc[:1], check_exact=False)


def test_unlabeled_video_has_no_labels(project_copy):
    project = load_project(project_copy)
    video = only_video(project_copy)
    shutil.rmtree(project.labeled_data_folder(video))
    assert read_hand_labels(project, video) is None


def test_labels_missing_a_body_part(project_copy):
    project = load_project(project_copy)
    video = only_video(project_copy)
    h5_path = next(project.labeled_data_folder(video).glob("CollectedData_*.h5"))
    labels = pd.read_hdf(h5_path)
    labels.drop(columns=project.bodyparts[0], level="bodyparts").to_hdf(h5_path, key="df_with_missing", mode="w")
    with pytest.raises(ProjectError, match=project.bodyparts[0]):
        read_hand_labels(project, video)


def test_labels_of_cropped_extraction_get_the_offset_back(project_copy):
    """Images extracted with a crop carry labels in crop coordinates; we return full-frame ones."""
    import cv2

    project = load_project(project_copy)
    video = only_video(project_copy)
    reference = read_hand_labels(project, video)
    folder = project.labeled_data_folder(video)
    for image in folder.glob("*.png"):
        cv2.imwrite(str(image), cv2.imread(str(image))[8:64, 4:60])
    h5_path = next(folder.glob("CollectedData_*.h5"))
    labels = pd.read_hdf(h5_path)
    labels.loc[:, (slice(None), slice(None), "x")] -= 4
    labels.loc[:, (slice(None), slice(None), "y")] -= 8
    labels.to_hdf(h5_path, key="df_with_missing", mode="w")
    edit_yaml(project_copy, video_sets={str(video): {"crop": "4, 60, 8, 64"}})
    shifted = read_hand_labels(load_project(project_copy), video)
    np.testing.assert_allclose(shifted.to_numpy(), reference.to_numpy())


# --- teacher ------------------------------------------------------------------------------------


def test_teacher_is_found_and_agrees_with_deeplabcut(small_project):
    import deeplabcut

    video = only_video(small_project)
    path = find_teacher(video)
    scorer = path.stem[len(video.stem):]
    assert scorer.startswith("DLC_")
    dlc_path, dlc_scorer, _ = deeplabcut.auxiliaryfunctions.find_analyzed_data(str(video.parent), video.stem, scorer)
    assert Path(dlc_path) == path and dlc_scorer == scorer


def test_derived_and_own_files_are_not_teachers(project_copy):
    video = only_video(project_copy)
    teacher = find_teacher(video)
    stem = teacher.stem
    shutil.copy(teacher, teacher.with_name(stem + "_filtered.h5"))
    shutil.copy(teacher, teacher.with_name(stem + "_skeleton.h5"))
    shutil.copy(teacher, teacher.with_name(stem + "_el.h5"))
    shutil.copy(teacher, teacher.with_name(stem + "_el_filtered.h5"))
    own = video.with_name(video.stem + "DLC_Resnet50_studentshuffle9_snapshot_010.h5")
    shutil.copy(teacher, own)
    with own.with_name(own.stem + "_meta.pickle").open("wb") as handle:
        pickle.dump({"data": {"dlc_recurrent": {"model": "convlstm_leap"}}}, handle)
    assert list(teacher_candidates(video).values()) == [teacher]
    assert find_teacher(video) == teacher


def test_a_task_name_holding_a_derived_suffix_is_still_a_teacher(project_copy):
    video = only_video(project_copy)
    teacher = find_teacher(video)
    renamed = video.with_name(video.stem
                              + "DLC_Resnet50_mouse_treadmill_skilled_elevated_fullNov25shuffle1_snapshot_200.h5")
    teacher.rename(renamed)
    shutil.copy(renamed, renamed.with_name(renamed.stem + "_filtered.h5"))
    assert find_teacher(video) == renamed


def test_several_teachers_need_a_choice(project_copy):
    video = only_video(project_copy)
    teacher = find_teacher(video)
    other_scorer = "DLC_Resnet101_otherNov1shuffle2_snapshot_100"
    shutil.copy(teacher, video.with_name(video.stem + other_scorer + ".h5"))
    with pytest.raises(ProjectError, match="teacher_scorer"):
        find_teacher(video)
    assert find_teacher(video, scorer=other_scorer).name == video.stem + other_scorer + ".h5"
    with pytest.raises(ProjectError, match="no teacher predictions"):
        find_teacher(video, scorer="DLC_nonexistent")


def test_no_teacher(project_copy):
    video = only_video(project_copy)
    find_teacher(video).unlink()
    with pytest.raises(ProjectError, match="analyze_videos"):
        find_teacher(video)


def test_read_teacher_shapes(small_project):
    project = load_project(small_project)
    video = only_video(small_project)
    n_frames = read_video_info(video).n_frames
    teacher = read_teacher(find_teacher(video), project.bodyparts, n_frames=n_frames)
    assert teacher.xy.shape == (n_frames, len(project.bodyparts), 2)
    assert teacher.likelihood.shape == (n_frames, len(project.bodyparts))
    assert ((teacher.likelihood >= 0) & (teacher.likelihood <= 1)).all()


def rewrite_teacher(path: Path, change) -> None:
    table = pd.read_hdf(path)
    change(table).to_hdf(path, key="df_with_missing", format="table", mode="w")


def test_teacher_with_other_body_parts(project_copy):
    project = load_project(project_copy)
    path = find_teacher(only_video(project_copy))
    rewrite_teacher(path, lambda t: t.rename(columns={project.bodyparts[1]: "nose"}, level="bodyparts"))
    with pytest.raises(ProjectError, match="lacks body parts"):
        read_teacher(path, project.bodyparts)


def test_teacher_with_too_few_rows(project_copy):
    project = load_project(project_copy)
    video = only_video(project_copy)
    path = find_teacher(video)
    n_frames = read_video_info(video).n_frames
    rewrite_teacher(path, lambda t: t.iloc[: n_frames // 2])
    with pytest.raises(ProjectError, match=f"{n_frames // 2} rows"):
        read_teacher(path, project.bodyparts, n_frames=n_frames)


def test_teacher_with_nan_only_column(project_copy):
    project = load_project(project_copy)
    path = find_teacher(only_video(project_copy))

    def blank(table):
        table.loc[:, (slice(None), project.bodyparts[2], slice(None))] = np.nan
        return table

    rewrite_teacher(path, blank)
    with pytest.raises(ProjectError, match="NaN on every frame"):
        read_teacher(path, project.bodyparts)


def test_teacher_nans_become_zero_likelihood(project_copy):
    project = load_project(project_copy)
    path = find_teacher(only_video(project_copy))

    def blank_some(table):
        table.iloc[:5, :3] = np.nan
        return table

    rewrite_teacher(path, blank_some)
    teacher = read_teacher(path, project.bodyparts)
    assert (teacher.likelihood[:5, 0] == 0).all()


def test_reading_never_writes_user_files(small_project):
    """Reading config, labels and teacher leaves every file of the project byte-identical."""
    folder = small_project.parent
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    project = load_project(small_project)
    for video in project.videos:
        read_video_info(video)
        read_hand_labels(project, video)
        read_teacher(find_teacher(video), project.bodyparts)
    after = {p: p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}
    assert after == before
