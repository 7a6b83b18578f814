"""evaluate (dlc_recurrent.evaluation.pixel): pixel errors, outputs, bad input."""

import shutil

import numpy as np
import pandas as pd
import pytest

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.evaluation import pixel
from dlc_recurrent.evaluation.occlusion.run import evaluate_occlusion
from dlc_recurrent.evaluation.pixel import evaluate
from dlc_recurrent.evaluation.stats import LEAP, RECURRENT
from dlc_recurrent.layout import RESULTS_NAME, evaluation_folder, model_folder
from dlc_recurrent.project import load_project
from tests.helpers import copy_project


@pytest.fixture(scope="module")
def evaluation_copy(trained_project, tmp_path_factory):
    return copy_project(trained_project, tmp_path_factory.mktemp("pixel_errors") / trained_project.parent.name)


def test_evaluate_reports_every_combination_and_writes_csv(evaluation_copy):
    table = evaluate(evaluation_copy, progress=False)
    project = load_project(evaluation_copy)
    combos = set(map(tuple, table[["model", "split", "reference", "pcutoff_applied"]].drop_duplicates().to_numpy()))
    assert combos == {(m, s, r, c) for m in (LEAP, RECURRENT) for s in ("train", "test")
                      for r in ("teacher", "hand_label") for c in (False, True)}
    assert set(table.bodypart) == {"all", *project.bodyparts}
    assert (table.evaluated_frames == pixel.EVALUATED_FRAMES).all()
    teacher_train = table[(table.reference == "teacher") & (table.split == "train") & (table.bodypart == "all")]
    assert (teacher_train.n_candidates > 0).all() and teacher_train.mean_error_px.notna().any()
    assert (table.n_points <= table.n_candidates).all()
    assert table.fraction_kept.dropna().between(0, 1).all()
    assert (table[~table.pcutoff_applied].fraction_kept.dropna() == 1).all()
    for model in (LEAP, RECURRENT):
        written = pd.read_csv(model_folder(project, 1, 0, model) / "evaluation" / RESULTS_NAME)
        assert len(written) == (table.model == model).sum()
    combined = pd.read_csv(evaluation_folder(project) / RESULTS_NAME)
    assert len(combined) == len(table)

    several = evaluate(evaluation_copy, models=(LEAP,), shuffles=[1], progress=False, report=False)  # DLC 3's name
    assert (several.shuffle == 1).all()
    pd.testing.assert_frame_equal(several.drop(columns="shuffle"), table[table.model == LEAP].reset_index(drop=True),
                                  check_dtype=False)


def _target_predictions(offset, low_parts=()):
    """A fake student that predicts the training targets (+ offset) with likelihood 1 (0.1 on low_parts)."""

    def predict(student, trainset, windows, batch_size=8, progress=True):
        rows = windows.first_row.to_numpy() + trainset.window_length - 1
        xy = np.stack([trainset.targets[v].xy[r] for v, r in zip(windows.video, rows)]) + np.asarray(offset)
        likelihood = np.ones(xy.shape[:2])
        likelihood[:, list(low_parts)] = 0.1
        return np.concatenate([xy, likelihood[..., None]], axis=-1)

    return predict


def test_evaluate_error_is_zero_for_a_perfect_student_and_exact_for_a_shifted_one(evaluation_copy, monkeypatch):
    monkeypatch.setattr(pixel, "last_frame_predictions", _target_predictions((0.0, 0.0)))
    perfect = evaluate(evaluation_copy, models=(LEAP,), progress=False)
    measured = perfect.dropna(subset=["mean_error_px"])
    assert len(measured) and set(measured.reference) == {"teacher", "hand_label"}
    np.testing.assert_allclose(measured.mean_error_px, 0, atol=1e-9)
    assert (perfect.fraction_kept.dropna() == 1).all()

    monkeypatch.setattr(pixel, "last_frame_predictions", _target_predictions((3.0, -4.0), low_parts=(0, 2, 4)))
    shifted = evaluate(evaluation_copy, models=(RECURRENT,), progress=False)
    project = load_project(evaluation_copy)
    combined = pd.read_csv(evaluation_folder(project) / RESULTS_NAME)  # both students, each its latest
    assert len(combined) == len(perfect) + len(shifted)
    evaluate(evaluation_copy, models=(RECURRENT,), progress=False)  # again: replaces its rows
    assert len(pd.read_csv(evaluation_folder(project) / RESULTS_NAME)) == len(combined)
    evaluate(evaluation_copy, models=(RECURRENT,), pcutoff=0.3, progress=False)  # rows at another pcutoff
    assert set(pd.read_csv(evaluation_folder(project) / RESULTS_NAME).model) == {RECURRENT}
    np.testing.assert_allclose(combined[combined.model == LEAP].mean_error_px.dropna(), 0, atol=1e-9)
    np.testing.assert_allclose(combined[(combined.model == RECURRENT) & ~combined.pcutoff_applied]
                               .mean_error_px.dropna(), 5.0, atol=1e-9)
    low = {project.bodyparts[i] for i in (0, 2, 4)}
    without = shifted[~shifted.pcutoff_applied].dropna(subset=["mean_error_px"])
    np.testing.assert_allclose(without.mean_error_px, 5.0, atol=1e-9)  # full-resolution px
    with_cutoff = shifted[shifted.pcutoff_applied & (shifted.n_candidates > 0)]
    cut = with_cutoff[with_cutoff.bodypart.isin(low)]
    assert (cut.n_points == 0).all() and (cut.fraction_kept == 0).all() and cut.mean_error_px.isna().all()
    kept = with_cutoff[~with_cutoff.bodypart.isin(low) & (with_cutoff.bodypart != "all")]
    assert (kept.fraction_kept == 1).all()
    np.testing.assert_allclose(kept.mean_error_px, 5.0, atol=1e-9)
    overall = with_cutoff[with_cutoff.bodypart == "all"].set_index(["split", "reference"])
    by_part = with_cutoff[with_cutoff.bodypart != "all"].groupby(["split", "reference"])
    parts = by_part[["n_points", "n_candidates"]].sum()
    expected = parts.n_points / parts.n_candidates
    np.testing.assert_allclose(overall.fraction_kept.loc[expected.index], expected)


def test_missing_student_is_a_clear_project_error(trained_project, tmp_path):
    config = copy_project(trained_project, tmp_path / trained_project.parent.name)
    project = load_project(config)
    shutil.rmtree(model_folder(project, 1, 0, RECURRENT))
    with pytest.raises(ProjectError, match=r"no trained convlstm_leap student.*dlc_recurrent\.train"):
        evaluate(config, progress=False)
    with pytest.raises(ProjectError, match="no trained convlstm_leap student"):
        evaluate_occlusion(config, progress=False)
    assert set(evaluate(config, models=(LEAP,), progress=False).model) == {LEAP}  # the other student is optional
    with pytest.raises(ProjectError, match="not in the project"):
        evaluate_occlusion(config, bodyparts=["nose"], progress=False)
    with pytest.raises(ProjectError, match="no training set"):
        evaluate(config, shuffle=7, progress=False)
    with pytest.raises(ValueError, match="model must be a recurrent student"):
        evaluate_occlusion(config, model="leap", progress=False)
    with pytest.raises(ProjectError, match="no trained bidirectional_leap student"):
        evaluate_occlusion(config, model="bidirectional_leap", progress=False)
