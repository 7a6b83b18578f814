"""evaluate_occlusion (dlc_recurrent.evaluation.occlusion.run): the protocol, truth, baselines,
outputs, the bidirectional student, two students."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import signal

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.distill import load_training_set
from dlc_recurrent.ensemble import smoothed_predictions
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.evaluation import common
from dlc_recurrent.evaluation.occlusion import baselines, natural, run, study, windows
from dlc_recurrent.evaluation.occlusion.baselines import fill_gaps
from dlc_recurrent.evaluation.occlusion.run import evaluate_occlusion
from dlc_recurrent.evaluation.occlusion.study import METHODS
from dlc_recurrent.evaluation.occlusion.windows import occluder_side
from dlc_recurrent.evaluation.stats import (
    EKS_TEACHER,
    EKS_TEACHER_LEAP,
    EKS_WITH_STUDENT,
    FILTERED,
    FILTERED_CAUSAL,
    LEAP,
    RECURRENT,
    TWO_STUDENTS,
)
from dlc_recurrent.layout import evaluation_folder, training_set_folder
from dlc_recurrent.project import find_teacher, load_project, read_teacher
from dlc_recurrent.synthetic import read_ground_truth
from tests.helpers import copy_project

OCCLUDER_SIZE = 12
MAX_OCCLUSION = 3
N_WINDOWS = 6


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
