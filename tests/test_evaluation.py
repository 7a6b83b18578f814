"""evaluate and evaluate_occlusion: statistics, the occlusion protocol, pixel errors, outputs, bad input."""

import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from ruamel.yaml import YAML
from scipy import signal, stats

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.distill import load_training_set
from dlc_recurrent.ensemble import smoothed_predictions
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.evaluation import common, pixel
from dlc_recurrent.evaluation.occlusion import baselines, natural, run, study, windows
from dlc_recurrent.evaluation.occlusion.baselines import fill_gaps, interpolate_unsure
from dlc_recurrent.evaluation.occlusion.natural import calibration_table
from dlc_recurrent.evaluation.occlusion.run import evaluate_occlusion
from dlc_recurrent.evaluation.occlusion.study import METHODS
from dlc_recurrent.evaluation.occlusion.windows import occlude_window, occluder_side, select_occlusion_windows
from dlc_recurrent.evaluation.pixel import evaluate
from dlc_recurrent.evaluation.stats import (
    EKS_TEACHER,
    EKS_TEACHER_LEAP,
    EKS_WITH_STUDENT,
    FILTERED,
    FILTERED_CAUSAL,
    LEAP,
    RECURRENT,
    TWO_STUDENTS,
    compare_methods,
    paired_ttest,
    sem,
    significance_mark,
)
from dlc_recurrent.layout import RESULTS_NAME, evaluation_folder, model_folder, training_set_folder
from dlc_recurrent.measures import true_runs
from dlc_recurrent.project import find_teacher, load_project, read_teacher
from dlc_recurrent.synthetic import read_ground_truth

OCCLUDER_SIZE = 12
MAX_OCCLUSION = 3
N_WINDOWS = 6


def copy_project(config: Path, target: Path) -> Path:
    """A private copy of a project (config paths rewritten), so outputs never touch the shared fixture."""
    shutil.copytree(config.parent, target)
    new_config = target / "config.yaml"
    yaml = YAML()
    data = yaml.load(new_config.read_text())
    data["project_path"] = str(target)
    data["video_sets"] = {str(target / "videos" / Path(k).name): v for k, v in data["video_sets"].items()}
    with new_config.open("w") as handle:
        yaml.dump(data, handle)
    return new_config


@pytest.fixture(scope="module")
def evaluated(trained_project, tmp_path_factory):
    """A copy of the trained project, evaluate_occlusion run once on it (recording every square placed)."""
    config = copy_project(trained_project, tmp_path_factory.mktemp("evaluation") / trained_project.parent.name)
    videos_before = sorted(p.name for p in (config.parent / "videos").iterdir())
    calls = []
    original = windows.occlude_window

    def recording(window, centres, length, side):
        out = original(window, centres, length, side)
        calls.append((np.array(window), np.array(centres), length, side, out))
        return out

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(windows, "occlude_window", recording)
        result = evaluate_occlusion(config, n_windows=N_WINDOWS, occluder_size=OCCLUDER_SIZE,
                                    max_occlusion=MAX_OCCLUSION, n_events=2, progress=False)
    return config, result, calls, videos_before


# ----------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------


def test_paired_ttest_and_sem_match_scipy():
    rng = np.random.default_rng(1)
    for n in (2, 5, 50):
        a = rng.normal(10, 3, n)
        b = a + rng.normal(0.5, 1, n)
        t, p, count = paired_ttest(a, b)
        expected = stats.ttest_rel(a, b)
        assert count == n
        assert t == pytest.approx(expected.statistic, rel=1e-10)
        assert p == pytest.approx(expected.pvalue, rel=1e-10)
        assert sem(a) == pytest.approx(stats.sem(a), rel=1e-12)
    a, b = rng.normal(size=20), rng.normal(size=20)
    a[3], b[7] = np.nan, np.nan  # pairs with a NaN are dropped
    keep = np.isfinite(a) & np.isfinite(b)
    t, p, count = paired_ttest(a, b)
    assert count == 18 and p == pytest.approx(stats.ttest_rel(a[keep], b[keep]).pvalue, rel=1e-10)
    assert np.isnan(paired_ttest([1.0], [2.0])[1]) and np.isnan(sem([4.0]))


def test_significance_marks():
    assert [significance_mark(p) for p in (0.0002, 0.001, 0.004, 0.01, 0.03, 0.05, 0.4)] == [
        "***", "**", "**", "*", "*", "n.s.", "n.s."]
    assert significance_mark(float("nan")) == ""


def test_compare_methods_pairs_the_same_points():
    rng = np.random.default_rng(2)
    recurrent, leap = rng.gamma(2, 2, 30), rng.gamma(3, 2, 30)
    leap[0] = np.nan  # dropped for every method, so all rest on n=29
    rows = {r["method"]: r for r in compare_methods({LEAP: leap, RECURRENT: recurrent})}
    assert rows[LEAP]["n"] == rows[RECURRENT]["n"] == 29
    assert rows[LEAP]["mean_px"] == pytest.approx(np.mean(leap[1:]))
    assert rows[RECURRENT]["sem_px"] == pytest.approx(stats.sem(recurrent[1:]))
    expected = stats.ttest_rel(recurrent[1:], leap[1:]).pvalue
    assert rows[LEAP][f"p_{RECURRENT}_vs_method"] == pytest.approx(expected)
    assert rows[LEAP]["significance"] == significance_mark(expected)
    assert np.isnan(rows[RECURRENT][f"p_{RECURRENT}_vs_method"])


def test_fill_gaps_interpolates_under_pcutoff():
    xy = np.array([[0.0, 0], [99, 99], [99, 99], [3, 6], [99, 99]])[:, None]
    likelihood = np.array([0.9, 0.1, 0.2, 0.95, 0.0])[:, None]
    filled = fill_gaps(xy, likelihood, 0.6)[:, 0]
    np.testing.assert_allclose(filled, [[0, 0], [1, 2], [2, 4], [3, 6], [3, 6]])


def test_interpolate_unsure_fills_positions_and_keeps_likelihoods():
    likelihood = np.array([0.9, 0.1, 0.2, 0.95, 0.0])
    predictions = np.stack([[0.0, 99, 99, 3, 99], [0.0, 99, 99, 6, 99], likelihood], -1)[:, None]
    filled = interpolate_unsure(predictions, 0.6)
    np.testing.assert_allclose(filled[:, 0, :2], [[0, 0], [1, 2], [2, 4], [3, 6], [3, 6]])
    np.testing.assert_array_equal(filled[..., 2], predictions[..., 2])
    assert predictions[1, 0, 0] == 99  # the input is not modified


# ----------------------------------------------------------------------------------------------
# The occlusion protocol
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("side", [7, 6])
def test_squares_are_black_centred_and_only_on_the_last_frames(side):
    rng = np.random.default_rng(0)
    window = rng.integers(1, 256, (5, 40, 50, 1), dtype=np.uint8)
    point = (20.3, 15.7)
    centres = np.array([[point, (np.nan, np.nan)]] * 5)
    for length in range(6):
        out = occlude_window(window, centres, length, side)
        assert out.shape == window.shape and out is not window
        np.testing.assert_array_equal(out[: 5 - length], window[: 5 - length])
        for t in range(5 - length, 5):
            rows, columns = np.nonzero(out[t, ..., 0] != window[t, ..., 0])
            assert len(rows) == side * side and (out[t, rows, columns] == 0).all()
            assert np.ptp(rows) == side - 1 and np.ptp(columns) == side - 1
            assert abs(columns.mean() - point[0]) <= 0.5 and abs(rows.mean() - point[1]) <= 0.5
    # clipped at the border, never wrapped; and the side scales with the training set
    out = occlude_window(window, np.array([[(1.0, 38.0)]] * 5), 1, 6)  # square x -1..4, y 36..41
    rows, columns = np.nonzero(out[4, ..., 0] == 0)
    assert (rows.min(), rows.max(), columns.min(), columns.max(), len(rows)) == (36, 39, 0, 4, 4 * 5)
    assert occluder_side(20, 1.0) == 20 and occluder_side(20, 0.5) == 10 and occluder_side(20, 0.01) == 1


def test_windows_are_chosen_per_body_part_with_the_confidence_rule():
    confident = [np.ones((100, 3), bool), np.ones((100, 3), bool)]
    for ok in confident:
        ok[:, 1] = False
        ok[10:31, 1] = True  # part 1: confident on frames 10..30 only
        ok[:, 2] = False  # part 2: never confident
    blocks = [[[0, 49]], [[50, 99]]]
    names = ["a", "b", "c"]
    chosen = select_occlusion_windows(confident, blocks, 5, 10, [0, 1, 2], names, seed=7)
    counts = chosen.groupby("bodypart").size()
    assert counts["a"] == 10 and counts["b"] == 10 and "c" not in counts  # c has none, a and b still do
    assert (chosen[chosen.bodypart == "b"].n_candidates == 31 - 10 - 5 + 1).all()
    for _, row in chosen.iterrows():
        first, last = blocks[row.video][0]
        assert first <= row.first_frame and row.last_frame <= last and row.last_frame - row.first_frame == 4
        assert confident[row.video][row.first_frame : row.last_frame + 1, row.part].all()
    b = chosen[chosen.bodypart == "b"]
    assert (b.video == 0).all() and (b.first_frame >= 10).all() and (b.last_frame <= 30).all()
    again = select_occlusion_windows(confident, blocks, 5, 10, [0, 1, 2], names, seed=7)
    pd.testing.assert_frame_equal(chosen, again)
    alone = select_occlusion_windows(confident, blocks, 5, 10, [0], names, seed=7)
    pd.testing.assert_frame_equal(alone, chosen[chosen.bodypart == "a"].reset_index(drop=True))
    other = select_occlusion_windows(confident, blocks, 5, 10, [0], names, seed=8)
    assert not other.first_frame.equals(alone.first_frame)


def test_occlusion_windows_follow_the_rule_and_both_models_see_the_same_ones(evaluated):
    config, result, calls, _ = evaluated
    project = load_project(config)
    trainset = load_training_set(training_set_folder(project))
    length = trainset.window_length
    video = project.videos[0]
    truth = read_ground_truth(video)
    teacher = read_teacher(trainset.videos[0]["teacher"], project.bodyparts)
    blocks = trainset.videos[0]["test_blocks"]
    windows = result["occlusion_windows"]
    assert len(windows) and windows.groupby("bodypart").size().max() <= N_WINDOWS
    for _, row in windows.iterrows():
        span = slice(row.first_frame, row.first_frame + length)
        assert (teacher.likelihood[span, row.part] >= project.pcutoff).all()
        assert truth.visible[span, row.part].all()
        assert any(first <= row.first_frame and row.last_frame <= last for first, last in blocks)
    raw = result["occlusion_errors"]
    assert set(raw.occlusion_length) == set(range(MAX_OCCLUSION + 1))
    per_window = raw.groupby(["bodypart", "window", "occlusion_length"]).method.apply(sorted)
    assert (per_window.apply(tuple) == tuple(sorted([LEAP, FILTERED_CAUSAL, RECURRENT]))).all()
    assert len(per_window) == len(windows) * (MAX_OCCLUSION + 1)


def test_squares_in_the_study_sit_on_the_ground_truth(evaluated):
    config, result, calls, _ = evaluated
    project = load_project(config)
    truth = read_ground_truth(project.videos[0])
    windows = result["occlusion_windows"]
    length = load_training_set(training_set_folder(project)).window_length
    assert calls and {c[3] for c in calls} == {occluder_side(OCCLUDER_SIZE, 1.0)}
    assert {c[2] for c in calls} == set(range(MAX_OCCLUSION + 1))
    starts = set(windows.first_frame)
    for window, centres, k, side, out in calls[:: max(1, len(calls) // 12)]:
        # the centres handed to the squares are the true positions of a chosen window (scale 1, no crop),
        # on every part not already hidden
        expected = {s: np.where(truth.visible[s : s + length, :, None], truth.xy[s : s + length], np.nan)
                    for s in starts}
        matches = [s for s in starts if np.allclose(centres, expected[s], atol=1e-6, equal_nan=True)]
        assert matches, "squares not centred on the ground truth of a chosen window"
        np.testing.assert_array_equal(out[: length - k], window[: length - k])
        for t in range(length - k, length):
            for x, y in centres[t][np.isfinite(centres[t]).all(axis=1)]:
                column, row = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
                assert out[t, row, column, 0] == 0


# ----------------------------------------------------------------------------------------------
# evaluate()
# ----------------------------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------------------------
# evaluate_occlusion(): outputs, truth, baselines
# ----------------------------------------------------------------------------------------------


def test_evaluate_occlusion_writes_tables_and_figures(evaluated):
    config, result, _, videos_before = evaluated
    folder = result["folder"]
    assert folder == evaluation_folder(load_project(config))
    assert folder.parts[-4:-1] == ("dlc-recurrent", "evaluation", "iteration-0")
    for name in ("test_frames", "occlusion", "occlusion_windows", "occlusion_errors", "natural_events", "summary",
                 "findings", "calibration"):
        path = folder / f"{name}.csv"
        assert path.is_file() and len(pd.read_csv(path)) == len(result[name]) > 0, name
    figures = result["figures"]
    assert {"fig5_test_frames", "fig6_artificial_occlusion", "calibration"} <= set(figures)
    assert any(name.startswith("fig2_3_natural_occlusion") for name in figures)
    for path in figures.values():
        assert path.is_file() and path.parent == folder
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
    text = (folder / "summary.txt").read_text()
    assert "(window, body part) pairs" in text and "Figure 6" in text
    # the user's folders are untouched: DLC's tools wrote only inside the evaluation folder
    assert sorted(p.name for p in (config.parent / "videos").iterdir()) == videos_before


def test_hidden_frame_errors_are_measured_against_the_synthetic_truth(evaluated):
    config, result, _, _ = evaluated
    project = load_project(config)
    trainset = load_training_set(training_set_folder(project))
    truth = read_ground_truth(project.videos[0])
    test = np.zeros(len(truth.xy), bool)
    for first, last in trainset.videos[0]["test_blocks"]:
        test[first : last + 1] = True
    hidden = test[:, None] & ~truth.visible
    assert hidden.sum() > 0

    raw_path = next(p for p in (result["folder"] / "leap-predictions").glob("*.h5") if "_filtered" not in p.name)
    n_parts = len(project.bodyparts)
    leap = pd.read_hdf(raw_path).to_numpy(float).reshape(-1, n_parts, 3)
    filtered = pd.read_hdf(raw_path.with_name(raw_path.stem + "_filtered.h5")).to_numpy(float).reshape(-1, n_parts, 3)
    # the baseline is DeepLabCut's own median filter on LEAP's output, then gap filling
    np.testing.assert_allclose(filtered[:, 0, 0], signal.medfilt(leap[:, 0, 0], 5))
    filled = fill_gaps(filtered[..., :2], filtered[..., 2], project.pcutoff)

    # the teacher + LEAP ensemble, smoothed here from the two files the study read
    teacher = read_teacher(find_teacher(project.videos[0]), project.bodyparts)
    members = np.stack([np.concatenate([teacher.xy, teacher.likelihood[..., None]], -1), leap])
    ensemble = smoothed_predictions(members, baselines.LIKELIHOOD_RADIUS)[0][..., :2]

    table = result["test_frames"].set_index(["reference", "bodypart", "method"])
    assert ("teacher (confident)", "all", EKS_TEACHER_LEAP) not in table.index  # it holds the teacher
    for method, xy in ((LEAP, leap[..., :2]), (FILTERED, filled), (EKS_TEACHER_LEAP, ensemble)):
        error = np.linalg.norm(xy - truth.xy, axis=-1)
        row = table.loc[("truth (hidden)", "all", method)]
        assert row.n == hidden.sum()
        assert row.mean_px == pytest.approx(error[hidden].mean())
        visible = table.loc[("truth (visible)", "all", method)]
        assert visible.mean_px == pytest.approx(error[test[:, None] & truth.visible].mean())

    # calibration: LEAP's right guesses per likelihood bin on the same hidden points
    calibration = result["calibration"].set_index(["method", "points"]).sort_index()
    leap_hidden = calibration.loc[(LEAP, "hidden")]
    assert leap_hidden.n.sum() == hidden.sum()
    error = np.linalg.norm(leap[..., :2] - truth.xy, axis=-1)[hidden]
    likelihood = leap[..., 2][hidden]
    assert (leap_hidden.n * leap_hidden.fraction_within_5px).sum() == pytest.approx((error <= 5).sum())
    kept, dropped = natural.pcutoff_use(error, likelihood, project.pcutoff)
    summary = result["summary"]
    assert summary.loc[LEAP, "hidden_right_kept"] == pytest.approx(kept, nan_ok=True)
    assert summary.loc[LEAP, "hidden_wrong_dropped"] == pytest.approx(dropped, nan_ok=True)
    assert set(calibration.index.get_level_values("method")) == set(METHODS)

    events = result["natural_events"]
    assert (events.truly_hidden_frames > 0).any()
    assert events.loc[events.truly_hidden_frames > 0, f"error_px_{RECURRENT}"].notna().all()


def test_baselines_are_in_every_table(evaluated):
    _, result, _, _ = evaluated
    assert set(result["test_frames"].method) == set(METHODS)
    assert set(result["occlusion"].method) == {LEAP, FILTERED_CAUSAL, RECURRENT}
    summary = result["summary"]
    assert list(summary.index) == list(METHODS)
    longest = f"error_occluded_{MAX_OCCLUSION}f_px"
    for column in ("error_visible_px", "error_hidden_px", longest, "n_visible", "n_hidden", "n_occluded",
                   "p_visible", "p_hidden", "p_occluded"):
        assert column in summary.columns
    assert summary.loc[[LEAP, FILTERED], ["error_visible_px", "error_hidden_px", longest]].notna().all().all()
    assert summary.loc[[LEAP, FILTERED], "p_visible"].between(0, 1).all()
    assert (summary.visible_reference == "truth (visible)").all()
    findings = result["findings"]
    assert {"best", "ranking", "verdict_vs_leap", "verdict_vs_filter"} <= set(findings.columns)


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


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


@pytest.mark.slow
def test_occlusion_study_of_the_bidirectional_student(trained_project, tmp_path):
    """The same study with the bidirectional student: its own method rows, tests and subfolder."""
    from dlc_recurrent.training import train

    config = copy_project(trained_project, tmp_path / trained_project.parent.name)
    train(config, model="bidirectional_leap", schedule="fixed", epochs=1, steps_per_epoch=3, batch_size=4,
          augment=False)
    default_folder = evaluation_folder(load_project(config))
    result = evaluate_occlusion(config, model="bidirectional_leap", n_windows=2, occluder_size=OCCLUDER_SIZE,
                                max_occlusion=1, bodyparts=["forepaw_near"], n_events=1, progress=False)
    ours = "bidirectional_leap"
    assert result["folder"] == default_folder / ours
    smoothers = [EKS_TEACHER, EKS_TEACHER_LEAP]
    assert set(result["test_frames"].method) == {LEAP, FILTERED, *smoothers, ours, EKS_WITH_STUDENT}
    assert set(result["occlusion"].method) == {LEAP, FILTERED_CAUSAL, ours}  # the smoothers need every frame
    assert list(result["summary"].index) == [LEAP, FILTERED, *smoothers, ours, EKS_WITH_STUDENT]
    assert result["summary"].loc[[LEAP, FILTERED], "p_hidden"].between(0, 1).all()
    assert f"p_{ours}_vs_method" in result["test_frames"].columns
    assert f"error_px_{ours}" in result["natural_events"].columns
    assert all(Path(f).parent == default_folder / ours for f in result["figures"].values())
    assert f"t-test of {ours} vs" in (default_folder / ours / "summary.txt").read_text()


def test_a_pair_is_judged_only_on_frames_neither_student_trained_on():
    def video(stem, blocks, n_frames=100):
        return study.StudyVideo(index=0, info=SimpleNamespace(path=Path(f"/v/{stem}.mp4"), n_frames=n_frames),
                                 crop=None, teacher_xy=None, teacher_likelihood=None, truth_xy=None, visible=None,
                                 occluded_by=None, test_blocks=blocks, test=study.frames_in_blocks(blocks, n_frames))

    videos = [video("a", [[0, 19], [50, 69]]), video("b", [[10, 29]]), video("c", [[0, 19], [20, 39]])]
    other = SimpleNamespace(videos=[{"video": "/elsewhere/a.avi", "test_blocks": [[10, 59], [90, 99]]},
                                    {"video": "c.mp4", "test_blocks": [[0, 39]]}])
    assert study.keep_shared_test_frames(videos, other) == (20 + 20 + 40, 40 + 20 + 40)
    assert videos[0].test_blocks == [[10, 19], [50, 59]]
    assert np.flatnonzero(videos[0].test).tolist() == [*range(10, 20), *range(50, 60)]
    assert videos[1].test_blocks == [[10, 29]]  # the second student never saw this video
    assert videos[2].test_blocks == [[0, 19], [20, 39]]  # touching blocks stay apart
    assert true_runs(np.array([1, 1, 0, 1], bool)) == [(0, 2), (3, 4)]
    assert true_runs(np.zeros(4, bool)) == []


def test_occlusion_study_of_two_students(trained_project, tmp_path, monkeypatch):
    """analyze_videos' two students as methods: the pair is the reference, on whole videos exactly what
    analyze_videos outputs, at the end of an artificially occluded window the handoff alone."""
    from dlc_recurrent.frames import read_video_info
    from dlc_recurrent.inference.streams import predict_video
    from dlc_recurrent.inference.student import load_trained_student

    config = copy_project(trained_project, tmp_path / trained_project.parent.name)
    project = load_project(config)
    with pytest.raises(ProjectError, match="only apply with confident_shuffle"):
        evaluate_occlusion(config, confident_model=LEAP, progress=False)
    with pytest.raises(ProjectError, match=r"no trained convlstm_leap student for confident_shuffle=3.*shuffle=3"):
        evaluate_occlusion(config, confident_shuffle=3, progress=False)
    with monkeypatch.context() as patch:
        patch.setattr(run, "keep_shared_test_frames", lambda videos, other: (0, 40))
        with pytest.raises(ProjectError, match="share no test frames"):
            evaluate_occlusion(config, confident_shuffle=1, confident_model=LEAP, progress=False)
    # the paper-recipe student of a real pair is a second shuffle; the project's LEAP plays it here
    result = evaluate_occlusion(config, confident_shuffle=1, confident_model=LEAP, handoff=0.1, bridge_max_gap=4,
                                n_windows=3, occluder_size=OCCLUDER_SIZE, max_occlusion=2, n_events=1, progress=False)
    main, second = f"{RECURRENT}_shuffle1", "leap_shuffle1"
    assert result["folder"] == evaluation_folder(project) / "two_students_shuffle1_leap"
    smoothers = [EKS_TEACHER, EKS_TEACHER_LEAP]
    assert list(result["summary"].index) == [LEAP, FILTERED, *smoothers, main, second, TWO_STUDENTS, EKS_WITH_STUDENT]
    assert set(result["test_frames"].method) == {LEAP, FILTERED, *smoothers, main, second, TWO_STUDENTS,
                                                 EKS_WITH_STUDENT}
    frames = result["test_frames"]
    judged_by_teacher = set(frames[frames.reference == "teacher (confident)"].method)
    assert judged_by_teacher == {LEAP, FILTERED, main, second, TWO_STUDENTS}  # the smoothers hold the teacher
    assert set(result["occlusion"].method) == {LEAP, FILTERED_CAUSAL, main, second, TWO_STUDENTS}
    assert result["test_frames"][f"p_{TWO_STUDENTS}_vs_method"].notna().any()
    assert f"verdict_vs_{RECURRENT}_shuffle1" in result["findings"].columns
    text = (result["folder"] / "summary.txt").read_text()
    assert f"t-test of {TWO_STUDENTS} vs" in text and "reaches 0.1" in text
    trainset = load_training_set(training_set_folder(project))
    assert list(result["bridges"].video) == [Path(record["video"]).name for record in trainset.videos]

    # whole videos: what analyze_videos writes for the same two students, handoff and bridges
    students = [load_trained_student(project, 1, 0, kind) for kind in (RECURRENT, LEAP)]
    errors = []
    for record in trainset.videos:
        video = next(v for v in project.videos if v.stem == Path(record["video"]).stem)
        pair = predict_video(students[0], read_video_info(video), common.record_crop(record), progress=False,
                             confident=students[1], handoff=0.1, bridge_max_gap=4)
        truth = read_ground_truth(video)
        test = study.frames_in_blocks(record["test_blocks"], len(truth.xy))[:, None] & truth.visible
        errors.append(np.linalg.norm(pair[..., :2] - truth.xy, axis=-1)[test])
    table = result["test_frames"].set_index(["reference", "bodypart", "method"])
    assert table.loc[("truth (visible)", "all", TWO_STUDENTS)].mean_px == pytest.approx(np.concatenate(errors).mean(),
                                                                                      rel=1e-4)
    # the second student alone is LEAP here: the same points as the LEAP baseline's
    assert table.loc[("truth (visible)", "all", second)].mean_px == pytest.approx(
        table.loc[("truth (visible)", "all", LEAP)].mean_px, abs=1e-3)

    # artificial occlusion: the second student's point where it reaches the handoff, else the main student's
    raw = result["occlusion_errors"].pivot_table(index=["bodypart", "window", "occlusion_length"], columns="method",
                                                 values=["error_px", "likelihood"])
    expected = np.where(raw.likelihood[second] >= 0.1, raw.error_px[second], raw.error_px[main])
    np.testing.assert_allclose(raw.error_px[TWO_STUDENTS], expected)


def test_pcutoff_use_counts_right_guesses_kept_and_wrong_ones_dropped():
    error = np.array([1.0, 2.0, 4.9, 6.0, 30.0, 8.0])
    likelihood = np.array([0.9, 0.7, 0.2, 0.8, 0.1, 0.3])
    assert natural.pcutoff_use(error, likelihood, 0.6) == (pytest.approx(2 / 3), pytest.approx(2 / 3))
    kept, dropped = natural.pcutoff_use(error[:3], likelihood[:3], 0.6)
    assert kept == pytest.approx(2 / 3) and np.isnan(dropped)


def test_calibration_rises_with_likelihood_on_data_built_so():
    rng = np.random.default_rng(0)
    likelihood = rng.uniform(0, 1, 20000)
    hidden = rng.random(20000) < 0.3
    right = rng.random(20000) < likelihood  # P(within 5 px) = likelihood, visible or hidden
    error = np.where(right, rng.uniform(0, 5, 20000), rng.uniform(5.01, 50, 20000))
    table = calibration_table(error, likelihood, hidden, within=5.0, bins=5)
    assert list(table.points.unique()) == ["visible", "hidden"] and table.n.sum() == 20000
    for _, part in table.groupby("points"):
        fraction = part["fraction_within_5px"].to_numpy()
        assert (np.diff(fraction) > 0).all()
        np.testing.assert_allclose(fraction, (part.likelihood_from + part.likelihood_to) / 2, atol=0.05)
    # A likelihood that says nothing: flat.
    flat = calibration_table(error, rng.permutation(likelihood), hidden, bins=5)
    assert np.ptp(flat["fraction_within_5px"]) < 0.06


def test_a_video_that_decodes_fewer_frames_than_its_teacher_has_rows_is_refused(monkeypatch, tmp_path):
    """The teacher (from outside deeplabcut) counts the header's frames; the students see fewer."""
    from dlc_recurrent.frames import Crop, VideoInfo

    info = VideoInfo(path=tmp_path / "short.mp4", n_frames=10, width=8, height=8, fps=30.0)
    video = SimpleNamespace(info=info, crop=Crop(0, 8, 0, 8), predictions={})
    rows = np.zeros((10, 1, 3))
    monkeypatch.setattr(baselines, "median_filtered_leap", lambda *args: {str(info.path): (rows, rows)})
    monkeypatch.setattr(baselines, "predict_video", lambda *args, **kwargs: rows[:9])
    with pytest.raises(ProjectError, match="9 frames decode but the teacher has 10 rows"):
        baselines.whole_video_predictions(SimpleNamespace(config_path=None), {"convlstm_leap": None}, [video],
                                            tmp_path, 1, 0, 0.6, 5, False, study.Study())
