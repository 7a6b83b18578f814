"""The package on DeepLabCut's own example project: real video, a real DLC teacher, the defaults.

1. **The project.** ``deeplabcut.create_new_project`` (Task openfield, experimenter Pranav, the
   example project's body parts, pcutoff and TrainingFraction), its one video the first
   ``--train-frames`` frames of the example's m3v1 video. The frames after them (the *tail*) are in
   no training window. Both parts are cut losslessly (FFV1), so their frames are the ones the teacher
   saw. The teacher: a DLC network trained with deeplabcut itself (``real_teacher.py``), whose
   predictions of the whole video are cached in ``benchmarks/data/``; each cut gets its rows.
2. **The README's calls with defaults** (``--scale`` so it runs on 2 cores):
   ``create_training_set``, ``train(model="leap")``, ``train()``, ``analyze_videos`` on the tail, and
   DeepLabCut's own tools on the output.
3. **Judged on the tail**, each student beside the single-frame control (LEAP) and LEAP through
   DLC's median filter + interpolation, with paired tests:

   a. agreement with the teacher where it is sure (likelihood >= pcutoff); a2. the same, leaving
      out the frames within FLIP_MARGIN of a *teacher flip*: a frame where the teacher's body axis
      (tail base -> head) turns by more than FLIP_TURN degrees, which no mouse does in 1/30 s, so the
      teacher has head and tail swapped on one side of it (teacher_flips.png shows the first);
   b. the paper's Figure 6 protocol with occluders placed independently of the body parts: a black
      square at a uniformly random place over the last k frames of a 15-frame window, kept when it
      covers a point the teacher is sure of on each of those frames; the error on the last frame
      against the teacher's (unoccluded) position, with the same windows' clean error beside it;
   c. naturally hidden points (teacher unsure) against two judges built without ground truth:
      *bridge* (the straight line between the teacher's sure positions around a run of at most
      ``--bridge-max`` unsure frames) and *body* (the part placed from two other parts the teacher is
      sure of, in their own frame of reference, with the offsets and the pair of parts chosen on the
      training part of the video; its own error is measured on the tail's sure points and reported).
   d. Ensemble Kalman Smoothing of the teacher alone, the teacher + LEAP and the teacher +
      LEAP + the recurrent student, on the hidden points of c. with both judges, each beside its
      members alone and DLC's filter (``ensemble_pairs.csv``: does each member added help?). On sure
      points they are only compared with the teacher, which they hold: how far they move it.
4. With ``--candidates``: other students (``CANDIDATES``: a skip connection, bfloat16 training), each
   on its own shuffle, in every table above, and paired with the default student of its model on the
   same points (``candidate_pairs.csv``).
5. With ``--long``: both students trained 4x as many steps as the default took (shuffle 2, same
   training set settings), to check that the default stopping point is within 10% of the error of a
   run 4x as long.

    python benchmarks/real_project.py                       # ~1 h on 2 CPU cores
    python benchmarks/real_project.py --long                # + the 4x runs
    python benchmarks/real_project.py --quick               # minutes; numbers mean nothing

Outputs (tables, figures, results.json) go to ``--out``; the project is rebuilt there each run
unless ``--keep`` (trained students are then reused).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import machine_description, print_machine  # noqa: E402

import dlc_recurrent  # noqa: E402  (torchvision before tensorflow)
from dlc_recurrent.evaluation.occlusion.baselines import smoothed  # noqa: E402
from dlc_recurrent.evaluation.stats import compare_methods, paired_ttest  # noqa: E402
from dlc_recurrent.frames import (
    read_frames,  # noqa: E402
    read_video_info,  # noqa: E402
)
from dlc_recurrent.project import load_project, read_teacher, video_crop  # noqa: E402

REAL = Path(os.environ.get("DLC_RECURRENT_REAL", HERE.parent.parent / "shared" / "real"))
EXAMPLE = "openfield-Pranav-2018-10-30"
SOURCE_VIDEO = "m3v1mp4.mp4"
TEACHER_RECORD = HERE / "data" / "real_teacher.json"
MODELS = ("leap", "convlstm_leap")
#: Candidate fixes, each a recurrent student on its own shuffle (same training-set settings), judged
#: beside the defaults with ``--candidates``: name -> (shuffle, model, training options).
CANDIDATES = {
    "convlstm_leap+skip": (3, "convlstm_leap", {"skip_connection": True}),
    # the same students trained in mixed bfloat16: same seed, data and schedule as the defaults
    "leap+bfloat16": (4, "leap", {"precision": "bfloat16"}),
    "convlstm_leap+bfloat16": (4, "convlstm_leap", {"precision": "bfloat16"}),
}
FILTERED = "leap+median filter+interpolation"
LEAP_CAUSAL = "leap+interpolation (causal)"
#: The body axis used to find the teacher's head-tail swaps: from TAIL to the mean of HEAD.
HEAD, TAIL = ("snout", "leftear", "rightear"), "tailbase"
FLIP_TURN = 120.0  # degrees in one frame (1/30 s): no mouse turns that fast; the teacher contradicts itself
FLIP_MARGIN = 10  # frames either side of a flip left out of judge a2
SKELETON = [["snout", "leftear"], ["snout", "rightear"], ["leftear", "rightear"], ["leftear", "tailbase"],
            ["rightear", "tailbase"]]


# --------------------------------------------------------------------------------------------
# The project
# --------------------------------------------------------------------------------------------


def cut_video(source: Path, target: Path, first: int, count: int) -> Path:
    """Frames [first, first + count) of ``source`` into ``target`` (FFV1: lossless, the same pixels)."""
    import cv2

    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
    writer = None
    index = 0
    while index < first + count:
        ok, frame = capture.read()
        if not ok:
            break
        if index >= first:
            if writer is None:
                height, width = frame.shape[:2]
                writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"FFV1"), fps, (width, height))
            writer.write(frame)
        index += 1
    capture.release()
    if writer is None or index < first + count:
        raise SystemExit(f"{source}: only {index} frames, {first + count} wanted")
    writer.release()
    return target


def teacher_rows(source_h5: Path, target_h5: Path, first: int, count: int) -> Path:
    """The cached teacher's rows for a cut, re-indexed from 0, as deeplabcut writes predictions."""
    table = pd.read_hdf(source_h5)
    part = table.iloc[first : first + count].copy()
    part.index = pd.RangeIndex(len(part))
    part.to_hdf(target_h5, key="df_with_missing", format="table", mode="w")
    return target_h5


def make_project(out: Path, train_frames: int, tail_frames: int) -> tuple[Path, Path, dict]:
    """A new DLC project (deeplabcut.create_new_project) on the training cut; returns config, tail, teacher."""
    import deeplabcut
    from deeplabcut.utils import auxiliaryfunctions

    record = json.loads(TEACHER_RECORD.read_text())
    cached = HERE / "data" / record["predictions"]
    example = auxiliaryfunctions.read_config(str(REAL / EXAMPLE / "config.yaml"))
    cuts = out / "cuts"
    cuts.mkdir(parents=True, exist_ok=True)
    source = REAL / EXAMPLE / "videos" / SOURCE_VIDEO
    train_video = cut_video(source, cuts / "openfield_train.avi", 0, train_frames)
    tail_video = cut_video(source, cuts / "openfield_tail.avi", train_frames, tail_frames)
    config = Path(deeplabcut.create_new_project("openfield", "Pranav", [str(train_video)], working_directory=str(out),
                                                copy_videos=True, video_extensions=".avi"))
    auxiliaryfunctions.edit_config(str(config), {
        "bodyparts": example["bodyparts"], "pcutoff": example["pcutoff"], "skeleton": SKELETON,
        "TrainingFraction": example["TrainingFraction"], "dotsize": 4,
    })
    videos = config.parent / "videos"
    shutil.copy2(tail_video, videos / tail_video.name)
    scorer = record["scorer"]
    teacher_rows(cached, videos / f"openfield_train{scorer}.h5", 0, train_frames)
    teacher_rows(cached, videos / f"openfield_tail{scorer}.h5", train_frames, tail_frames)
    return config, videos / tail_video.name, record


# --------------------------------------------------------------------------------------------
# Predictions on the tail
# --------------------------------------------------------------------------------------------


def analyze_tail(config: Path, tail: Path, shuffle: int, models=MODELS) -> dict[str, np.ndarray]:
    """Each student's predictions (n, K, 3) of the tail, from the h5 analyze_videos writes beside it."""
    predictions = {}
    for model in models:
        scorer = dlc_recurrent.analyze_videos(config, [str(tail)], shuffle=shuffle, model=model, overwrite=True,
                                              progress=False)
        table = pd.read_hdf(tail.parent / f"{tail.stem}{scorer}.h5")
        predictions[model] = table.to_numpy(float).reshape(len(table), -1, 3)
    return predictions


def filtered_leap(config: Path, tail: Path, out: Path, pcutoff: float) -> np.ndarray:
    """LEAP through deeplabcut.filterpredictions (median) and sub-pcutoff gaps interpolated."""
    from dlc_recurrent.evaluation.occlusion.baselines import interpolate_unsure, median_filtered_leap

    _, filtered = median_filtered_leap(config, [tail], out, progress=False)[str(tail)]
    return interpolate_unsure(filtered, pcutoff)


def dlc_tools(config: Path, tail: Path) -> dict[str, str]:
    """DeepLabCut's own post-processing on the recurrent student's output: what each made, or its error."""
    import deeplabcut

    from dlc_recurrent.training import deeplabcut_options

    kw = deeplabcut_options("convlstm_leap")
    video = [str(tail)]
    calls = {
        "filterpredictions": lambda: deeplabcut.filterpredictions(str(config), video, **kw),
        "analyzeskeleton": lambda: deeplabcut.analyzeskeleton(str(config), video, save_as_csv=True, **kw),
        "plot_trajectories": lambda: deeplabcut.plot_trajectories(str(config), video, **kw),
        "create_labeled_video": lambda: deeplabcut.create_labeled_video(str(config), video, **kw),
        "extract_outlier_frames": lambda: deeplabcut.extract_outlier_frames(
            str(config), video, automatic=True, outlieralgorithm="jump", **kw),
    }
    results = {}
    for name, call in calls.items():
        before = set(tail.parent.rglob("*")) | set(config.parent.rglob("*"))
        try:
            call()
            made = sorted({p for p in set(tail.parent.rglob("*")) | set(config.parent.rglob("*")) if p.is_file()}
                          - before)
            results[name] = f"ok ({len(made)} files)" if made else "ok (no new file)"
        except Exception as error:  # a benchmark reports every tool, whatever one of them does
            results[name] = f"FAILED: {type(error).__name__}: {' '.join(str(error).split())[:200]}"
    return results


# --------------------------------------------------------------------------------------------
# a. Agreement with the teacher where it is sure
# --------------------------------------------------------------------------------------------


def agreement(methods: dict[str, np.ndarray], teacher_xy, sure, bodyparts, pcutoff) -> pd.DataFrame:
    """Per method and body part: distance to the teacher's sure points (median, mean, % within 5 px),
    and the share of them the method keeps over pcutoff; paired test against LEAP on the same points."""
    rows = []
    errors = {m: np.linalg.norm(p[..., :2] - teacher_xy, axis=-1) for m, p in methods.items()}
    for index, part in [(None, "all"), *enumerate(bodyparts)]:
        mask = sure if index is None else sure & (np.arange(len(bodyparts)) == index)[None, :]
        for method, error in errors.items():
            e = error[mask]
            t, p, n = paired_ttest(e, errors["leap"][mask]) if method != "leap" else (np.nan, np.nan, len(e))
            rows.append({"bodypart": part, "method": method, "n": int(mask.sum()),
                         "median_px": float(np.median(e)), "mean_px": float(np.mean(e)),
                         "within_5px": float(np.mean(e <= 5)),
                         "kept_over_pcutoff": float(np.mean(methods[method][..., 2][mask] >= pcutoff)),
                         "p_vs_leap": p})
    return pd.DataFrame(rows)


def body_axis_degrees(xy, bodyparts) -> np.ndarray:
    """(n,) direction of the body axis (TAIL -> mean of HEAD) in image degrees; NaN where a part is missing."""
    head = np.mean(xy[:, [bodyparts.index(p) for p in HEAD], :2], axis=1)
    axis = head - xy[:, bodyparts.index(TAIL), :2]
    return np.degrees(np.arctan2(axis[:, 1], axis[:, 0]))


def teacher_flips(teacher_xy, bodyparts, min_turn: float = FLIP_TURN) -> np.ndarray:
    """Frames at which the teacher's body axis turns by more than ``min_turn`` degrees from the frame
    before: a head-tail swap on one side of the flip, since no mouse turns that far in one frame."""
    angle = body_axis_degrees(teacher_xy, bodyparts)
    turn = np.abs((np.diff(angle) + 180) % 360 - 180)
    return np.flatnonzero(turn > min_turn) + 1


def away_from(frames: np.ndarray, n: int, margin: int) -> np.ndarray:
    """(n,) True for frames more than ``margin`` frames from every frame in ``frames``."""
    near = np.zeros(n, bool)
    for frame in frames:
        near[max(0, frame - margin):frame + margin + 1] = True
    return ~near


def plot_flips(tail: Path, flips, teacher_xy, predictions: dict, bodyparts, path: Path, around: int = 6) -> Path | None:
    """Crops of the frames around the first teacher flip, with the teacher's and the students' points."""
    import cv2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not len(flips):
        return None
    shown = [f for f in range(flips[0] - around, flips[0] + 2 * around, 3) if 0 <= f < len(teacher_xy)]
    capture = cv2.VideoCapture(str(tail))
    figure, axes = plt.subplots(1, len(shown), figsize=(2.6 * len(shown), 3.0))
    colors = {"teacher": "lime", "leap": "red", "convlstm_leap": "deepskyblue"}
    for ax, frame in zip(np.atleast_1d(axes), shown):
        capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
        _, image = capture.read()
        points = np.concatenate([teacher_xy[frame], *(predictions[m][frame, :, :2] for m in ("leap", "convlstm_leap"))])
        side = 240
        x0, y0 = np.clip(np.nanmedian(points, axis=0) - side // 2, 0, None).astype(int)
        ax.imshow(image[y0:y0 + side, x0:x0 + side, ::-1], extent=(x0, x0 + side, y0 + side, y0))
        for name, xy in [("teacher", teacher_xy[frame]), *((m, predictions[m][frame, :, :2])
                                                           for m in ("leap", "convlstm_leap"))]:
            for part, (x, y) in zip(bodyparts, xy):
                ax.text(x, y, part[0].upper() if part != TAIL else "T", color=colors[name], fontsize=9,
                        fontweight="bold", ha="center", va="center")
        ax.set_title(f"frame {frame}" + (" (flip)" if frame in set(flips) else ""), fontsize=9)
        ax.axis("off")
    capture.release()
    figure.suptitle("teacher (green), LEAP (red), ConvLSTM-LEAP (blue); S snout, L/R ears, T tail base", fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# --------------------------------------------------------------------------------------------
# b. Occluders placed independently of the body parts
# --------------------------------------------------------------------------------------------


def occluded_windows(students, frames, teacher_xy, sure, scale, crop, lengths, n_windows, side_px, seed, pcutoff,
                     window_length):
    """The Figure 6 protocol with squares placed at random; one row per (window, k, covered point)."""
    from dlc_recurrent.evaluation.occlusion.baselines import fill_gaps
    from dlc_recurrent.frames import to_full_frame, to_stored_frame
    from dlc_recurrent.inference.streams import predict_frames

    rng = np.random.default_rng(seed)
    height, width = frames.shape[1:3]
    side = max(2, int(round(side_px * scale)))
    stored_teacher = to_stored_frame(teacher_xy, crop, scale)
    ends = rng.choice(np.arange(window_length - 1, len(frames)), size=min(n_windows, len(frames) - window_length + 1),
                      replace=False)

    def last_points(student, window):
        peaks = predict_frames(student, window)
        peaks[..., :2] = to_full_frame(peaks[..., :2], crop, scale)
        return peaks

    rows = []
    for end in ends:
        start = end - window_length + 1
        clean = frames[start : end + 1]
        clean_points = {m: last_points(s, clean) for m, s in students.items()}
        for k in lengths:
            covered = None
            for _ in range(500):
                x0, y0 = rng.integers(0, width - side + 1), rng.integers(0, height - side + 1)
                xy = stored_teacher[end - k + 1 : end + 1]
                inside = ((xy[..., 0] >= x0) & (xy[..., 0] < x0 + side) & (xy[..., 1] >= y0) & (xy[..., 1] < y0 + side)
                          & sure[end - k + 1 : end + 1]).all(axis=0)
                if inside.any():
                    covered = np.flatnonzero(inside)
                    break
            if covered is None:
                continue
            window = clean.copy()
            window[-k:, y0 : y0 + side, x0 : x0 + side] = 0
            points = {m: last_points(s, window) for m, s in students.items()}
            points[LEAP_CAUSAL] = points["leap"].copy()
            points[LEAP_CAUSAL][..., :2] = fill_gaps(points["leap"][..., :2], points["leap"][..., 2], pcutoff)
            for part in covered:
                path = teacher_xy[end - k : end + 1, part] if end >= k else teacher_xy[end - k + 1 : end + 1, part]
                row = {"end_frame": int(end), "k": k, "part": int(part),
                       # how far the point moved while covered (and from the frame before): a square that must
                       # cover it on every one of the k frames favours points that barely move
                       "moved_px": float(np.linalg.norm(path[-1] - path[0]))}
                for method, predicted in points.items():
                    row[method] = float(np.linalg.norm(predicted[-1, part, :2] - teacher_xy[end, part]))
                for method, predicted in clean_points.items():
                    row[f"{method} (no occluder)"] = float(np.linalg.norm(predicted[-1, part, :2]
                                                                          - teacher_xy[end, part]))
                rows.append(row)
    return pd.DataFrame(rows)


def occlusion_table(raw: pd.DataFrame, methods) -> pd.DataFrame:
    """Per k: every method on the same covered points (paired against the recurrent student), with
    how far those points moved while covered."""
    rows = []
    for k, group in raw.groupby("k"):
        for row in compare_methods({m: group[m].to_numpy() for m in methods}, reference="convlstm_leap"):
            rows.append({"k": k, **row, "median_moved_px": float(group.moved_px.median())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# c. Naturally hidden points and their judges
# --------------------------------------------------------------------------------------------


def bridge_judge(teacher_xy, sure, longest: int) -> np.ndarray:
    """(n, K, 2): the straight line between the teacher's sure positions around each run of at most
    ``longest`` unsure frames; NaN elsewhere (sure points, longer or open-ended runs)."""
    judge = np.full(teacher_xy.shape, np.nan)
    for part in range(sure.shape[1]):
        frame = 0
        while frame < len(sure):
            if sure[frame, part]:
                frame += 1
                continue
            end = frame
            while end < len(sure) and not sure[end, part]:
                end += 1
            if frame > 0 and end < len(sure) and end - frame <= longest:
                before, after = teacher_xy[frame - 1, part], teacher_xy[end, part]
                for t in range(frame, end):
                    weight = (t - frame + 1) / (end - frame + 1)
                    judge[t, part] = (1 - weight) * before + weight * after
            frame = end
    return judge


def _in_frame_of(origin, towards, offset):
    """origin + u (towards - origin) + v perp(towards - origin), for offset (u, v)."""
    axis = towards - origin
    perp = np.stack([-axis[..., 1], axis[..., 0]], axis=-1)
    return origin + offset[0] * axis + offset[1] * perp


def fit_body_judge(teacher_xy, sure, bodyparts) -> dict:
    """For each part, the pair of other parts and the offset (u, v) that place it best on frames where
    all three are sure (median offset; chosen by the median error on the same frames)."""
    judges = {}
    for part in range(len(bodyparts)):
        best = None
        for i in range(len(bodyparts)):
            for j in range(len(bodyparts)):
                if len({i, j, part}) < 3:
                    continue
                rows = sure[:, part] & sure[:, i] & sure[:, j]
                if rows.sum() < 50:
                    continue
                origin, towards, target = teacher_xy[rows, i], teacher_xy[rows, j], teacher_xy[rows, part]
                axis = towards - origin
                length2 = np.maximum((axis ** 2).sum(-1), 1e-6)
                u = ((target - origin) * axis).sum(-1) / length2
                v = ((target - origin) * np.stack([-axis[:, 1], axis[:, 0]], -1)).sum(-1) / length2
                offset = np.array([np.median(u), np.median(v)])
                error = float(np.median(np.linalg.norm(_in_frame_of(origin, towards, offset) - target, axis=-1)))
                if best is None or error < best["fit_error_px"]:
                    best = {"pair": (i, j), "offset": offset, "fit_error_px": error, "n_fit": int(rows.sum())}
        if best:
            judges[bodyparts[part]] = best
    return judges


def body_judge(judges: dict, teacher_xy, sure, bodyparts) -> np.ndarray:
    """(n, K, 2) positions the fitted judges give wherever their two parts are sure; NaN elsewhere."""
    out = np.full(teacher_xy.shape, np.nan)
    for name, judge in judges.items():
        part = bodyparts.index(name)
        i, j = judge["pair"]
        rows = sure[:, i] & sure[:, j]
        out[rows, part] = _in_frame_of(teacher_xy[rows, i], teacher_xy[rows, j], judge["offset"])
    return out


def judged_errors(methods: dict[str, np.ndarray], judge_xy, hidden) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The hidden points a judge covers (n, K) and each method's distance to the judge on them."""
    points = hidden & np.isfinite(judge_xy).all(-1)
    return points, {m: np.linalg.norm(p[..., :2] - judge_xy, axis=-1)[points] for m, p in methods.items()}


def hidden_table(methods: dict[str, np.ndarray], judge_xy, hidden, pcutoff: float) -> pd.DataFrame:
    """Each method's distance to a judge on the hidden points the judge covers (paired, vs the
    recurrent student), and the share of those points each method gives a likelihood >= pcutoff."""
    points, errors = judged_errors(methods, judge_xy, hidden)
    table = pd.DataFrame(compare_methods(errors, reference="convlstm_leap"))
    table["over_pcutoff"] = [float(np.mean(methods[m][..., 2][points] >= pcutoff)) for m in table.method]
    return table


#: The ensemble's questions, each a paired comparison on the same hidden points:
#: (question, method, the method it is compared with).
ENSEMBLE_QUESTIONS = (
    ("EKS over the teacher alone", "teacher+EKS", "teacher (unsure)"),
    ("adding LEAP to the teacher's EKS", "teacher+leap+EKS", "teacher+EKS"),
    ("teacher + LEAP ensemble against LEAP", "teacher+leap+EKS", "leap"),
    ("teacher + LEAP ensemble against DLC's filter", "teacher+leap+EKS", FILTERED),
    ("adding the recurrent student to teacher + LEAP", "teacher+leap+convlstm_leap+EKS", "teacher+leap+EKS"),
    ("three-member ensemble against the recurrent student", "teacher+leap+convlstm_leap+EKS", "convlstm_leap"),
    ("three-member ensemble against DLC's filter", "teacher+leap+convlstm_leap+EKS", FILTERED),
)


def ensemble_pairs(methods: dict[str, np.ndarray], judges: dict[str, np.ndarray], hidden) -> pd.DataFrame:
    """Per judge and question: mean px of both methods on the hidden points the judge covers, the
    paired difference (method - other; negative = the method is closer) and its p."""
    rows = []
    for judge, judge_xy in judges.items():
        _, errors = judged_errors(methods, judge_xy, hidden)
        for question, method, other in ENSEMBLE_QUESTIONS:
            a, b = errors[method], errors[other]
            t, p, n = paired_ttest(a, b)
            rows.append({"judge": judge, "question": question, "method": method, "other": other, "n": n,
                         "method_mean_px": float(np.nanmean(a)), "other_mean_px": float(np.nanmean(b)),
                         "difference_px": float(np.nanmean(a - b)), "p": p})
    return pd.DataFrame(rows)


def twin_pairs(predictions: dict[str, np.ndarray], candidates: list[str], point_sets: dict) -> pd.DataFrame:
    """Each candidate against its default twin (the default student of the same model) on the same
    points: mean px of both, the paired difference (candidate - default) and its p. ``point_sets``:
    name -> (target xy (n, K, 2), mask (n, K))."""
    rows = []
    for points, (target, mask) in point_sets.items():
        _, errors = judged_errors(predictions, target, mask)
        for name in candidates:
            twin = CANDIDATES[name][1]
            candidate, default = errors[name], errors[twin]
            _, p, n = paired_ttest(candidate, default)
            rows.append({"candidate": name, "default": twin, "points": points, "n": n,
                         "default_mean_px": float(np.nanmean(default)),
                         "candidate_mean_px": float(np.nanmean(candidate)),
                         "difference_px": float(np.nanmean(candidate - default)), "p": p})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------


def plot_results(agree: pd.DataFrame, occlusion: pd.DataFrame, hidden: dict, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    colors = {"leap": "tab:red", FILTERED: "tab:orange", LEAP_CAUSAL: "tab:orange", "convlstm_leap": "tab:blue",
              "teacher (unsure)": "tab:gray", "teacher+EKS": "tab:brown", "teacher+leap+EKS": "tab:olive",
              "teacher+leap+convlstm_leap+EKS": "tab:pink"}
    figure = Figure(figsize=(15, 4.2), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    parts = [p for p in dict.fromkeys(agree.bodypart)]
    methods = list(dict.fromkeys(agree.method))
    width = 0.8 / len(methods)
    for i, method in enumerate(methods):
        values = agree[agree.method == method].set_index("bodypart").reindex(parts)
        axes[0].bar(np.arange(len(parts)) + (i - (len(methods) - 1) / 2) * width, values.mean_px, width,
                    label=method, color=colors.get(method))
    axes[0].set_xticks(np.arange(len(parts)), parts)
    axes[0].set_ylabel("mean px from the teacher (sure points)")
    axes[0].set_title("a. tail frames, teacher sure")
    axes[0].legend(frameon=False, fontsize=8)
    if len(occlusion):
        for method in dict.fromkeys(occlusion.method):
            rows = occlusion[occlusion.method == method]
            axes[1].errorbar(rows.k, rows.mean_px, yerr=rows.sem_px, marker="o", capsize=3, label=method,
                             color=colors.get(method.replace(" (no occluder)", "")),
                             linestyle="--" if "no occluder" in method else "-")
        axes[1].set_xlabel("frames occluded at the window's end (k)")
        axes[1].set_ylabel("mean px from the teacher (covered points)")
        axes[1].set_title("b. random squares over the last k frames")
        axes[1].legend(frameon=False, fontsize=7)
    labels, offsets = list(hidden), np.arange(len(hidden))
    for judge_index, (judge, table) in enumerate(hidden.items()):
        for i, row in enumerate(table.itertuples()):
            axes[2].bar(judge_index + (i - (len(table) - 1) / 2) * 0.8 / max(len(table), 1), row.mean_px,
                        0.8 / max(len(table), 1), yerr=row.sem_px if np.isfinite(row.sem_px) else 0, capsize=3,
                        color=colors.get(row.method), label=row.method if judge_index == 0 else None)
    axes[2].set_xticks(offsets, [f"{j}\n(n={int(hidden[j].n.iloc[0]) if len(hidden[j]) else 0})" for j in labels])
    axes[2].set_ylabel("mean px from the judge")
    axes[2].set_title("c. naturally hidden points (teacher unsure)")
    axes[2].legend(frameon=False, fontsize=8)
    figure.savefig(path, bbox_inches="tight")
    return path


# --------------------------------------------------------------------------------------------
# Training cost
# --------------------------------------------------------------------------------------------


def step_flops(model: str, height: int, width: int, batch: int, window: int, parts: int, channels: int = 1) -> float:
    """Multiply-adds x 2 of one training step (forward x 3 for forward + backward), counted layer by layer."""
    from dlc_recurrent.kinds import DEFAULT_FILTERS

    f1, f2, f3, f4 = DEFAULT_FILTERS
    layers = [(channels, f1, 1), (f1, f1, 1), (f1, f1, 1), (f1, f2, 2), (f2, f2, 2), (f2, f2, 2), (f2, f3, 4),
              (f3, f3, 4), (f3, f3, 4), (f3, f4, 2), (f4, f4, 2), (f4, f4, 2), (f4, parts, 1)]
    per_frame = sum(2 * 9 * c_in * c_out * (height // s) * (width // s) for c_in, c_out, s in layers)
    frames = batch * (window if model != "leap" else 1)
    total = per_frame * frames
    if model != "leap":  # ConvLSTM(32) at 1/4: 4 gates over [input 32 + hidden 32]
        total += 2 * 9 * (f2 + 32) * 4 * 32 * (height // 4) * (width // 4) * frames
    return 3.0 * total


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def parse_args() -> tuple[argparse.Namespace, dict]:
    """The command line, checked; with the training options it implies (``--quick``'s short schedule)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "real_project")
    parser.add_argument("--train-frames", type=int, default=1800)
    parser.add_argument("--tail-frames", type=int, default=530)
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--windows", type=int, default=100, help="windows of the occlusion protocol")
    parser.add_argument("--occluder", type=float, default=40.0, help="square side, full-resolution px")
    parser.add_argument("--bridge-max", type=int, default=10, help="longest unsure run the bridge judge spans")
    parser.add_argument("--long", action="store_true", help="also train 4x as long (shuffle 2)")
    parser.add_argument("--keep", action="store_true", help="reuse the project and trained students in --out")
    parser.add_argument("--quick", action="store_true", help="a pipeline check: short cuts, few steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--candidates", type=lambda text: [c for c in text.split(",") if c], default=[],
                        help=f"also train and judge these candidate fixes: {', '.join(CANDIDATES)}")
    parser.add_argument("--candidate-max-steps", type=int, default=None,
                        help="cap the candidates' training (default: the default schedule's own limit)")
    args = parser.parse_args()
    unknown = set(args.candidates) - set(CANDIDATES)
    if unknown:
        parser.error(f"unknown candidates {sorted(unknown)}; choose from {sorted(CANDIDATES)}")
    training = {}
    if args.quick:
        args.train_frames, args.tail_frames, args.windows = 300, 120, 10
        training = dict(min_steps=20, max_steps=40, steps_per_epoch=10)
    return args, training


def open_project(args) -> tuple[Path, Path, dict]:
    """The project in ``--out`` (kept with ``--keep``, made afresh otherwise): its config, tail video and
    the teacher's record."""
    if not args.keep and args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    existing = sorted(args.out.glob("openfield-Pranav-*/config.yaml"))
    if existing and args.keep:
        config = existing[0]
        tail = config.parent / "videos" / "openfield_tail.avi"
        teacher_record = json.loads(TEACHER_RECORD.read_text())
    else:
        config, tail, teacher_record = make_project(args.out, args.train_frames, args.tail_frames)
    return config, tail, teacher_record


def train_students(config: Path, project, own_videos: list[str], args, training: dict, timings: dict) -> dict:
    """Train both students (and the ``--candidates``), adding their minutes to ``timings``; their
    training summaries by model or candidate name."""
    from dlc_recurrent.layout import model_folder
    from dlc_recurrent.training import read_training_summary

    dlc_recurrent.create_training_set(config, videos=own_videos, scale=args.scale)
    for model in MODELS:
        tick = time.time()
        dlc_recurrent.train(config, model=model, **training)
        timings[f"train {model}"] = round((time.time() - tick) / 60, 1)
    summaries = {m: read_training_summary(model_folder(project, 1, 0, m) / "train") for m in MODELS}
    for name in args.candidates:
        shuffle, model, options = CANDIDATES[name]
        dlc_recurrent.create_training_set(config, videos=own_videos, shuffle=shuffle, scale=args.scale)
        cap = {"max_steps": args.candidate_max_steps} if args.candidate_max_steps else {}
        tick = time.time()
        dlc_recurrent.train(config, shuffle=shuffle, model=model, **{**training, **cap, **options})
        timings[f"train {name}"] = round((time.time() - tick) / 60, 1)
        summaries[name] = read_training_summary(model_folder(project, shuffle, 0, model) / "train")
    return summaries


def long_run_check(config: Path, tail: Path, own_videos: list[str], args, training: dict, summaries: dict,
                   timings: dict, agree: pd.DataFrame, teacher_xy, sure, bodyparts, pcutoff) -> dict:
    """``--long``: both students trained 4x as many steps (shuffle 2) and their agreement with the
    teacher set against the default run's, per model."""
    long_runs = {}
    dlc_recurrent.create_training_set(config, videos=own_videos, shuffle=2, scale=args.scale)
    for model in MODELS:
        steps = 4 * summaries[model]["steps"]
        tick = time.time()
        dlc_recurrent.train(config, shuffle=2, model=model, **{**training, "min_steps": steps, "max_steps": steps})
        timings[f"train {model} 4x"] = round((time.time() - tick) / 60, 1)
    long_predictions = analyze_tail(config, tail, 2)
    long_agree = agreement({**long_predictions}, teacher_xy, sure, bodyparts, pcutoff)
    long_agree.to_csv(args.out / "agreement_4x.csv", index=False)
    for model in MODELS:
        short = agree[(agree.method == model) & (agree.bodypart == "all")].iloc[0]
        long = long_agree[(long_agree.method == model) & (long_agree.bodypart == "all")].iloc[0]
        long_runs[model] = {"default_steps": summaries[model]["steps"], "long_steps": 4 * summaries[model]["steps"],
                            "default_mean_px": short.mean_px, "long_mean_px": long.mean_px,
                            "default_median_px": short.median_px, "long_median_px": long.median_px,
                            "mean_ratio": short.mean_px / long.mean_px,
                            "median_ratio": short.median_px / long.median_px}
    return long_runs


def training_costs(names: list[str], students: dict, summaries: dict, frame_shape: tuple[int, int],
                   n_bodyparts: int) -> dict:
    """Each student's training cost: steps, minutes, GFLOP per step, the CPU rate achieved and a GPU
    estimate."""
    height, width = frame_shape
    gpu_tflops = 20.0  # effective rate assumed for small convolutions on a modern GPU (a guess, not measured)
    costs = {}
    for name in names:
        model = name if name in MODELS else CANDIDATES[name][1]
        config_m = students[name].config
        flops = step_flops(model, height, width, config_m.resolved_batch_size, config_m.window_length, n_bodyparts,
                           config_m.channels)
        summary = summaries[name]
        costs[name] = {"steps": summary["steps"], "minutes": summary["minutes"],
                       "seconds_per_step": round(60 * summary["minutes"] / summary["steps"], 3),
                       "gflop_per_step": round(flops / 1e9, 1),
                       "cpu_gflops_achieved": round(flops * summary["steps"] / (60 * summary["minutes"]) / 1e9, 1),
                       "gpu_minutes_estimate": round(flops * summary["steps"] / (gpu_tflops * 1e12) / 60, 2)}
    return costs


def print_report(results: dict, agree, agree_steady, occlusion, hidden_tables: dict, pairs, twins, moved) -> None:
    """Print every table of the run, and the body judges, training costs and 4x runs from ``results``."""
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.precision", 3):
        print("\n## a. agreement with the teacher on the tail (sure points)")
        print(agree.to_string(index=False))
        print(f"\n## a2. the same, more than {FLIP_MARGIN} frames from a teacher flip (teacher flips at frames "
              f"{results['teacher_flips']}; students' flips: {results['student_flips']})")
        print(agree_steady.to_string(index=False))
        print("\n## b. occluders placed independently of the body parts")
        print(occlusion.to_string(index=False))
        for name, table in hidden_tables.items():
            print(f"\n## c. naturally hidden points, judge: {name}")
            print(table.to_string(index=False))
        print("\n## c2. the ensemble's questions on the same hidden points (difference = method - other)")
        print(pairs.to_string(index=False))
        if len(twins):
            print("\n## each candidate against the default student of its model, same points "
                  "(difference = candidate - default)")
            print(twins.to_string(index=False))
        print("\n## a3. the ensembles on the teacher's sure points (they hold the teacher: how far they move it)")
        print(moved[moved.bodypart == "all"].to_string(index=False))
        print("(The bridge judge interpolates the teacher's sure points, as the filter baseline interpolates "
              "LEAP's: it favours that baseline. p-values treat points as independent; consecutive frames "
              "and overlapping windows are not, so they are optimistic.)")
        print("\nbody judges:", json.dumps(results["body_judges"], indent=2))
        print("\ntraining:", json.dumps(results["costs"], indent=2))
        if results["long_runs"]:
            print("\n4x as long:", json.dumps(results["long_runs"], indent=2))


def predict_tail(config: Path, tail: Path, args, pcutoff: float, timings: dict) -> tuple[dict, dict]:
    """Every student's and candidate's predictions of the tail, with LEAP filtered; and DeepLabCut's tools run
    on them (printed)."""
    tick = time.time()
    predictions = analyze_tail(config, tail, 1)
    timings["analyze tail, both"] = round((time.time() - tick) / 60, 1)
    for name in args.candidates:
        shuffle, model, _ = CANDIDATES[name]
        predictions[name] = analyze_tail(config, tail, shuffle, [model])[model]
    predictions[FILTERED] = filtered_leap(config, tail, args.out / "filter", pcutoff)
    tools = dlc_tools(config, tail)
    print("DeepLabCut's tools on the recurrent student's output:", json.dumps(tools, indent=2))
    return predictions, tools


@dataclass
class TailTeacher:
    """The teacher on the tail, cut to the ``n`` frames it and every prediction have."""

    n: int
    xy: np.ndarray  # (n, K, 2)
    likelihood: np.ndarray  # (n, K)
    sure: np.ndarray  # (n, K): likelihood >= pcutoff


def read_tail_teacher(tail: Path, scorer: str, bodyparts, pcutoff: float,
                      predictions: dict) -> tuple[TailTeacher, dict]:
    """The teacher's rows of the tail and the predictions, both cut to the frames all of them have."""
    teacher = read_teacher(next(tail.parent.glob(f"{tail.stem}{scorer}.h5")), bodyparts)
    sure = teacher.likelihood >= pcutoff
    n = min(len(teacher.xy), *(len(p) for p in predictions.values()))
    truth = TailTeacher(n=n, xy=teacher.xy[:n], likelihood=teacher.likelihood[:n], sure=sure[:n])
    return truth, {m: p[:n] for m, p in predictions.items()}


@dataclass
class Agreement:
    """a. and a2.: the agreement tables, the teacher's flips, the frames away from them and the flips figure."""

    table: pd.DataFrame
    steady_table: pd.DataFrame
    flips: np.ndarray
    steady: np.ndarray  # (n, 1): True more than FLIP_MARGIN frames from every teacher flip
    flips_figure: Path | None
    student_flips: dict


def judge_agreement(tail: Path, truth: TailTeacher, predictions: dict, bodyparts, pcutoff: float,
                    out: Path) -> Agreement:
    """a. and a2.: agreement with the teacher's sure points, everywhere and away from its flips (tables written)."""
    agree = agreement(predictions, truth.xy, truth.sure, bodyparts, pcutoff)
    agree.to_csv(out / "agreement.csv", index=False)
    # a2. the same, away from the teacher's head-tail swaps (where it contradicts itself)
    flips = teacher_flips(truth.xy, bodyparts)
    steady = away_from(flips, truth.n, FLIP_MARGIN)[:, None]
    agree_steady = agreement(predictions, truth.xy, truth.sure & steady, bodyparts, pcutoff)
    agree_steady.to_csv(out / "agreement_away_from_flips.csv", index=False)
    flips_figure = plot_flips(tail, flips, truth.xy, predictions, bodyparts, out / "teacher_flips.png")
    student_flips = {m: (teacher_flips(predictions[m][..., :2], bodyparts)).tolist() for m in MODELS}
    return Agreement(agree, agree_steady, flips, steady, flips_figure, student_flips)


def judge_occlusion(project, tail: Path, truth: TailTeacher, args) -> tuple[dict, tuple[int, int], pd.DataFrame]:
    """b.: the trained students, the stored frame size of the tail and the occlusion table (tables written)."""
    from dlc_recurrent.inference.student import load_trained_student

    students = {m: load_trained_student(project, 1, 0, m) for m in MODELS}
    students.update({name: load_trained_student(project, CANDIDATES[name][0], 0, CANDIDATES[name][1])
                     for name in args.candidates})
    tail_info = read_video_info(tail)
    crop = video_crop(project, tail_info)
    channels = students["leap"].config.channels
    frames = np.stack([image for _, image in read_frames(tail_info, crop, args.scale, channels, range(truth.n))])
    raw = occluded_windows(students, frames, truth.xy, truth.sure, args.scale, crop, (1, 3, 5, 10), args.windows,
                           args.occluder, args.seed, project.pcutoff, students["convlstm_leap"].window_length)
    raw.to_csv(args.out / "occlusion_points.csv", index=False)
    methods_b = ["convlstm_leap", *args.candidates, "leap", LEAP_CAUSAL, "convlstm_leap (no occluder)",
                 *(f"{name} (no occluder)" for name in args.candidates), "leap (no occluder)"]
    occlusion = occlusion_table(raw, methods_b) if len(raw) else pd.DataFrame()
    occlusion.to_csv(args.out / "occlusion.csv", index=False)
    return students, frames.shape[1:3], occlusion


def body_judges(config: Path, scorer: str, truth: TailTeacher, bodyparts, pcutoff: float) -> tuple[np.ndarray, dict]:
    """c.'s body judge, fitted on the training cut: its positions on the tail and each part's judge quality."""
    train_teacher = read_teacher(next((config.parent / "videos").glob(f"openfield_train{scorer}.h5")), bodyparts)
    judges = fit_body_judge(train_teacher.xy, train_teacher.likelihood >= pcutoff, bodyparts)
    body_xy = body_judge(judges, truth.xy, truth.sure, bodyparts)
    judge_quality = {name: {"pair": [bodyparts[i] for i in judge["pair"]], "fit_error_px": judge["fit_error_px"],
                            "tail_error_on_sure_points_px": float(np.nanmedian(np.linalg.norm(
                                body_xy[:, bodyparts.index(name)] - truth.xy[:, bodyparts.index(name)], axis=-1)[
                                truth.sure[:, bodyparts.index(name)]]))}
                     for name, judge in judges.items()}
    return body_xy, judge_quality


@dataclass
class Hidden:
    """c. and d.: the hidden points, both judges' positions, the tables per judge, the ensemble pairs, and
    how far the ensembles move the teacher's sure points."""

    points: np.ndarray  # (n, K)
    judges_xy: dict
    tables: dict
    pairs: pd.DataFrame
    moved: pd.DataFrame


def judge_hidden(truth: TailTeacher, predictions: dict, body_xy, args, bodyparts, pcutoff: float) -> Hidden:
    """c. and d.: every method and ensemble on the naturally hidden points, against both judges (tables written)."""
    hidden = ~truth.sure & np.isfinite(truth.xy).all(-1)
    teacher_points = np.concatenate([truth.xy, truth.likelihood[:, :, None]], -1)
    # Lightning Pose's Ensemble Kalman Smoothing, judged on hidden points only: the teacher is
    # a member, so agreement with the teacher (a) would favour it by construction. The bridge judge is
    # the teacher's own sure points joined by a line, which any smoother through them approaches too:
    # read the body judge first for the ensembles.
    ensembles = {"teacher+EKS": [teacher_points], "teacher+leap+EKS": [teacher_points, predictions["leap"]],
                 "teacher+leap+convlstm_leap+EKS": [teacher_points, predictions["leap"], predictions["convlstm_leap"]]}
    with_teacher = {"teacher (unsure)": teacher_points, **predictions,
                    **{name: smoothed(members) for name, members in ensembles.items()}}
    judges_xy = {"bridge": bridge_judge(truth.xy, truth.sure, args.bridge_max), "body": body_xy}
    hidden_tables = {name: hidden_table(with_teacher, judge_xy, hidden, pcutoff)
                     for name, judge_xy in judges_xy.items()}
    for name, table in hidden_tables.items():
        table.to_csv(args.out / f"hidden_{name}.csv", index=False)
    pairs = ensemble_pairs(with_teacher, judges_xy, hidden)
    pairs.to_csv(args.out / "ensemble_pairs.csv", index=False)
    # On the teacher's sure points the ensembles can only be compared with the teacher, which they
    # hold: this says how far they move its sure points (and how many they keep over pcutoff), not
    # how accurate they are.
    moved = agreement({"leap": predictions["leap"], **{name: with_teacher[name] for name in ensembles}},
                      truth.xy, truth.sure, bodyparts, pcutoff)
    moved.to_csv(args.out / "ensembles_on_sure_points.csv", index=False)
    return Hidden(hidden, judges_xy, hidden_tables, pairs, moved)


def judge_candidates(predictions: dict, args, truth: TailTeacher, steady, hidden: Hidden) -> pd.DataFrame:
    """Each candidate against the default student of its model on every set of points (table written)."""
    twins = twin_pairs(predictions, args.candidates, {
        "teacher's sure points": (truth.xy, truth.sure),
        "sure, away from the teacher's flips": (truth.xy, truth.sure & steady),
        **{f"hidden, {name} judge": (judge_xy, hidden.points) for name, judge_xy in hidden.judges_xy.items()}})
    twins.to_csv(args.out / "candidate_pairs.csv", index=False)
    return twins


def write_and_report(results: dict, out: Path, agreed: Agreement, occlusion, hidden: Hidden, twins) -> None:
    """Write ``results.json``, then print every table and how long the run took."""
    (out / "results.json").write_text(json.dumps(results, indent=2, default=float) + "\n")
    print_report(results, agreed.table, agreed.steady_table, occlusion, hidden.tables, hidden.pairs, twins,
                 hidden.moved)
    print(f"\nDone in {results['minutes']} min; {out / 'results.json'}")


def main() -> None:
    """Make the project, train the students, judge them on the tail, then write and print the results."""
    args, training = parse_args()
    info = machine_description()
    print_machine(info)
    started = time.time()
    config, tail, teacher_record = open_project(args)
    project = load_project(config)
    pcutoff, bodyparts, scorer = project.pcutoff, project.bodyparts, teacher_record["scorer"]
    print(f"Project {config}; teacher {scorer} (deeplabcut evaluate_network: {teacher_record['evaluate_network']})")

    timings = {}
    # the training cut only: deeplabcut's extract_outlier_frames (below) adds the tail to video_sets
    own_videos = [str(config.parent / "videos" / "openfield_train.avi")]
    summaries = train_students(config, project, own_videos, args, training, timings)
    predictions, tools = predict_tail(config, tail, args, pcutoff, timings)
    truth, predictions = read_tail_teacher(tail, scorer, bodyparts, pcutoff, predictions)

    agreed = judge_agreement(tail, truth, predictions, bodyparts, pcutoff, args.out)  # a., a2.
    students, frame_shape, occlusion = judge_occlusion(project, tail, truth, args)  # b.
    body_xy, judge_quality = body_judges(config, scorer, truth, bodyparts, pcutoff)  # c.
    hidden = judge_hidden(truth, predictions, body_xy, args, bodyparts, pcutoff)  # c., d.
    figure = plot_results(agreed.table, occlusion, hidden.tables, args.out / "real_project.png")
    twins = judge_candidates(predictions, args, truth, agreed.steady, hidden)

    long_runs = (long_run_check(config, tail, own_videos, args, training, summaries, timings, agreed.table, truth.xy,
                                truth.sure, bodyparts, pcutoff) if args.long else {})
    costs = training_costs([*MODELS, *args.candidates], students, summaries, frame_shape, len(bodyparts))

    results = {
        "machine": info, "args": {k: str(v) for k, v in vars(args).items()}, "teacher": teacher_record,
        "training": summaries, "costs": costs, "timings_min": timings, "dlc_tools": tools,
        "tail": {"frames": int(truth.n), "sure_points": int(truth.sure.sum()),
                 "hidden_points": int(hidden.points.sum())},
        "body_judges": judge_quality, "long_runs": long_runs, "figure": str(figure),
        "teacher_flips": agreed.flips.tolist(), "student_flips": agreed.student_flips,
        "flips_figure": str(agreed.flips_figure), "minutes": round((time.time() - started) / 60, 1),
    }
    write_and_report(results, args.out, agreed, occlusion, hidden, twins)


if __name__ == "__main__":
    main()
