"""``evaluate(config)``: DeepLabCut-style pixel errors of each student on the training set's train and
test windows, against the teacher and against hand labels, with and without a pcutoff on the
student's likelihood. Each window is evaluated on its LAST frame only, for both students: the frame
with the full temporal context for the recurrent one (the single-frame LEAP sees that frame alone).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.distill import HAND_LABEL, TEACHER
from dlc_recurrent.evaluation.common import last_frame_predictions, load_students, load_trainset, record_crop
from dlc_recurrent.evaluation.quality import quality_report
from dlc_recurrent.evaluation.stats import LEAP, RECURRENT
from dlc_recurrent.fileio import atomic_csv
from dlc_recurrent.frames import to_full_frame
from dlc_recurrent.layout import RESULTS_NAME, ShuffleLayout
from dlc_recurrent.project import load_project

logger = logging.getLogger(__name__)


EVALUATED_FRAMES = "last frame of each window"


# ----------------------------------------------------------------------------------------------
# Where results go
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# Running the students on arrays of frames
# ----------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------
# evaluate(): DLC-style train/test pixel errors
# ----------------------------------------------------------------------------------------------


def evaluate(
    config: str | Path,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    models: tuple[str, ...] = (LEAP, RECURRENT),
    pcutoff: float | None = None,
    batch_size: int = 8,
    progress: bool = True,
    report: bool = True,
    shuffles: list[int] | None = None,
) -> pd.DataFrame:
    """Mean pixel error of each trained student on the training set's train and test windows, as
    deeplabcut.evaluate_network reports a DLC network's.

    Evaluated frames: the LAST frame of each window (the frame with full temporal context for the
    recurrent student; LEAP sees that frame alone), for both students. Errors are Euclidean
    distances in full-resolution video pixels (the training set's scale and crop undone), against
    the teacher (points the training set kept: weight > 0, source TEACHER) and against hand labels
    (source HAND_LABEL; the training set ends a window on each hand-labelled frame where its block
    allows), each without and with a pcutoff on the student's likelihood, where ``fraction_kept`` is
    the share of points the cutoff keeps.

    The table is written as ``pixel_errors.csv`` into each model's folder (``<model
    folder>/evaluation/``, that model's rows) and into the evaluation folder (the rows of every
    student evaluated so far: evaluating one student again replaces its rows and keeps the others').

    Args:
        config: the DLC project's config.yaml (or its folder).
        shuffle: the students' training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        models: the students to evaluate.
        pcutoff: the likelihood cutoff of the "pcutoff_applied" rows; default config.yaml's.
        batch_size: windows per network call.
        progress: show progress bars.
        report: also write and log each student's quality report (``dlc_recurrent.evaluation.quality``:
            per body part, on whole test blocks).
        shuffles: (DLC 3's name) evaluate each of these shuffles in turn instead: one table, with a
            ``shuffle`` column.

    Returns:
        A tidy table, one row per (model, split, reference, bodypart | "all", pcutoff_applied), with
        mean and median error (px), point counts and the settings.
    """
    if shuffles is not None:
        if not len(shuffles):
            raise ValueError("shuffles=[]: name at least one shuffle (or pass shuffle=N)")
        tables = [evaluate(config, s, trainingsetindex, models, pcutoff, batch_size, progress, report)
                  for s in shuffles]
        return pd.concat([t.assign(shuffle=s) for t, s in zip(tables, shuffles)], ignore_index=True)
    project = load_project(config)
    trainset = load_trainset(project, shuffle, trainingsetindex)
    students = load_students(project, shuffle, trainingsetindex, models)
    pcutoff = project.pcutoff if pcutoff is None else float(pcutoff)
    bodyparts = trainset.bodyparts
    windows = trainset.windows
    length = trainset.window_length

    last_rows = (windows.first_row + length - 1).to_numpy(int)
    videos = windows.video.to_numpy(int)
    crops = [record_crop(record) for record in trainset.videos]
    source = np.stack([trainset.targets[v].source[r] for v, r in zip(videos, last_rows)])
    target_full = np.stack([to_full_frame(trainset.targets[v].xy[r], crops[v], trainset.spec.scale)
                            for v, r in zip(videos, last_rows)])

    rows = []
    for kind, student in students.items():
        predictions = np.asarray(last_frame_predictions(student, trainset, windows, batch_size, progress), float)
        predicted = np.stack([to_full_frame(p[:, :2], crops[v], student.config.scale)
                              for p, v in zip(predictions, videos)])
        error = np.linalg.norm(predicted - target_full, axis=-1)
        constants = {"pcutoff": pcutoff, "evaluated_frames": EVALUATED_FRAMES, "window_length": length,
                     "scale": trainset.spec.scale}
        rows += _error_rows(kind, error, predictions[..., 2], source, windows.split.to_numpy(), bodyparts, constants)
    table = pd.DataFrame(rows)
    folder = _write_tables(ShuffleLayout.resolve(project, shuffle, trainingsetindex), table, list(students),
                           [length, trainset.spec.scale, pcutoff])
    _print_evaluation(table, folder / RESULTS_NAME)
    if report:
        for kind in students:
            quality_report(config, shuffle, trainingsetindex, kind, pcutoff=pcutoff, batch_size=batch_size,
                           progress=progress)
    return table


def _error_rows(kind: str, error: np.ndarray, likelihood: np.ndarray, source: np.ndarray, splits: np.ndarray,
                bodyparts: list[str], constants: dict) -> list[dict]:
    """One row per (split, reference, with or without pcutoff, body part or "all") of one student's
    errors (windows, K) on the windows' last frames."""
    rows = []
    for split in ("train", "test"):
        in_split = splits == split
        for reference, code in (("teacher", TEACHER), ("hand_label", HAND_LABEL)):
            points = in_split[:, None] & (source == code)
            for with_cutoff in (False, True):
                kept = points & (likelihood >= constants["pcutoff"]) if with_cutoff else points
                for index, part in [(None, "all"), *enumerate(bodyparts)]:
                    p = points if index is None else points[:, index]
                    k = kept if index is None else kept[:, index]
                    e = error if index is None else error[:, index]
                    n_total, n_kept = int(p.sum()), int(k.sum())
                    rows.append({
                        "model": kind,
                        "split": split,
                        "reference": reference,
                        "bodypart": part,
                        "pcutoff_applied": with_cutoff,
                        "mean_error_px": float(e[k].mean()) if n_kept else float("nan"),
                        "median_error_px": float(np.median(e[k])) if n_kept else float("nan"),
                        "n_points": n_kept,
                        "n_candidates": n_total,
                        "fraction_kept": n_kept / n_total if n_total else float("nan"),
                        "n_windows": int(in_split.sum()),
                        **constants,
                    })
    return rows


def _write_tables(where: ShuffleLayout, table: pd.DataFrame, kinds: list[str], setting: list) -> Path:
    """Each student's rows into its own evaluation folder, and every student's into the shuffle's: rows of
    students evaluated before (on the same window_length, scale and pcutoff: ``setting``) are kept."""
    for kind in kinds:
        folder = where.student_evaluation(kind)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_csv(table[table.model == kind], folder / RESULTS_NAME)
    folder = where.evaluation
    folder.mkdir(parents=True, exist_ok=True)
    combined = table
    if (folder / RESULTS_NAME).is_file():
        earlier = pd.read_csv(folder / RESULTS_NAME)
        earlier = earlier[~earlier.model.isin(kinds)]
        same = ["window_length", "scale", "pcutoff"]
        if len(earlier) and (earlier[same].drop_duplicates().to_numpy() != [setting]).any():
            logger.warning(f"Dropped the rows of {sorted(set(earlier.model))} from {folder / RESULTS_NAME}: "
                           "evaluated on another training set or pcutoff; evaluate them again to compare")
            earlier = earlier.iloc[:0]
        combined = pd.concat([earlier, table], ignore_index=True)
    atomic_csv(combined, folder / RESULTS_NAME)
    return folder


def _print_evaluation(table: pd.DataFrame, path: Path) -> None:
    overall = table[table.bodypart == "all"].pivot_table(
        index=["model", "reference", "pcutoff_applied"], columns="split", values="mean_error_px", dropna=False
    )
    logger.info(f"Mean pixel error on the {EVALUATED_FRAMES} (full-resolution px):")
    logger.info(overall.round(2).to_string())
    logger.info(f"Written to {path}")
