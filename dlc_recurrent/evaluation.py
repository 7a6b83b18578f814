"""Evaluate trained students: DLC-style pixel errors, and what every evaluation shares.

``evaluate(config)``
    DeepLabCut-style accuracy of each student on the training set's train and test windows,
    against the teacher and against hand labels, with and without a pcutoff on the student's
    likelihood. Each window is evaluated on its LAST frame only, for both students: the frame with
    the full temporal context for the recurrent one (the single-frame LEAP sees that frame alone).

Also here, for the occlusion study (``dlc_recurrent.occlusion.evaluate_occlusion``): the names of
the compared methods, where results go, the paired statistics, and the runner that turns windows into
a student's last-frame peaks.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from dlc_recurrent.distill import (
    HAND_LABEL,
    PACKAGE_FOLDER,
    TEACHER,
    TrainingSet,
    load_training_set,
    to_full_frame,
    training_set_folder,
)
from dlc_recurrent.project import Crop, Project, ProjectError, atomic_write, load_project
from dlc_recurrent.training import model_folder

# The package's __init__ has loaded torchvision already, so TensorFlow may come now.
from dlc_recurrent._tensorflow import tf  # noqa: E402  (quiet; after torchvision)

from dlc_recurrent import models  # noqa: E402
from dlc_recurrent.infer import Student, find_peaks, in_batches, load_trained_student  # noqa: E402
from dlc_recurrent.report import quality_report  # noqa: E402

logger = logging.getLogger(__name__)

LEAP = "leap"
RECURRENT = "convlstm_leap"
#: DLC users' remedy today: LEAP's output, deeplabcut.filterpredictions (median), gaps interpolated.
FILTERED = "leap+median filter+interpolation"
#: The same remedy where no later frame may be used (artificial occlusion at a window's end).
FILTERED_CAUSAL = "leap+interpolation (causal)"
#: The two students of ``analyze_videos(..., confident_shuffle=N)`` combined (the occlusion study's pair).
TWO_STUDENTS = "two_students"

EVALUATED_FRAMES = "last frame of each window"
RESULTS_NAME = "pixel_errors.csv"


# ----------------------------------------------------------------------------------------------
# Where results go
# ----------------------------------------------------------------------------------------------


def evaluation_folder(project: Project, shuffle: int = 1, trainingsetindex: int = 0) -> Path:
    """``<project>/dlc-recurrent/evaluation/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>``."""
    name = training_set_folder(project, shuffle, trainingsetindex).name
    return project.project_path / PACKAGE_FOLDER / "evaluation" / f"iteration-{project.iteration}" / name


# ----------------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------------


def sem(values) -> float:
    """Standard error of the mean (ddof=1), as ``scipy.stats.sem``; NaN for fewer than 2 values."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return float("nan")
    return float(np.std(values, ddof=1) / math.sqrt(len(values)))


def paired_ttest(a, b) -> tuple[float, float, int]:
    """Two-tailed paired t-test of ``a`` against ``b`` (as ``scipy.stats.ttest_rel``): (t, p, n).

    Pairs where either value is NaN are dropped; with fewer than 2 pairs t and p are NaN.
    """
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    keep = np.isfinite(a) & np.isfinite(b)
    differences = a[keep] - b[keep]
    n = int(len(differences))
    if n < 2:
        return float("nan"), float("nan"), n
    with np.errstate(divide="ignore", invalid="ignore"):
        t = float(np.mean(differences) / (np.std(differences, ddof=1) / math.sqrt(n)))
    p = float(2 * stats.t.sf(abs(t), n - 1)) if not math.isnan(t) else float("nan")
    return t, p, n


def significance_mark(p: float) -> str:
    """``***`` p<0.001, ``**`` p<0.01, ``*`` p<0.05, ``n.s.`` otherwise, ``""`` when p is NaN."""
    if p is None or not np.isfinite(p):
        return ""
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return "n.s."


def compare_methods(errors: dict[str, np.ndarray], reference: str = RECURRENT) -> list[dict]:
    """One row per method: n, mean, SEM, median and the paired test of ``reference`` vs that method.

    ``errors`` maps method -> per-point errors, aligned (point i is the same point for every
    method); points missing (NaN) for any method are dropped so every method rests on the same n.
    """
    names = list(errors)
    stacked = np.stack([np.asarray(errors[m], float) for m in names]) if names else np.zeros((0, 0))
    keep = np.isfinite(stacked).all(axis=0) if stacked.size else np.zeros(0, bool)
    stacked = stacked[:, keep] if stacked.size else stacked
    means = {m: float(np.mean(stacked[i])) if stacked.shape[1] else float("nan") for i, m in enumerate(names)}
    finite = {m: v for m, v in means.items() if np.isfinite(v)}
    best = min(finite, key=finite.get) if finite else None
    rows = []
    for i, method in enumerate(names):
        values = stacked[i]
        if method != reference and reference in errors:
            t, p, _ = paired_ttest(stacked[names.index(reference)], values)
        else:
            t, p = float("nan"), float("nan")
        rows.append(
            {
                "method": method,
                "n": int(len(values)),
                "mean_px": means[method],
                "sem_px": sem(values),
                "median_px": float(np.median(values)) if len(values) else float("nan"),
                f"t_{reference}_vs_method": t,
                f"p_{reference}_vs_method": p,
                "significance": significance_mark(p),
                "best": method == best,
            }
        )
    return rows


# ----------------------------------------------------------------------------------------------
# Running the students on arrays of frames
# ----------------------------------------------------------------------------------------------


class Runner:
    """A student's maps -> peaks on frames (LEAP) or windows (last frame), in stored pixels.

    The recurrent student runs split: the encoder once per frame, its recurrent core over the window,
    the decoder on the last frame only (the same numbers as the whole network's last map).
    """

    def __init__(self, student: Student, batch_size: int = 8):
        config = student.config
        self.student, self.batch_size, self.recurrent = student, batch_size, config.recurrent
        network, amplitude = student.network, config.map_amplitude
        frames_spec = tf.TensorSpec([None, None, None, config.channels], tf.uint8)
        if not self.recurrent:
            self._frames = tf.function(lambda f: find_peaks(network(f, training=False), amplitude),
                                       input_signature=[frames_spec])

    def frames(self, frames: np.ndarray) -> np.ndarray:
        """Peaks (N, K, 3) of a single-frame student on frames (N, H, W, C)."""
        frames = models.pad_images(frames)
        return in_batches(self._frames, frames, self.batch_size * 4).numpy()

    def features(self, windows: np.ndarray) -> tf.Tensor:
        """The recurrent student's encoder features (N, T, h, w, F) of windows (N, T, H, W, C)."""
        windows = models.pad_images(windows)
        flat = windows.reshape(-1, *windows.shape[2:])
        features = in_batches(self.student.encode, flat, self.batch_size * 4)
        return tf.reshape(features, [*windows.shape[:2], *features.shape[1:]])

    def last_from_features(self, features: tf.Tensor) -> np.ndarray:
        """Peaks (N, K, 3) on the last frame of windows given as encoder features (N, T, h, w, F)."""
        return in_batches(self.student.last_frame_peaks, features, self.batch_size).numpy()

    def last(self, windows: np.ndarray) -> np.ndarray:
        """Peaks (N, K, 3) on the last frame of windows (N, T, H, W, C): the whole window for the
        recurrent student, the last frame alone for LEAP."""
        if not self.recurrent:
            return self.frames(windows[:, -1])
        return self.last_from_features(self.features(windows))


def pad_stack(arrays: list[np.ndarray]) -> np.ndarray:
    """Stack arrays (..., H, W, C) of different H, W by zero padding at the bottom and right."""
    height = max(a.shape[-3] for a in arrays)
    width = max(a.shape[-2] for a in arrays)
    out = np.zeros((len(arrays), *arrays[0].shape[:-3], height, width, arrays[0].shape[-1]), np.uint8)
    for i, a in enumerate(arrays):
        out[i, ..., : a.shape[-3], : a.shape[-2], :] = a
    return out


def last_frame_predictions(student: Student, trainset: TrainingSet, windows: pd.DataFrame, batch_size: int = 8,
                           progress: bool = True) -> np.ndarray:
    """Peaks (N, K, 3) in stored pixels on the last frame of each window of the training set.

    The recurrent student sees the whole window, LEAP only its last frame.
    """
    runner = Runner(student, batch_size)
    length = trainset.window_length
    out = []
    rows = windows[["video", "first_row"]].to_numpy(int)
    for i in tqdm(range(0, len(rows), batch_size), desc=f"evaluating {student.config.model}", unit="batch",
                  disable=not progress, leave=False):
        batch = rows[i : i + batch_size]
        if student.config.recurrent:
            arrays = [np.asarray(trainset.frames[v][f : f + length]) for v, f in batch]
        else:
            arrays = [np.asarray(trainset.frames[v][f + length - 1 : f + length]) for v, f in batch]
        out.append(runner.last(pad_stack(arrays)))
    if not out:
        return np.zeros((0, len(trainset.bodyparts), 3), np.float32)
    return np.concatenate(out)


def record_crop(record: dict) -> Crop:
    """The crop a training set's video record was stored with."""
    x1, x2, y1, y2 = (int(v) for v in record["crop"])
    return Crop(x1, x2, y1, y2)


def load_students(project: Project, shuffle: int, trainingsetindex: int, kinds) -> dict[str, Student]:
    """The trained students of ``kinds`` for a shuffle, each with a one-line error when missing."""
    students = {}
    for kind in kinds:
        if kind not in models.MODEL_KINDS:
            raise ValueError(f"models must be among {models.MODEL_KINDS}, got {kind!r}")
        folder = model_folder(project, shuffle, trainingsetindex, kind) / "train"
        try:
            students[kind] = load_trained_student(project, shuffle, trainingsetindex, kind)
        except ProjectError as error:
            if (folder / "student_weights.h5").is_file():
                raise
            raise ProjectError(
                f"{folder}: no trained {kind} student for shuffle={shuffle}, trainingsetindex={trainingsetindex}; "
                f"run dlc_recurrent.train(config, model={kind!r}) first"
            ) from error
    return students


def load_trainset(project: Project, shuffle: int, trainingsetindex: int) -> TrainingSet:
    """The shuffle's training set (its frames stay on disk)."""
    return load_training_set(training_set_folder(project, shuffle, trainingsetindex))


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
    """Mean pixel error of each trained student on the training set's train and test windows.

    Evaluated frames: the LAST frame of each window (the frame with full temporal context for the
    recurrent student; LEAP sees that frame alone), for both students. Errors are Euclidean
    distances in full-resolution video pixels (the training set's scale and crop undone), against
    the teacher (points the training set kept: weight > 0, source TEACHER) and against hand labels
    (source HAND_LABEL; the training set ends a window on each hand-labelled frame where its block
    allows), each without and with a pcutoff on the student's likelihood (default: config.yaml's
    pcutoff), where ``fraction_kept`` is the share of points the cutoff keeps.

    Returns a tidy table, one row per (model, split, reference, bodypart | "all", pcutoff_applied),
    and writes it as ``pixel_errors.csv`` into each model's folder (``<model folder>/evaluation/``,
    that model's rows) and into the evaluation folder (the rows of every student evaluated so far:
    evaluating one student again replaces its rows and keeps the others'). With ``report`` each
    student's quality report (``dlc_recurrent.report``: per body part, on whole test blocks) is
    written and logged too. ``shuffles`` (DLC 3's name) evaluates each of them in turn: one table,
    with a ``shuffle`` column.
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
        predicted = np.stack([to_full_frame(p[:, :2], crops[v], student.config.scale) for p, v in zip(predictions, videos)])
        likelihood = predictions[..., 2]
        error = np.linalg.norm(predicted - target_full, axis=-1)
        for split in ("train", "test"):
            in_split = (windows.split == split).to_numpy()
            for reference, code in (("teacher", TEACHER), ("hand_label", HAND_LABEL)):
                points = in_split[:, None] & (source == code)
                for with_cutoff in (False, True):
                    kept = points & (likelihood >= pcutoff) if with_cutoff else points
                    for index, part in [(None, "all"), *enumerate(bodyparts)]:
                        p = points if index is None else points[:, index]
                        k = kept if index is None else kept[:, index]
                        e = error if index is None else error[:, index]
                        n_total, n_kept = int(p.sum()), int(k.sum())
                        rows.append(
                            {
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
                                "pcutoff": pcutoff,
                                "evaluated_frames": EVALUATED_FRAMES,
                                "window_length": length,
                                "scale": trainset.spec.scale,
                            }
                        )
    table = pd.DataFrame(rows)
    for kind in students:
        folder = model_folder(project, shuffle, trainingsetindex, kind) / "evaluation"
        folder.mkdir(parents=True, exist_ok=True)
        atomic_csv(table[table.model == kind], folder / RESULTS_NAME)
    folder = evaluation_folder(project, shuffle, trainingsetindex)
    folder.mkdir(parents=True, exist_ok=True)
    combined = table
    if (folder / RESULTS_NAME).is_file():  # students evaluated before, and not this time, keep their rows
        earlier = pd.read_csv(folder / RESULTS_NAME)
        earlier = earlier[~earlier.model.isin(list(students))]
        same = ["window_length", "scale", "pcutoff"]
        if len(earlier) and (earlier[same].drop_duplicates().to_numpy() != [[length, trainset.spec.scale, pcutoff]]).any():
            logger.warning(f"Dropped the rows of {sorted(set(earlier.model))} from {folder / RESULTS_NAME}: evaluated on "
                  "another training set or pcutoff; evaluate them again to compare")
            earlier = earlier.iloc[:0]
        combined = pd.concat([earlier, table], ignore_index=True)
    atomic_csv(combined, folder / RESULTS_NAME)
    _print_evaluation(table, folder / RESULTS_NAME)
    if report:
        for kind in students:
            quality_report(config, shuffle, trainingsetindex, kind, pcutoff=pcutoff, batch_size=batch_size,
                           progress=progress)
    return table


def _print_evaluation(table: pd.DataFrame, path: Path) -> None:
    overall = table[table.bodypart == "all"].pivot_table(
        index=["model", "reference", "pcutoff_applied"], columns="split", values="mean_error_px", dropna=False
    )
    logger.info(f"Mean pixel error on the {EVALUATED_FRAMES} (full-resolution px):")
    logger.info(overall.round(2).to_string())
    logger.info(f"Written to {path}")


def atomic_csv(table: pd.DataFrame, path: Path, index: bool = False) -> None:
    """Write ``table`` as CSV under a temporary name, then move it into place."""
    atomic_write(path, lambda tmp: table.to_csv(tmp, index=index))


def __getattr__(name: str):
    """The occlusion study's names, which lived here before ``dlc_recurrent.occlusion``: still found,
    with a DeprecationWarning that says where they are now (the old path goes in a later version)."""
    import warnings

    from dlc_recurrent import occlusion

    if name in occlusion.__all__:
        warnings.warn(f"dlc_recurrent.evaluation.{name} moved to dlc_recurrent.occlusion.{name}; import it from "
                      "there (the old path will be removed)", DeprecationWarning, stacklevel=2)
        return getattr(occlusion, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "evaluate",
    "evaluation_folder",
    "compare_methods",
    "paired_ttest",
    "sem",
    "significance_mark",
]
