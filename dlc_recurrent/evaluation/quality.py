"""Every student reports its own quality, per body part, on frames it never trained on.

``quality_report(config, model=...)`` runs a trained student over the training set's test blocks
the way ``analyze_videos`` runs it over a video (same segments and state), and compares it with
the teacher where the teacher is sure (likelihood >= pcutoff) and with hand labels wherever they
lie in those blocks, with the teacher's own error on the same hand labels as the yardstick. Only
frames with a full window of context before them in their block count, for LEAP too, so the two
students are judged on the same points.

It writes ``quality.csv`` (one row per body part and reference, and "all"), ``quality.png`` (loss
curves and per-part errors) and ``quality.txt`` into ``<model folder>/evaluation/``, logs a
five-line summary, and warns, with the fix, when a body part is lost or rarely passes pcutoff,
when the student is far behind the teacher on hand labels, or when training had not converged.
``train`` calls it when it finishes; ``evaluate`` calls it for every student it evaluates.

Test blocks decide early stopping (schedule="converge"), so these numbers are slightly optimistic
for the stopping point; frames outside the training set (a later recording) are the strict test.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from dlc_recurrent._tensorflow import tf
from dlc_recurrent.config import TrainingConfig, train_call
from dlc_recurrent.devices import select_device
from dlc_recurrent.distill import HAND_LABEL, TEACHER, TrainingSet, load_training_set
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import atomic_write
from dlc_recurrent.frames import Crop, to_full_frame
from dlc_recurrent.inference.streams import predict_frames
from dlc_recurrent.inference.student import Student, load_trained_student
from dlc_recurrent.layout import HISTORY_NAME, QUALITY_FIGURE_NAME, QUALITY_TABLE_NAME, QUALITY_TEXT_NAME, ShuffleLayout
from dlc_recurrent.project import load_project, read_teacher
from dlc_recurrent.training import read_training_summary

logger = logging.getLogger(__name__)

#: "within 5 px" of the teacher, in full-resolution video pixels
WITHIN_PX = 5.0
#: a body part is lost when its median distance to the teacher exceeds this many map sigmas
LOST_SIGMAS = 3.0
#: warn when the student's likelihood passes pcutoff on fewer of the teacher's sure points than this
KEPT_WARNING = 0.5
#: warn when the student's median error on hand labels exceeds the teacher's by this factor
BEHIND_FACTOR = 2.0
#: fewest points a per-part warning rests on
MIN_POINTS = 10


@dataclass
class QualityReport:
    """A student's quality report: the table, the summary lines, the warnings (each with its fix) and where
    they were written.

    Attributes:
        model: the student's model kind.
        table: one row per (reference, body part | "all"), "all" first (see :func:`quality_table`), with a
            ``model`` column first; empty when the training set has no test windows.
        summary: the five lines :func:`summary_lines` makes (none without test windows).
        warnings: one line per problem, each ending in its fix.
        files: the files written, by name: ``table`` (quality.csv), ``figure`` (quality.png), ``text``
            (quality.txt); empty when nothing was written.
    """

    model: str
    table: pd.DataFrame
    summary: list[str]
    warnings: list[str] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def quality_report(
    config: str | Path,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    model: str = "convlstm_leap",
    pcutoff: float | None = None,
    batch_size: int = 8,
    progress: bool = True,
    device: str | int | None = None,
    gputouse: int | None = None,
) -> QualityReport:
    """Judge a trained student on its training set's test blocks (frames it never trained on), per body
    part; write, log and return the report.

    The teacher's sure points are those the training set kept (likelihood >= config.yaml's pcutoff
    when it was built). The table, summary and figure go to the student's evaluation folder.

    Args:
        config: the DLC project's config.yaml (or its folder).
        shuffle: the student's own training-set number (``create_training_set(shuffle=...)``).
        trainingsetindex: the index of the training fraction in config.yaml.
        model: the student: "convlstm_leap", "leap" or "bidirectional_leap".
        pcutoff: which of the student's points count as kept (default: config.yaml's).
        batch_size: frames per network call.
        progress: show progress bars.
        device: where it computes, as in ``train`` (DLC 3's name).
        gputouse: the GPU it computes on, as in ``train``.

    Returns:
        The report: its table (one row per body part and reference, "all" first), summary lines,
        warnings with their fixes and the files written; an empty table with one warning when the
        training set has no test windows.
    """
    project = load_project(config)
    where = ShuffleLayout.resolve(project, shuffle, trainingsetindex)
    trainset = load_training_set(where.training_set)
    placed = select_device(device, gputouse)  # before the student is built: TensorFlow's GPUs are set then
    with tf.device(placed):
        student = load_trained_student(project, shuffle, trainingsetindex, model)
    pcutoff = project.pcutoff if pcutoff is None else float(pcutoff)
    if not len(trainset.split("test")):
        message = (f"{model}: no test windows in {trainset.folder}, so nothing to judge the student on; keep a "
                   "TrainingFraction below 1 in config.yaml (and longer videos) so some blocks stay out of training")
        logger.warning(message)
        return QualityReport(model=model, table=pd.DataFrame(), summary=[], warnings=[message])
    with tf.device(placed):
        points = test_block_points(student, trainset, batch_size, progress)
    table = quality_table(points, trainset.bodyparts, pcutoff)
    table.insert(0, "model", model)
    training = read_training_summary(where.train_folder(model))
    warnings = quality_warnings(table, student.config, training, trainset, shuffle, model, trainingsetindex)
    out = where.student_evaluation(model)
    out.mkdir(parents=True, exist_ok=True)
    files = {"table": out / QUALITY_TABLE_NAME, "figure": out / QUALITY_FIGURE_NAME, "text": out / QUALITY_TEXT_NAME}
    summary = summary_lines(table, training, model, shuffle, pcutoff, points["frames"], files)
    atomic_write(files["table"], lambda tmp: table.to_csv(tmp, index=False))
    atomic_write(files["text"], lambda tmp: Path(tmp).write_text("\n".join(summary + warnings) + "\n"))
    plot_quality(table, where.train_folder(model) / HISTORY_NAME, training, student.config, files["figure"])
    for line in summary:
        logger.info(line)
    for line in warnings:
        logger.warning(line)
    return QualityReport(model=model, table=table, summary=summary, warnings=warnings, files=files)


def test_runs(trainset: TrainingSet, video: int) -> list[np.ndarray]:
    """The stored rows of ``video`` that test windows cover, as runs of consecutive video frames.

    Args:
        trainset: the training set.
        video: the video's index in the training set.

    Returns:
        One (R,) int array of stored rows per run, in order; empty when the video has no test window.
    """
    windows = trainset.split("test")
    firsts = windows.first_row[windows.video == video].to_numpy(int)
    if not len(firsts):
        return []
    rows = np.unique((firsts[:, None] + np.arange(trainset.window_length)).ravel())
    frames = trainset.targets[video].frame[rows]
    breaks = np.flatnonzero(np.diff(frames) != 1) + 1
    return np.split(rows, breaks)


def test_block_points(student: Student, trainset: TrainingSet, batch_size: int = 8, progress: bool = True) -> dict:
    """The student's points on test-block frames with a full window of context before them in their
    run (and after them, for the bidirectional student), beside the targets there, all in
    full-resolution video pixels.

    Args:
        student: the trained student, run as ``analyze_videos`` runs it.
        trainset: its training set.
        batch_size: frames per network call.
        progress: show a progress bar.

    Returns:
        ``predicted`` (N, K, 3) float (x, y, likelihood), ``target`` (N, K, 2), ``source`` (N, K) int8
        (MASKED, TEACHER, HAND_LABEL or GAP_FILLED), ``teacher`` (N, K, 2: the teacher's own points, NaN
        where the frame has no hand label) and ``frames`` (N, 2: video index, frame).

    Raises:
        ProjectError: the training set has no test windows (build it with a TrainingFraction below 1).
    """
    config = student.config
    context = trainset.window_length - 1
    parts = len(trainset.bodyparts)
    predicted, target, source, teacher, frames = [], [], [], [], []
    teachers = {}
    runs = [(video, rows) for video in range(len(trainset.frames)) for rows in test_runs(trainset, video)]
    for video, rows in tqdm(runs, desc=f"judging {config.model}", unit="run", disable=not progress, leave=False):
        record = trainset.videos[video]
        crop = Crop(*(int(v) for v in record["crop"]))
        peaks = predict_frames(student, np.asarray(trainset.frames[video][rows[0] : rows[-1] + 1]), batch_size)
        after = context if student.bidirectional else 0  # it also needs that many frames after
        scored = rows[context : len(rows) - after]
        peaks = peaks[context : len(rows) - after]
        peaks[..., :2] = to_full_frame(peaks[..., :2], crop, config.scale)
        targets = trainset.targets[video]
        predicted.append(peaks)
        target.append(to_full_frame(targets.xy[scored], crop, trainset.spec.scale))
        source.append(targets.source[scored])
        frames.append(np.stack([np.full(len(scored), video), targets.frame[scored]], axis=1))
        teacher.append(np.full((len(scored), parts, 2), np.nan))
        if (targets.source[scored] == HAND_LABEL).any():
            if video not in teachers:
                teachers[video] = read_teacher(record["teacher"], trainset.bodyparts).xy
            teacher[-1] = teachers[video][targets.frame[scored]].astype(float)
    if not predicted:
        raise ProjectError(f"{trainset.folder}: no test windows to judge the student on; build the training set "
                           "with a TrainingFraction below 1 (config.yaml) so some blocks stay out of training")
    return {
        "predicted": np.concatenate(predicted).astype(float),
        "target": np.concatenate(target),
        "source": np.concatenate(source),
        "teacher": np.concatenate(teacher),
        "frames": np.concatenate(frames),
    }


def quality_table(points: dict, bodyparts: list[str], pcutoff: float) -> pd.DataFrame:
    """One row per (reference, body part | "all"): the student's distance to the teacher's sure points
    and to hand labels, and the teacher's own distance to the same hand labels.

    Args:
        points: :func:`test_block_points`' arrays.
        bodyparts: the body parts, in the order of the arrays' K.
        pcutoff: the likelihood from which the student's point counts as kept.

    Returns:
        Columns reference ("teacher" or "hand_label"), bodypart, n_points, median_px, mean_px, within_5px
        (the share within WITHIN_PX), kept_over_pcutoff, teacher_median_px (hand labels only) and pcutoff;
        distances in full-resolution px, NaN where there are no points.
    """
    error = np.linalg.norm(points["predicted"][..., :2] - points["target"], axis=-1)
    kept = points["predicted"][..., 2] >= pcutoff
    teacher_error = np.linalg.norm(points["teacher"] - points["target"], axis=-1)
    rows = []
    for reference, code in (("teacher", TEACHER), ("hand_label", HAND_LABEL)):
        for index, part in [(None, "all"), *enumerate(bodyparts)]:
            mask = points["source"] == code
            if index is not None:
                mask = mask & (np.arange(len(bodyparts)) == index)[None, :]
            e, k = error[mask], kept[mask]
            n = int(mask.sum())
            rows.append({
                "reference": reference,
                "bodypart": part,
                "n_points": n,
                "median_px": float(np.median(e)) if n else np.nan,
                "mean_px": float(np.mean(e)) if n else np.nan,
                "within_5px": float(np.mean(e <= WITHIN_PX)) if n else np.nan,
                "kept_over_pcutoff": float(np.mean(k)) if n else np.nan,
                "teacher_median_px": float(np.nanmedian(teacher_error[mask]))
                if n and reference == "hand_label" and np.isfinite(teacher_error[mask]).any() else np.nan,
                "pcutoff": pcutoff,
            })
    return pd.DataFrame(rows)


def quality_warnings(table: pd.DataFrame, config: TrainingConfig, training: dict | None, trainset: TrainingSet,
                     shuffle: int, model: str, trainingsetindex: int = 0) -> list[str]:
    """One line per problem; what to do ends the line, or, when several body parts have problems, a
    last line of its own.

    Problems: training that had not converged, a body part lost (median distance to the teacher over
    LOST_SIGMAS map sigmas), one whose likelihood rarely passes pcutoff, one far behind the teacher on
    hand labels; per-part problems need MIN_POINTS points.

    Args:
        table: :func:`quality_table`'s rows.
        config: the student's settings (its sigma and schedule, for the fix).
        training: the student's training summary, or None when it has none.
        trainset: its training set (its windows_per_video, for the fix).
        shuffle: the student's training-set number.
        model: the student's model kind.
        trainingsetindex: the index of the training fraction in config.yaml.

    Returns:
        The warning lines; empty when there is no problem.
    """
    converged = bool(training and training.get("converged"))
    if not converged and config.converge:
        fix = f"train longer: {train_call(config, shuffle, trainingsetindex, max_steps=2 * config.max_steps)}"
    elif not converged:
        fix = (f"train until it converges: dlc_recurrent.train(config, shuffle={shuffle}, model={model!r}, "
               "overwrite=True) (the default schedule)")
    else:
        fix = (f"it converged, so give it more to learn from: create_training_set(config, shuffle={shuffle}, "
               f"windows_per_video={2 * trainset.spec.windows_per_video}, overwrite=True), then "
               f"dlc_recurrent.train(config, shuffle={shuffle}, model={model!r}, overwrite=True); at a small "
               "scale= a larger one helps small parts")
    warnings, parts = [], []
    if training and not converged:
        warnings.append(f"{training.get('verdict', model + ': not converged')}")
    lost_px = LOST_SIGMAS * config.sigma
    teacher_rows = table[(table.reference == "teacher") & (table.bodypart != "all") & (table.n_points >= MIN_POINTS)]
    for row in teacher_rows.itertuples():
        if row.median_px > lost_px:
            parts.append((row.bodypart, f"{row.median_px:.0f} px from the teacher on held-out frames (median; "
                                        f"{row.within_5px:.0%} within {WITHIN_PX:.0f} px): the student loses it"))
        elif row.kept_over_pcutoff < KEPT_WARNING:
            parts.append((row.bodypart, f"the student's likelihood passes pcutoff on only "
                                        f"{row.kept_over_pcutoff:.0%} of the points the teacher is sure of, so "
                                        "DLC's tools drop the rest"))
    hand_rows = table[(table.reference == "hand_label") & (table.bodypart != "all") & (table.n_points >= MIN_POINTS)]
    for row in hand_rows.itertuples():
        if (np.isfinite(row.teacher_median_px) and row.median_px > BEHIND_FACTOR * max(row.teacher_median_px, 1.0)
                and row.median_px > WITHIN_PX):
            parts.append((row.bodypart, f"{row.median_px:.1f} px from the hand labels (median) where the teacher "
                                        f"is {row.teacher_median_px:.1f} px: far behind the teacher"))
    lines = [f"{part}: {problem}" for part, problem in parts]
    named = len({part for part, _ in parts})
    if len(lines) == 1:
        warnings.append(f"{lines[0]}; {fix}")
    elif lines:
        warnings += lines + [f"For {'these ' + str(named) + ' body parts' if named > 1 else 'it'}: {fix}"]
    return warnings


def summary_lines(table: pd.DataFrame, training: dict | None, model: str, shuffle: int, pcutoff: float,
                  frames: np.ndarray, files: dict) -> list[str]:
    """The five lines a user reads after training.

    Args:
        table: :func:`quality_table`'s rows.
        training: the student's training summary (steps, minutes, converged, stop_reason), or None.
        model: the student's model kind.
        shuffle: the student's training-set number.
        pcutoff: the likelihood cutoff the table used.
        frames: (N, 2) int, the frames judged (video index, frame).
        files: the report's files by name (``table``, ``figure``, ``text``).

    Returns:
        Five lines: training state, overall distance to the teacher, worst and best body part, hand
        labels, and the files.
    """
    if training:
        state = "converged" if training.get("converged") else "NOT converged"
        first = (f"{model} (shuffle {shuffle}): {state} after {training.get('steps')} steps "
                 f"({training.get('minutes', float('nan')):.1f} min of training; {training.get('stop_reason')})")
    else:
        first = f"{model} (shuffle {shuffle}): no training summary (trained before it was recorded)"
    overall = table[(table.reference == "teacher") & (table.bodypart == "all")].iloc[0]
    second = (f"Held-out test blocks, {len(frames)} frames: {overall.median_px:.1f} px from the teacher's sure points "
              f"(median; mean {overall.mean_px:.1f}), {overall.within_5px:.0%} within {WITHIN_PX:.0f} px, "
              f"{overall.kept_over_pcutoff:.0%} over pcutoff {pcutoff:g}")
    parts = table[(table.reference == "teacher") & (table.bodypart != "all") & (table.n_points > 0)]
    if len(parts):
        worst = parts.loc[parts.median_px.idxmax()]
        best = parts.loc[parts.median_px.idxmin()]
        third = (f"Worst body part: {worst.bodypart} {worst.median_px:.1f} px ({worst.within_5px:.0%} within "
                 f"{WITHIN_PX:.0f} px); best: {best.bodypart} {best.median_px:.1f} px")
    else:
        third = "No body part has a sure teacher point in the test blocks"
    hand = table[(table.reference == "hand_label") & (table.bodypart == "all")].iloc[0]
    if hand.n_points:
        fourth = (f"Hand labels in the test blocks ({int(hand.n_points)} points): student {hand.median_px:.1f} px, "
                  f"teacher {hand.teacher_median_px:.1f} px (median)")
    else:
        fourth = "No hand labels in the test blocks: the teacher is the only reference here"
    fifth = f"Report: {files['table']}, {files['figure'].name}, {files['text'].name}"
    return [first, second, third, fourth, fifth]


def plot_quality(table: pd.DataFrame, history_path: Path, training: dict | None, config: TrainingConfig,
                 path: Path) -> Path:
    """Loss curves (train and test, the kept step marked) beside per-part distances to the teacher.

    Args:
        table: :func:`quality_table`'s rows (the teacher's per-part ones are drawn).
        history_path: the student's history.csv (no curves when it is missing).
        training: the student's training summary (steps_per_epoch, kept_step, converged), or None.
        config: the student's settings (model, sigma: the "lost" line).
        path: the PNG to write.

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4), dpi=110)
    FigureCanvasAgg(figure)
    curves, parts = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    if history_path.is_file():
        history = pd.read_csv(history_path)
        per_epoch = (training or {}).get("steps_per_epoch") or 1
        steps = history["step"] if "step" in history else (history["epoch"] + 1) * per_epoch
        curves.plot(steps, history["loss"], label="train loss", color="tab:gray")
        if "val_loss" in history:
            curves.plot(steps, history["val_loss"], label="test loss", color="tab:blue")
        if "val_hidden_loss" in history:  # the test windows under part occluders (occluder_target="parts")
            curves.plot(steps, history["val_hidden_loss"], label="test loss, parts hidden", color="tab:orange")
        if training and training.get("kept_step"):
            curves.axvline(training["kept_step"], color="tab:green", linestyle=":", label="weights kept")
        curves.set_yscale("log")
        curves.legend(frameon=False)
    curves.set_xlabel("optimizer step")
    curves.set_ylabel("masked map MSE")
    curves.set_title(f"{config.model}: {'converged' if training and training.get('converged') else 'not converged'}")
    rows = table[(table.reference == "teacher") & (table.bodypart != "all")]
    x = np.arange(len(rows))
    parts.bar(x, rows.median_px.fillna(0), color="tab:blue", label="median distance to the teacher")
    parts.scatter(x, rows.mean_px, color="k", marker="_", s=200, label="mean", zorder=3)
    for i, row in enumerate(rows.itertuples()):
        if row.n_points:
            parts.annotate(f"{row.within_5px:.0%}", (i, row.median_px), ha="center", va="bottom", fontsize=8)
    parts.axhline(LOST_SIGMAS * config.sigma, color="tab:red", linestyle="--", label="lost above this")
    parts.set_xticks(x, rows.bodypart, rotation=45, ha="right")
    if rows.mean_px.max() > 4 * LOST_SIGMAS * config.sigma:  # lost parts: a log axis keeps the others readable
        parts.set_yscale("symlog", linthresh=10)
    parts.set_ylabel("full-resolution px (labels: % within 5 px)")
    parts.set_title("held-out test blocks, where the teacher is sure")
    parts.legend(frameon=False, fontsize=8)
    atomic_write(path, lambda tmp: figure.savefig(tmp, bbox_inches="tight", format="png"))
    return path
