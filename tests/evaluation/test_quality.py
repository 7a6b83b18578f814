"""The quality report every student gets: numbers, files, summary and warnings with their fixes."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import dlc_recurrent
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.distill import create_training_set, load_training_set
from dlc_recurrent.evaluation.quality import quality_report, quality_table, quality_warnings
from dlc_recurrent.frames import read_video_info
from dlc_recurrent.inference.streams import predict_video
from dlc_recurrent.inference.student import load_trained_student
from dlc_recurrent.layout import (
    QUALITY_FIGURE_NAME as FIGURE_NAME,
)
from dlc_recurrent.layout import (
    QUALITY_TABLE_NAME as TABLE_NAME,
)
from dlc_recurrent.layout import (
    QUALITY_TEXT_NAME as TEXT_NAME,
)
from dlc_recurrent.layout import (
    model_folder,
    training_set_folder,
)
from dlc_recurrent.project import load_project, read_hand_labels, read_teacher, video_crop


def _independent_points(config, model):
    """Frames a report should judge, found from windows.csv alone, and the student's whole-video
    predictions there beside the teacher's: what the report's 'all' row must agree with."""
    project = load_project(config)
    folder = training_set_folder(project)
    windows = pd.read_csv(folder / "windows.csv")
    trainset = load_training_set(folder)
    length = trainset.window_length
    video = project.videos[0]
    test = windows[windows.split == "test"]
    frames = np.unique((test.first_frame.to_numpy()[:, None] + np.arange(length)).ravel())
    runs = np.split(frames, np.flatnonzero(np.diff(frames) != 1) + 1)
    judged = np.concatenate([run[length - 1:] for run in runs])
    info = read_video_info(video)
    student = load_trained_student(project, 1, 0, model)
    predicted = predict_video(student, info, video_crop(project, info), progress=False)[judged]
    teacher = read_teacher(next(video.parent.glob(f"{video.stem}DLC*.h5")), project.bodyparts)
    sure = teacher.likelihood[judged] >= project.pcutoff
    labels = read_hand_labels(project, video)
    if labels is not None:
        sure[np.isin(judged, labels.index)] = False
    error = np.linalg.norm(predicted[..., :2] - teacher.xy[judged], axis=-1)[sure]
    kept = (predicted[..., 2] >= project.pcutoff)[sure]
    return judged, error, kept


def test_report_agrees_with_whole_video_predictions_and_writes_its_files(trained_project, tmp_path):
    """LEAP has no context: its report on test blocks must equal its analyze_videos predictions there."""
    from tests.helpers import copy_project

    config = copy_project(trained_project, tmp_path / trained_project.parent.name)
    report = quality_report(config, model="leap", progress=False)
    judged, error, kept = _independent_points(config, "leap")
    overall = report.table[(report.table.reference == "teacher") & (report.table.bodypart == "all")].iloc[0]
    assert overall.n_points == len(error) > 20
    assert overall.median_px == pytest.approx(np.median(error), abs=1e-3)
    assert overall.mean_px == pytest.approx(np.mean(error), abs=1e-3)
    assert overall.within_5px == pytest.approx(np.mean(error <= 5.0))
    assert overall.kept_over_pcutoff == pytest.approx(np.mean(kept))
    folder = model_folder(load_project(config), 1, 0, "leap") / "evaluation"
    for name in (TABLE_NAME, FIGURE_NAME, TEXT_NAME):
        assert (folder / name).is_file()
    written = pd.read_csv(folder / TABLE_NAME)
    assert set(written.bodypart) == {"all", *load_project(config).bodyparts}
    assert len(report.summary) == 5 and str(len(judged)) in report.summary[1]
    assert (folder / TEXT_NAME).read_text().splitlines()[:5] == report.summary
    hand = report.table[(report.table.reference == "hand_label") & (report.table.bodypart == "all")].iloc[0]
    if hand.n_points:  # the teacher's own error on the same hand labels is the yardstick
        assert np.isfinite(hand.teacher_median_px)


def test_the_warning_fires_on_a_deliberately_short_run(project_copy, capsys):
    """Two optimizer steps: the user must be told the student is unfinished, and what to do."""
    create_training_set(project_copy, window_length=5, windows_per_video=20, max_gap_fill=0)
    capsys.readouterr()
    dlc_recurrent.train(project_copy, model="convlstm_leap", schedule="fixed", epochs=1, steps_per_epoch=2,
                        batch_size=2)
    said = capsys.readouterr().out
    assert "NOT converged after 2 steps" in said
    assert "train until it converges" in said
    assert "the student loses it" in said or "passes pcutoff on only" in said
    text = (model_folder(load_project(project_copy), 1, 0, "convlstm_leap") / "evaluation" / TEXT_NAME).read_text()
    assert "NOT converged" in text


def _table(median, kept=0.9, hand_median=np.nan, teacher_median=np.nan, n=50):
    rows = [{"reference": "teacher", "bodypart": "all", "n_points": 3 * n, "median_px": 2.0, "mean_px": 3.0,
             "within_5px": 0.8, "kept_over_pcutoff": kept, "teacher_median_px": np.nan}]
    for part, m in (("snout", 2.0), ("leftear", median), ("tailbase", 1.5)):
        rows.append({"reference": "teacher", "bodypart": part, "n_points": n, "median_px": m, "mean_px": m,
                     "within_5px": 0.9 if m < 5 else 0.1, "kept_over_pcutoff": kept if part == "leftear" else 0.95,
                     "teacher_median_px": np.nan})
    rows.append({"reference": "hand_label", "bodypart": "snout", "n_points": n if np.isfinite(hand_median) else 0,
                 "median_px": hand_median, "mean_px": hand_median, "within_5px": 0.5, "kept_over_pcutoff": 1.0,
                 "teacher_median_px": teacher_median})
    return pd.DataFrame(rows)


def test_warnings_name_the_part_and_the_fix():
    config = TrainingConfig(model="convlstm_leap", bodyparts=["snout", "leftear", "tailbase"])
    trainset = SimpleNamespace(spec=SimpleNamespace(windows_per_video=250))
    unfinished = {"converged": False, "verdict": "convlstm_leap: NOT converged after 300 steps"}
    lost = quality_warnings(_table(290.0), config, unfinished, trainset, 1, "convlstm_leap")
    assert lost[0].startswith("convlstm_leap: NOT converged")
    assert any(w.startswith("leftear: 290 px from the teacher") and "max_steps=40000" in w for w in lost)
    done = {"converged": True}
    advice = quality_warnings(_table(290.0), config, done, trainset, 1, "convlstm_leap")
    assert len(advice) == 1 and "windows_per_video=500" in advice[0]
    unsure = quality_warnings(_table(3.0, kept=0.21), config, done, trainset, 1, "convlstm_leap")
    assert len(unsure) == 1 and unsure[0].startswith("leftear:") and "21%" in unsure[0]
    behind = quality_warnings(_table(3.0, hand_median=9.0, teacher_median=2.0), config, done, trainset, 1,
                              "convlstm_leap")
    assert len(behind) == 1 and behind[0].startswith("snout: 9.0 px from the hand labels")
    assert quality_warnings(_table(3.0, hand_median=3.0, teacher_median=2.0), config, done, trainset, 1,
                            "convlstm_leap") == []
    fixed = TrainingConfig(model="leap", schedule="fixed", bodyparts=["a"])
    assert "overwrite=True) (the default schedule)" in quality_warnings(
        _table(290.0), fixed, {"converged": False, "verdict": "x"}, trainset, 1, "leap")[1]


def test_several_parts_with_problems_get_the_fix_once():
    config = TrainingConfig(model="convlstm_leap", bodyparts=["snout", "leftear", "tailbase"])
    trainset = SimpleNamespace(spec=SimpleNamespace(windows_per_video=250))
    table = _table(290.0, hand_median=9.0, teacher_median=2.0)
    said = quality_warnings(table, config, {"converged": True}, trainset, 1, "convlstm_leap")
    assert [w.split(":")[0] for w in said] == ["leftear", "snout", "For these 2 body parts"]
    assert sum("windows_per_video=500" in w for w in said) == 1 and "windows_per_video=500" in said[-1]


def test_quality_table_counts_each_reference_apart():
    predicted = np.zeros((4, 2, 3))
    predicted[..., 2] = [[0.9, 0.1], [0.9, 0.1], [0.9, 0.9], [0.9, 0.9]]
    target = np.zeros((4, 2, 2))
    target[:, 0, 0] = [3.0, 4.0, 10.0, 0.0]
    source = np.array([[1, 1], [1, 1], [2, 0], [1, 3]])
    teacher = np.full((4, 2, 2), np.nan)
    teacher[2, 0] = [12.0, 0.0]
    table = quality_table({"predicted": predicted, "target": target, "source": source, "teacher": teacher},
                          ["a", "b"], 0.5).set_index(["reference", "bodypart"])
    assert table.loc[("teacher", "a"), "n_points"] == 3
    assert table.loc[("teacher", "a"), "median_px"] == pytest.approx(3.0)
    assert table.loc[("teacher", "a"), "within_5px"] == pytest.approx(1.0)
    assert table.loc[("teacher", "b"), "kept_over_pcutoff"] == pytest.approx(0.0)
    assert table.loc[("teacher", "all"), "n_points"] == 5
    assert table.loc[("hand_label", "a"), "median_px"] == pytest.approx(10.0)
    assert table.loc[("hand_label", "a"), "teacher_median_px"] == pytest.approx(2.0)
    assert table.loc[("hand_label", "b"), "n_points"] == 0
