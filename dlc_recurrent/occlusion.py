"""The seed paper's occlusion study (its Figures 2, 3, 5 and 6) on any single-animal DLC project.

``evaluate_occlusion(config)`` compares the students with DLC users' usual remedy as a baseline:
LEAP's output through the real ``deeplabcut.filterpredictions`` (median filter), then sub-pcutoff
gaps filled by linear interpolation. Everything is restricted to the test frames (``test_blocks`` of
the training set), and every number comes with its n. ``model=`` picks the recurrent student it
studies (``convlstm_leap``, the paper's, by default; or ``bidirectional_leap``); ``confident_shuffle=``
studies two students as ``analyze_videos(..., confident_shuffle=...)`` combines them, on the frames
neither trained on. Its figures are drawn by ``dlc_recurrent.occlusion_figures``.

What the numbers can and cannot show (read before quoting them):

* The ground truth of the paper is the teacher on frames where it is confident. On synthetic
  projects (a ``<stem>_groundtruth.npz`` beside the video) the true positions are known on every
  frame, including the naturally hidden ones: the error on **naturally hidden frames against the
  true positions** is the number that matters most, because nothing about it was placed by the
  evaluator.
* The artificial occlusion study (Figure 6) centres a black square on each occluded body part's
  ground-truth position. A square placed on a body part tells a model where the part is: a model
  trained with such squares scores well under them whether it is recurrent or not. These centred
  squares only reproduce the paper's Figure 6; they are not evidence of occlusion robustness by
  themselves.
* Under artificial occlusion the squares sit on the last frames of a window and the error is taken
  on the window's last frame, so no method may look at later frames: the baseline there is LEAP
  with its sub-pcutoff points filled causally (the last confident position in the window held,
  which is what linear interpolation does at the end of a trace); the median filter is left out
  because DLC's zero-padded ``scipy.signal.medfilt`` distorts a trace's last frames. On whole
  videos (natural occlusions) the baseline is the real DLC filter and sees past and future frames,
  an advantage the students do not have.
* Paired t-tests (``scipy.stats.ttest_rel`` formula, two-tailed) treat every (frame, body part) or
  (window, body part) pair as independent. Consecutive frames are not, so p-values on whole
  test blocks are optimistic; two samples of 50 windows can disagree (p = 0.03 vs 0.5 was seen on
  real mouse video): compare on the same windows, report n, and vary ``seed``.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from dlc_recurrent.distill import TrainingSet, read_frames, to_full_frame, to_stored_frame
from dlc_recurrent.evaluation import (
    FILTERED,
    FILTERED_CAUSAL,
    LEAP,
    RECURRENT,
    TWO_STUDENTS,
    atomic_csv,
    load_students,
    load_trainset,
    pad_stack,
    record_crop,
    Runner,
    compare_methods,
    evaluation_folder,
)
from dlc_recurrent.occlusion_figures import (
    COLORS,
    plot_calibration,
    plot_event,
    plot_occlusion,
    plot_test_frames,
)
from dlc_recurrent.project import (
    Project,
    ProjectError,
    VideoInfo,
    Crop,
    atomic_write,
    find_teacher,
    load_project,
    read_teacher_for_video,
    read_video_info,
)
from dlc_recurrent.synthetic import OCCLUDERS, read_ground_truth
from dlc_recurrent.training import deeplabcut_options

# The package's __init__ has loaded torchvision already, so TensorFlow may come now.
from dlc_recurrent._tensorflow import tf  # noqa: E402  (quiet; after torchvision)

from dlc_recurrent import models  # noqa: E402
from dlc_recurrent.infer import (  # noqa: E402
    BRIDGE_MAX_GAP,
    HANDOFF_LIKELIHOOD,
    load_confident,
    analyze_videos,
    bridged_points,
    combine_predictions,
    combine_students,
    predict_video,
)

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20240611


@dataclass(frozen=True)
class Study:
    """The methods one occlusion study compares; ``studied`` is the reference of every paired test.

    The default study compares the baselines with one recurrent student. A pair study adds the second
    (confident) student alone and the two combined as ``analyze_videos(..., confident_shuffle=N)``
    combines them (``handoff``, bridges of at most ``bridge_max_gap`` frames).
    """

    recurrent: str = RECURRENT
    second: str | None = None
    handoff: float = HANDOFF_LIKELIHOOD
    bridge_max_gap: int = 0
    colors: dict = field(default_factory=dict)
    test_frames: tuple[int, int] | None = None  # (kept, of) test frames: those of both training sets

    @property
    def paired(self) -> bool:
        return self.second is not None

    @property
    def studied(self) -> str:
        return TWO_STUDENTS if self.paired else self.recurrent

    @property
    def students(self) -> tuple[str, ...]:
        """The recurrent method names (the main student, then the second and the pair)."""
        return (self.recurrent, self.second, TWO_STUDENTS) if self.paired else (self.recurrent,)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods compared on whole videos."""
        return (LEAP, FILTERED, *self.students)

    @property
    def occlusion_methods(self) -> tuple[str, ...]:
        """The methods compared under artificial occlusion (no later frame, so the causal filter)."""
        return (LEAP, FILTERED_CAUSAL, *self.students)

    def color(self, method: str) -> str:
        return self.colors.get(method) or COLORS.get(method, "tab:gray")


#: The methods of the default study (``evaluate_occlusion(model=RECURRENT)``).
METHODS = Study().methods
OCCLUSION_METHODS = Study().occlusion_methods

# ----------------------------------------------------------------------------------------------
# Artificial occlusion: windows and squares
# ----------------------------------------------------------------------------------------------


def occluder_side(occluder_size: float, scale: float) -> int:
    """Side in stored (scaled) pixels of a square of ``occluder_size`` full-resolution pixels."""
    return max(1, int(round(occluder_size * scale)))


def square_bounds(x: float, y: float, side: int, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Columns x0:x1 and rows y0:y1 (end-exclusive) of a ``side`` square centred on (x, y).

    Pixel centres sit on integers, so the square's centre ((x0 + x1 - 1) / 2) is within half a
    pixel of (x, y). Clipped to the image; None when it falls outside or (x, y) is NaN.
    """
    if not (np.isfinite(x) and np.isfinite(y)):
        return None
    x0 = int(math.floor(x - (side - 1) / 2 + 0.5))
    y0 = int(math.floor(y - (side - 1) / 2 + 0.5))
    x1, y1 = x0 + side, y0 + side
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x0 >= x1 or y0 >= y1:
        return None
    return x0, x1, y0, y1


def occlude_window(window: np.ndarray, centres: np.ndarray, length: int, side: int) -> np.ndarray:
    """A copy of ``window`` (T, H, W, C) with black squares on its last ``length`` frames.

    ``centres`` (T, P, 2) are the stored-pixel positions to cover on each frame (NaN: no square).
    """
    occluded = np.array(window, copy=True)
    steps, height, width = occluded.shape[:3]
    for t in range(steps - length, steps) if length > 0 else ():
        for x, y in np.asarray(centres[t], float).reshape(-1, 2):
            bounds = square_bounds(x, y, side, width, height)
            if bounds is not None:
                x0, x1, y0, y1 = bounds
                occluded[t, y0:y1, x0:x1] = 0
    return occluded


def candidate_starts(test_blocks: list, n_frames: int, window_length: int) -> np.ndarray:
    """First frames of every window of ``window_length`` frames lying inside one test block."""
    starts = []
    for first, last in test_blocks:
        last = min(int(last), n_frames - 1)
        starts.extend(range(int(first), last - window_length + 2))
    return np.array(sorted(set(starts)), dtype=int)


def select_occlusion_windows(
    confident: list[np.ndarray],
    test_blocks: list[list],
    window_length: int,
    n_windows: int,
    parts: list[int],
    bodyparts: list[str],
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Sample up to ``n_windows`` test windows PER BODY PART (never all parts at once).

    A part counts in a window when ``confident[video][frame, part]`` (teacher over pcutoff, and
    visible where the truth is known) holds on every frame of the window. Each part's sample is
    drawn without replacement from its own candidates with ``numpy.random.default_rng([seed,
    part])``: independent of training, and of which other parts are studied. Returns one row per
    (body part, window): bodypart, part, video, first_frame, last_frame, n_candidates.
    """
    rows = []
    for part in parts:
        candidates = []
        for video, (ok, blocks) in enumerate(zip(confident, test_blocks)):
            starts = candidate_starts(blocks, len(ok), window_length)
            if not len(starts):
                continue
            run = np.convolve(ok[:, part].astype(int), np.ones(window_length, int), "valid")
            good = starts[run[starts] == window_length]
            candidates.extend((video, int(s)) for s in good)
        rng = np.random.default_rng([int(seed), int(part)])
        count = min(n_windows, len(candidates))
        chosen = sorted(candidates[i] for i in rng.choice(len(candidates), size=count, replace=False)) if count else []
        for video, start in chosen:
            rows.append(
                {
                    "bodypart": bodyparts[part],
                    "part": int(part),
                    "video": int(video),
                    "first_frame": start,
                    "last_frame": start + window_length - 1,
                    "n_candidates": len(candidates),
                }
            )
    columns = ["bodypart", "part", "video", "first_frame", "last_frame", "n_candidates"]
    return pd.DataFrame(rows, columns=columns)


# ----------------------------------------------------------------------------------------------
# evaluate_occlusion(): the paper's occlusion study
# ----------------------------------------------------------------------------------------------


@dataclass
class StudyVideo:
    """One training-set video with what the occlusion study needs about it."""

    index: int
    info: VideoInfo
    crop: Crop
    teacher_xy: np.ndarray
    teacher_likelihood: np.ndarray
    truth_xy: np.ndarray | None
    visible: np.ndarray | None
    occluded_by: np.ndarray | None
    test_blocks: list
    test: np.ndarray
    predictions: dict = field(default_factory=dict)

    @property
    def has_truth(self) -> bool:
        return self.truth_xy is not None

    def reference_xy(self) -> np.ndarray:
        """Positions to centre squares on and measure against: the truth, else the teacher."""
        return self.truth_xy if self.has_truth else self.teacher_xy


def _video_path(project: Project, record: dict) -> Path:
    """The training set's video: the project's own (config.yaml video_sets, same stem) first."""
    path = Path(record["video"])
    for candidate in project.videos:
        if candidate.stem == path.stem and candidate.is_file():
            return candidate
    if path.is_file():
        return path
    raise ProjectError(f"{path}: video of the training set not found; was the project moved? Rebuild the training set")


def _teacher_path(video: Path, record: dict) -> Path:
    """The teacher file the training set was built from, next to the video when the project moved."""
    beside = video.parent / Path(record["teacher"]).name
    if beside.is_file():
        return beside
    if Path(record["teacher"]).is_file():
        return Path(record["teacher"])
    return find_teacher(video, record.get("teacher_scorer"))


def _load_videos(project: Project, trainset: TrainingSet) -> list[StudyVideo]:
    videos = []
    for index, record in enumerate(trainset.videos):
        info = read_video_info(_video_path(project, record))
        teacher, info = read_teacher_for_video(_teacher_path(info.path, record), project.bodyparts, info)
        truth_xy = visible = occluded_by = None
        try:
            truth = read_ground_truth(info.path)
        except FileNotFoundError:
            truth = None
        if truth is not None and set(project.bodyparts) <= set(truth.bodyparts) and truth.frame_count == info.n_frames:
            order = [truth.bodyparts.index(bp) for bp in project.bodyparts]
            truth_xy = np.asarray(truth.xy, float)[:, order]
            visible = np.asarray(truth.visible, bool)[:, order]
            occluded_by = np.asarray(truth.occluded_by)[:, order]
        test = frames_in_blocks(record.get("test_blocks", []), info.n_frames)
        videos.append(
            StudyVideo(
                index=index,
                info=info,
                crop=record_crop(record),
                teacher_xy=teacher.xy,
                teacher_likelihood=teacher.likelihood,
                truth_xy=truth_xy,
                visible=visible,
                occluded_by=occluded_by,
                test_blocks=[list(b) for b in record.get("test_blocks", [])],
                test=test,
            )
        )
    return videos


def frames_in_blocks(test_blocks: list, n_frames: int) -> np.ndarray:
    """(n_frames,) True on the frames of a training set's ``test_blocks`` ([first, last] inclusive)."""
    test = np.zeros(n_frames, bool)
    for first, last in test_blocks:
        test[int(first) : int(last) + 1] = True
    return test


def _blocks(mask: np.ndarray) -> list[list[int]]:
    """The runs of True in ``mask`` as [first, last] blocks (inclusive), as training sets store them."""
    edges = np.diff(np.concatenate([[0], np.asarray(mask, int), [0]]))
    return [[int(a), int(b) - 1] for a, b in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0])]


def _keep_shared_test_frames(videos: list[StudyVideo], other: TrainingSet) -> tuple[int, int]:
    """Keep only the test frames that are test frames of ``other`` too, so that neither student of a
    pair trained on a frame it is judged on; a video ``other`` does not hold keeps its test frames.
    Blocks stay apart where they touch (windows and events never span two). Returns (kept, before)."""
    records = {Path(record["video"]).stem: record for record in other.videos}
    before = sum(int(video.test.sum()) for video in videos)
    for video in videos:
        record = records.get(video.info.path.stem)
        if record is not None:
            shared = video.test & frames_in_blocks(record.get("test_blocks", []), video.info.n_frames)
            video.test_blocks = [[first + a, first + b] for first, last in video.test_blocks
                                 for a, b in _blocks(shared[first : last + 1])]
            video.test = frames_in_blocks(video.test_blocks, video.info.n_frames)
    return sum(int(video.test.sum()) for video in videos), before


def fill_gaps(xy: np.ndarray, likelihood: np.ndarray, pcutoff: float) -> np.ndarray:
    """Replace points under ``pcutoff`` by linear interpolation between confident frames.

    Before the first and after the last confident frame the nearest confident position is held;
    a body part with no confident frame keeps its positions.
    """
    out = np.array(xy, dtype=float, copy=True)
    frames = np.arange(len(out))
    for part in range(out.shape[1]):
        good = (likelihood[:, part] >= pcutoff) & np.isfinite(out[:, part]).all(axis=1)
        if good.any() and not good.all():
            for axis in range(2):
                out[:, part, axis] = np.interp(frames, frames[good], out[good, part, axis])
    return out


def interpolate_unsure(predictions: np.ndarray, pcutoff: float) -> np.ndarray:
    """A copy of predictions (n_frames, K, 3) whose points under ``pcutoff`` are interpolated
    (:func:`fill_gaps`); the likelihoods stay as they were, so filled points still read as unsure."""
    out = np.array(predictions, dtype=float, copy=True)
    out[..., :2] = fill_gaps(out[..., :2], out[..., 2], pcutoff)
    return out


def median_filtered_leap(config, videos, destination, shuffle: int = 1, trainingsetindex: int = 0,
                         filter_windowlength: int = 5, progress: bool = True) -> dict[str, tuple]:
    """LEAP's predictions of ``videos``, raw and after ``deeplabcut.filterpredictions`` (median).

    What a DLC user does today with a single-frame network: analyze, then DLC's own median filter.
    Both h5 files go to ``destination``; returns {video path: (raw, filtered)} as (n_frames, K, 3)
    arrays in full-frame pixels. Interpolating the filtered points under pcutoff (``fill_gaps``)
    is the last step of the "LEAP + median + interpolation" baseline.
    """
    import deeplabcut

    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    paths = [str(v) for v in videos]
    scorer = analyze_videos(config, paths, shuffle=shuffle, trainingsetindex=trainingsetindex,
                            destfolder=destination, overwrite=True, model=LEAP, progress=progress)
    for path in paths:
        for old in destination.glob(f"{Path(path).stem}{scorer}_filtered*"):
            old.unlink()  # filterpredictions skips videos it filtered before, even if the raw h5 is new
    deeplabcut.filterpredictions(str(config), paths, filtertype="median", windowlength=filter_windowlength,
                                 save_as_csv=False, destfolder=str(destination),
                                 **deeplabcut_options(LEAP, shuffle, trainingsetindex))
    out = {}
    for path in paths:
        stem = Path(path).stem
        filtered_path = destination / f"{stem}{scorer}_filtered.h5"
        if not filtered_path.is_file():
            raise ProjectError(f"{filtered_path}: deeplabcut.filterpredictions wrote no filtered file for {stem}")
        raw, filtered = (pd.read_hdf(destination / name) for name in (f"{stem}{scorer}.h5", filtered_path.name))
        n_parts = raw.shape[1] // 3
        out[path] = tuple(t.to_numpy(float).reshape(len(t), n_parts, 3) for t in (raw, filtered))
    return out


def whole_video_predictions(project, students, videos, folder, shuffle, trainingsetindex, pcutoff,
                             filter_windowlength, progress, study: Study) -> list[dict]:
    """Fill ``video.predictions[method]`` (n_frames, K, 3) in full-resolution pixels for every method.

    In a pair study the two students run separately and are combined as analyze_videos combines
    them (``combine_students``); returns, per video, the bridges' reach and the points they moved.
    """
    leap = median_filtered_leap(project.config_path, [v.info.path for v in videos], folder / "leap-predictions",
                                shuffle, trainingsetindex, filter_windowlength, progress)
    bridges = []
    for video in videos:
        raw, filtered = leap[str(video.info.path)]
        video.predictions[LEAP] = raw
        video.predictions[FILTERED] = interpolate_unsure(filtered, pcutoff)
        for method in study.students[:2]:
            video.predictions[method] = predict_video(students[method], video.info, video.crop, batch_size=32,
                                                      progress=progress)
            if len(video.predictions[method]) != video.info.n_frames:
                raise ProjectError(
                    f"{video.info.path}: {len(video.predictions[method])} frames decode but the teacher has "
                    f"{video.info.n_frames} rows; re-run deeplabcut.analyze_videos on this exact video"
                )
        if study.paired:
            main, second = video.predictions[study.recurrent], video.predictions[study.second]
            combined, reach = combine_students(main, second, study.handoff, study.bridge_max_gap)
            video.predictions[TWO_STUDENTS] = combined
            bridges.append({"video": video.info.path.name, "bridge_reach_px": reach,
                            "bridged_points": bridged_points(combined, main, second, study.handoff)})
    return bridges


def _point_errors(predictions: np.ndarray, reference: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.asarray(predictions, float)[..., :2] - reference, axis=-1)


def _test_frame_table(videos: list[StudyVideo], bodyparts: list[str], pcutoff: float, study: Study) -> pd.DataFrame:
    """Figure 5: every test frame, no artificial occlusion, per body part and all parts pooled.

    References: the teacher where it is over pcutoff (the paper's ground truth), and on synthetic
    projects the true positions on visible and on naturally hidden frames.
    """
    references = {
        "teacher (confident)": lambda v: (v.teacher_xy, v.test[:, None] & (v.teacher_likelihood >= pcutoff)),
        "truth (visible)": lambda v: (v.truth_xy, v.test[:, None] & v.visible) if v.has_truth else None,
        "truth (hidden)": lambda v: (v.truth_xy, v.test[:, None] & ~v.visible) if v.has_truth else None,
    }
    rows = []
    for name, select in references.items():
        chosen = [(v, select(v)) for v in videos]
        chosen = [(v, s) for v, s in chosen if s is not None]
        if not chosen:
            continue
        for index, part in [(None, "all"), *enumerate(bodyparts)]:
            errors = {}
            for method in study.methods:
                values = []
                for video, (reference, mask) in chosen:
                    error = _point_errors(video.predictions[method], reference)
                    values.append(error[mask] if index is None else error[:, index][mask[:, index]])
                errors[method] = np.concatenate(values) if values else np.zeros(0)
            for row in compare_methods(errors, study.studied):
                rows.append({"reference": name, "bodypart": part, **row})
    return pd.DataFrame(rows)


def _artificial_occlusion(videos, runners, windows, parts, bodyparts, length, lengths, side, scale, channels,
                          pcutoff, progress, study: Study) -> pd.DataFrame:
    """Figure 6's raw errors: one row per (body part, window, occlusion length, method)."""
    rows = []
    for part in tqdm(parts, desc="artificial occlusion (body parts)", disable=not progress):
        chosen = windows[windows.part == part].reset_index(drop=True)
        if chosen.empty:
            continue
        order = chosen.sort_values(["video", "first_frame"], kind="stable").reset_index(drop=True)
        arrays, centres, targets, crops = [], [], [], []
        for video_index, group in order.groupby("video", sort=True):
            video = videos[video_index]
            needed = np.concatenate([np.arange(s, s + length) for s in group.first_frame])
            frames = dict(read_frames(video.info, video.crop, scale, channels, needed))
            reference = video.reference_xy()
            known = video.visible if video.has_truth else video.teacher_likelihood >= pcutoff
            for start in group.first_frame:
                span = np.arange(start, start + length)
                arrays.append(np.stack([frames[f] for f in span]))
                where = np.where(known[span][:, parts, None], reference[span][:, parts], np.nan)
                centres.append(to_stored_frame(where, video.crop, scale))
                targets.append(reference[start + length - 1, part])
                crops.append(video.crop)
        clean = pad_stack(arrays)
        n_windows = len(clean)
        leap_clean = runners[LEAP].frames(clean.reshape(-1, *clean.shape[2:])).reshape(n_windows, length, -1, 3)
        clean_features = {m: runners[m].features(clean) for m in study.students[:2] if runners[m].recurrent}
        for occlusion in tqdm(lengths, desc=f"{bodyparts[part]}: occlusion lengths", leave=False,
                              disable=not progress):
            occluded = np.stack([occlude_window(w, c, occlusion, side) for w, c in zip(clean, centres)])
            trace = leap_clean.copy()
            if occlusion:
                hidden = occluded[:, length - occlusion :]
                trace[:, length - occlusion :] = runners[LEAP].frames(
                    hidden.reshape(-1, *hidden.shape[2:])).reshape(n_windows, occlusion, -1, 3)
            last = {m: _last_peaks(runners[m], clean_features.get(m), occluded, occlusion)
                    for m in study.students[:2]}
            if study.paired:  # the last frame has no frame after it: the handoff alone, no bridge
                last[TWO_STUDENTS] = combine_predictions(last[study.recurrent], last[study.second], study.handoff)
            for i in range(n_windows):
                full_trace = to_full_frame(trace[i, :, part, :2], crops[i], scale)
                held = fill_gaps(full_trace[:, None], trace[i, :, part, 2][:, None], pcutoff)[-1, 0]
                estimates = {
                    LEAP: (full_trace[-1], trace[i, -1, part, 2]),
                    FILTERED_CAUSAL: (held, trace[i, -1, part, 2]),
                    **{m: (to_full_frame(peaks[i, part, :2], crops[i], scale), peaks[i, part, 2])
                       for m, peaks in last.items()},
                }
                entry = order.iloc[i]
                for method, (xy, likelihood) in estimates.items():
                    rows.append(
                        {
                            "bodypart": bodyparts[part],
                            "video": int(entry.video),
                            "first_frame": int(entry.first_frame),
                            "window": f"{int(entry.video)}:{int(entry.first_frame)}",
                            "occlusion_length": int(occlusion),
                            "method": method,
                            "error_px": float(np.hypot(*(xy - targets[i]))),
                            "likelihood": float(likelihood),
                        }
                    )
    columns = ["bodypart", "video", "first_frame", "window", "occlusion_length", "method", "error_px", "likelihood"]
    return pd.DataFrame(rows, columns=columns)


def _last_peaks(runner: Runner, clean_features: tf.Tensor | None, occluded: np.ndarray, occlusion: int) -> np.ndarray:
    """A student's peaks (N, K, 3) on the last frame of windows whose last ``occlusion`` frames are
    occluded: a recurrent student reuses the clean frames' encoder features and encodes only the
    occluded ones; a single-frame student sees the last frame alone."""
    if not runner.recurrent:
        return runner.frames(occluded[:, -1])
    features = clean_features
    if occlusion:
        tail = runner.features(occluded[:, -occlusion:])
        features = tf.concat([clean_features[:, : occluded.shape[1] - occlusion], tail], 1)
    return runner.last_from_features(features)


def _occlusion_table(raw: pd.DataFrame, lengths, study: Study) -> pd.DataFrame:
    """Figure 6: per occlusion length, per body part and pooled ("all"), mean/SEM and paired tests."""
    rows = []
    if raw.empty:
        return pd.DataFrame(rows)
    wide = raw.pivot_table(index=["occlusion_length", "bodypart", "window"], columns="method", values="error_px")
    for occlusion in lengths:
        if occlusion not in wide.index.get_level_values(0):
            continue
        at_length = wide.xs(occlusion, level="occlusion_length")
        groups = [("all", at_length), *((bp, at_length.xs(bp, level="bodypart", drop_level=False))
                                         for bp in at_length.index.get_level_values("bodypart").unique())]
        for part, table in groups:
            errors = {m: table[m].to_numpy() for m in study.occlusion_methods if m in table}
            n_parts = table.index.get_level_values("bodypart").nunique()
            for row in compare_methods(errors, study.studied):
                rows.append({"occlusion_length": int(occlusion), "bodypart": part, "n_bodyparts": n_parts, **row})
    return pd.DataFrame(rows)


def calibration_table(error_px: np.ndarray, likelihood: np.ndarray, hidden: np.ndarray, within: float = 5.0,
                      bins: int = 10) -> pd.DataFrame:
    """Does the likelihood mean something? Per likelihood bin and for visible and hidden points
    apart: how many predictions, and the fraction within ``within`` pixels of the truth.

    Well-calibrated output has that fraction rise with the likelihood, on hidden points too, so
    that pcutoff keeps right guesses of a hidden paw and drops wrong ones.
    """
    error_px, likelihood, hidden = (np.asarray(a).ravel() for a in (error_px, likelihood, hidden))
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(likelihood, edges[1:-1]), 0, bins - 1)
    rows = []
    for condition, selected in (("visible", ~hidden), ("hidden", hidden)):
        for b in range(bins):
            chosen = selected & (which == b) & np.isfinite(error_px)
            rows.append({"points": condition, "likelihood_from": edges[b], "likelihood_to": edges[b + 1],
                         "n": int(chosen.sum()),
                         f"fraction_within_{within:g}px": float((error_px[chosen] <= within).mean()) if chosen.any() else np.nan})
    return pd.DataFrame(rows)


def _truth_points(videos: list[StudyVideo], method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A method's error (px), likelihood and hidden flag on every test point with known truth, flat;
    None without a synthetic truth."""
    chosen = [v for v in videos if v.has_truth]
    if not chosen:
        return None
    error = np.concatenate([_point_errors(v.predictions[method], v.truth_xy)[v.test].ravel() for v in chosen])
    likelihood = np.concatenate([v.predictions[method][v.test, :, 2].ravel() for v in chosen])
    hidden = np.concatenate([~v.visible[v.test].ravel() for v in chosen])
    return error, likelihood, hidden


def _calibration(videos: list[StudyVideo], study: Study, within: float = 5.0) -> pd.DataFrame:
    """``calibration_table`` of every method on the test frames with known truth (synthetic projects)."""
    tables = []
    for method in study.methods if any(v.has_truth for v in videos) else ():
        table = calibration_table(*_truth_points(videos, method), within)
        table.insert(0, "method", method)
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def pcutoff_use(error_px: np.ndarray, likelihood: np.ndarray, pcutoff: float, within: float = 5.0) -> tuple[float, float]:
    """What pcutoff does to a set of guesses: the fraction of right ones (within ``within`` px) it keeps
    and the fraction of wrong ones it drops (NaN where there are none)."""
    right = np.asarray(error_px) <= within
    passing = np.asarray(likelihood) >= pcutoff
    kept = float(passing[right].mean()) if right.any() else float("nan")
    dropped = float((~passing[~right]).mean()) if (~right).any() else float("nan")
    return kept, dropped


def find_natural_events(hidden: np.ndarray, test_blocks: list, max_length: int) -> list[tuple[int, int, int]]:
    """(part, start, stop) of every run of hidden frames of at most ``max_length`` inside a test block."""
    events = []
    n_frames = len(hidden)
    for first, last in test_blocks:
        first, last = int(first), min(int(last), n_frames - 1)
        for part in range(hidden.shape[1]):
            flags = np.concatenate([[False], hidden[first : last + 1, part], [False]]).astype(int)
            edges = np.diff(flags)
            for start, stop in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0]):
                if stop - start <= max_length:
                    events.append((part, first + int(start), first + int(stop)))
    return events


def _natural_events(videos: list[StudyVideo], bodyparts: list[str], pcutoff: float, max_length: int,
                    study: Study) -> pd.DataFrame:
    """Natural occlusions in test frames: teacher under pcutoff, or hidden in the synthetic truth."""
    rows = []
    for video in videos:
        low = video.teacher_likelihood < pcutoff
        hidden = low | ~video.visible if video.has_truth else low
        for part, start, stop in find_natural_events(hidden, video.test_blocks, max_length):
            span = slice(start, stop)
            row = {
                "video": video.info.path.name,
                "video_index": video.index,
                "bodypart": bodyparts[part],
                "part": part,
                "start": start,
                "stop": stop - 1,
                "length": stop - start,
                "teacher_low_frames": int(low[span, part].sum()),
                "truly_hidden_frames": int((~video.visible[span, part]).sum()) if video.has_truth else -1,
                "occluder": "",
                "reference": "truth (hidden frames)" if video.has_truth else "none (no ground truth)",
            }
            if video.has_truth:
                codes = video.occluded_by[span, part]
                codes = codes[codes > 0]
                row["occluder"] = OCCLUDERS[int(np.bincount(codes).argmax())] if len(codes) else "none"
                truly = ~video.visible[span, part]
                for method in study.methods:
                    error = _point_errors(video.predictions[method][span, part], video.truth_xy[span, part])
                    row[f"error_px_{method}"] = float(error[truly].mean()) if truly.any() else float("nan")
            else:
                for method in study.methods:
                    row[f"error_px_{method}"] = float("nan")
            rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["truly_hidden_frames", "length"], ascending=False, kind="stable")
        table = table.reset_index(drop=True)
    return table


# ----------------------------------------------------------------------------------------------
# Summary
# ----------------------------------------------------------------------------------------------


def _summary(test_frames: pd.DataFrame, occlusion: pd.DataFrame, longest: int, has_truth: bool,
             study: Study, videos: list[StudyVideo], pcutoff: float) -> pd.DataFrame:
    """Rows = methods; errors on visible, hidden and artificially occluded frames, n and p-values, and
    on naturally hidden points what pcutoff does (right guesses kept, wrong ones dropped)."""
    studied = study.studied
    p_column = f"p_{studied}_vs_method"
    visible_reference = "truth (visible)" if has_truth else "teacher (confident)"

    def pick(table, condition, method, column):
        if table.empty:
            return float("nan")
        rows = table[condition & (table.bodypart == "all") & (table.method == method)]
        return rows[column].iloc[0] if len(rows) else float("nan")

    rows = []
    for method in study.methods:
        occluded_method = FILTERED_CAUSAL if method == FILTERED else method
        visible = test_frames.reference == visible_reference if not test_frames.empty else None
        hidden = test_frames.reference == "truth (hidden)" if not test_frames.empty else None
        at_longest = occlusion.occlusion_length == longest if not occlusion.empty else None
        points = _truth_points(videos, method)
        kept, dropped = (float("nan"), float("nan")) if points is None else \
            pcutoff_use(points[0][points[2]], points[1][points[2]], pcutoff)
        rows.append(
            {
                "method": method,
                "visible_reference": visible_reference,
                "error_visible_px": pick(test_frames, visible, method, "mean_px"),
                "n_visible": pick(test_frames, visible, method, "n"),
                "p_visible": pick(test_frames, visible, method, p_column),
                "error_hidden_px": pick(test_frames, hidden, method, "mean_px"),
                "n_hidden": pick(test_frames, hidden, method, "n"),
                "p_hidden": pick(test_frames, hidden, method, p_column),
                f"error_occluded_{longest}f_px": pick(occlusion, at_longest, occluded_method, "mean_px"),
                "n_occluded": pick(occlusion, at_longest, occluded_method, "n"),
                "p_occluded": pick(occlusion, at_longest, occluded_method, p_column),
                "hidden_right_kept": kept,
                "hidden_wrong_dropped": dropped,
                "note": (
                    f"p: paired two-tailed t-test of {studied} vs this method on the same points"
                    if method != studied
                    else "the studied method"
                )
                + ("; under artificial occlusion: the handoff alone (no frame after the last to bridge to)"
                   if method == TWO_STUDENTS else "")
                + ("; under artificial occlusion: causal gap filling (no later frame to interpolate to)"
                   if method == FILTERED else ""),
            }
        )
    return pd.DataFrame(rows).set_index("method")


def _verdict(difference: float, p: float, other: str, recurrent: str) -> str:
    """How ``recurrent`` compares with ``other`` given the mean difference (recurrent - other) and p."""
    if not np.isfinite(p):
        return f"not testable vs {other}"
    if p >= 0.05:
        return f"no significant difference from {other}"
    return f"{recurrent} better than {other}" if difference < 0 else f"{other} better than {recurrent}"


def _findings(test_frames: pd.DataFrame, occlusion: pd.DataFrame, lengths, study: Study) -> pd.DataFrame:
    """Where each method wins: per condition the ranking and the studied method's paired test vs each other."""
    recurrent = study.studied
    conditions = []
    if not test_frames.empty:
        for reference in dict.fromkeys(test_frames.reference):
            conditions.append((f"test frames vs {reference}",
                               test_frames[(test_frames.reference == reference) & (test_frames.bodypart == "all")]))
    if not occlusion.empty:
        for occlusion_length in lengths:
            pooled = occlusion[(occlusion.occlusion_length == occlusion_length) & (occlusion.bodypart == "all")]
            conditions.append((f"artificial occlusion of the last {occlusion_length} frame(s)", pooled))
    rows = []
    p_column = f"p_{recurrent}_vs_method"
    for condition, table in conditions:
        table = table.dropna(subset=["mean_px"]).sort_values("mean_px")
        if table.empty or int(table.n.max()) == 0:
            rows.append({"condition": condition, "n": 0, "best": "", "ranking": "no points"})
            continue
        row = {
            "condition": condition,
            "n": int(table.n.iloc[0]),
            "best": table.method.iloc[0],
            "ranking": " < ".join(f"{m} {v:.2f} px" for m, v in zip(table.method, table.mean_px)),
        }
        ours = table[table.method == recurrent]
        for _, other in table[table.method != recurrent].iterrows():
            key = "filter" if other.method in (FILTERED, FILTERED_CAUSAL) else other.method
            difference = float(ours.mean_px.iloc[0] - other.mean_px) if len(ours) else float("nan")
            row[f"difference_px_vs_{key}"] = difference
            row[f"p_vs_{key}"] = float(other[p_column])
            row[f"verdict_vs_{key}"] = _verdict(difference, float(other[p_column]), other.method, recurrent)
        rows.append(row)
    return pd.DataFrame(rows)


def _findings_text(findings: pd.DataFrame, summary: pd.DataFrame, windows: pd.DataFrame, side: float,
                   folder: Path, study: Study, bridges: list[dict]) -> str:
    recurrent = study.studied
    lines = [f"dlc-recurrent occlusion evaluation ({folder})", ""]
    if study.paired:
        lines += [f"Two students ({TWO_STUDENTS}): {study.second}'s points where its likelihood reaches "
                  f"{study.handoff:g}, {study.recurrent}'s elsewhere, as analyze_videos(..., confident_shuffle=...) "
                  f"combines them; runs of at most {study.bridge_max_gap} frames where {study.second} is unsure "
                  "are bridged on whole videos (reach per video: "
                  + (", ".join(f"{b['video']} {b['bridge_reach_px']:.3g} px, {b['bridged_points']} points moved"
                               for b in bridges) or "none")
                  + "; like analyze_videos, the reach is measured on the whole video); under artificial occlusion "
                  "the last frame has no frame after it, so only the handoff applies.",
                  f"Test frames: {study.test_frames[0]} of the main student's {study.test_frames[1]}, those that are "
                  "test frames of the second student's training set too.",
                  ""]
    lines.append("Where each method wins (mean distance in full-resolution px, lowest first; p: paired two-tailed "
                 f"t-test of {recurrent} vs the other method on the same points):")
    for _, row in findings.iterrows():
        if not row.n:
            lines.append(f"  - {row.condition}: no points")
            continue
        keys = [column[len("verdict_vs_"):] for column in row.index if column.startswith("verdict_vs_")]
        verdicts = [f"{row[f'verdict_vs_{key}']} (p={row[f'p_vs_{key}']:.3g})" for key in keys
                    if isinstance(row.get(f"verdict_vs_{key}"), str)]
        lines.append(f"  - {row.condition} (n={row.n}): {row.ranking}; " + "; ".join(verdicts))
    counts = windows.groupby("bodypart").size() if not windows.empty else pd.Series(dtype=int)
    lines += [
        "",
        f"Artificial occlusion rests on {len(windows)} (window, body part) pairs over {len(counts)} body parts "
        f"({', '.join(f'{bp}: {n}' for bp, n in counts.items()) or 'none'}); {side:g} px squares centred on "
        "the ground truth reveal where the part is, so they only reproduce the paper's Figure 6.",
        "Claims about occlusion robustness should rest on naturally hidden frames with known truth "
        "('truth (hidden)', synthetic projects only). p-values treat points as independent; consecutive "
        "frames are not, so they are optimistic.",
        "",
        f"Summary (p: {recurrent} vs the row's method; hidden_right_kept / hidden_wrong_dropped: on naturally "
        "hidden points, the fraction of right guesses (within 5 px) that pass pcutoff and of wrong ones that "
        "fail it; per likelihood bin in calibration.csv and calibration.png):",
        summary.drop(columns=["note"]).to_string(float_format=lambda v: f"{v:.3g}"),
    ]
    return "\n".join(lines) + "\n"


def _pair_study(model: str, shuffle: int, second_model: str, second_shuffle: int, handoff: float,
                bridge_max_gap: int | None) -> Study:
    """The study of two students: each named with its shuffle, the pair combined as analyze_videos does."""
    main, second = f"{model}_shuffle{shuffle}", f"{second_model}_shuffle{second_shuffle}"
    return Study(recurrent=main, second=second, handoff=float(handoff),
                  bridge_max_gap=BRIDGE_MAX_GAP if bridge_max_gap is None else int(bridge_max_gap),
                  colors={main: COLORS[model], second: "tab:cyan"})


def evaluate_occlusion(
    config: str | Path,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    n_windows: int = 50,
    occluder_size: float = 20,
    max_occlusion: int = 10,
    bodyparts: list[str] | None = None,
    seed: int = DEFAULT_SEED,
    pcutoff: float | None = None,
    filter_windowlength: int = 5,
    n_events: int = 3,
    max_event_length: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
    model: str = RECURRENT,
    confident_shuffle: int | None = None,
    confident_model: str | None = None,
    handoff: float = HANDOFF_LIKELIHOOD,
    bridge_max_gap: int | None = None,
) -> dict:
    """The seed paper's occlusion study, generalised to any single-animal DLC project.

    Needs ``leap`` and the recurrent student ``model`` (``convlstm_leap``, the paper's, or
    ``bidirectional_leap``) trained on this shuffle's training set; only its test frames
    (``test_blocks``) are used. Compared methods: ``leap``, ``leap+median filter+interpolation``
    (LEAP analysed with ``dlc_recurrent.infer.analyze_videos`` into the evaluation folder, the real
    ``deeplabcut.filterpredictions(filtertype="median", windowlength=filter_windowlength)``, then
    points under pcutoff filled by linear interpolation) and ``model`` (``predict_video``;
    on the artificially occluded windows the bidirectional student has no frame after the last).

    * Figure 5 (``test_frames``): every frame of the test blocks (the frames the test windows are
      drawn from; whole-video predictions, so the recurrent student has its streaming context), no
      artificial occlusion; mean distance per body part against the teacher where confident (the paper's ground truth) and, on synthetic
      projects, against the true positions on visible and on naturally hidden frames; paired
      two-tailed t-tests of ``model`` vs each method.
    * Figure 6 (``occlusion``): up to ``n_windows`` test windows of window_length frames PER BODY
      PART, drawn with ``seed`` (independent of training) among the windows where the teacher is
      over pcutoff on that part on every frame (and, on synthetic projects, the part is visible);
      every method sees the same windows. For lengths 0..max_occlusion (at most window_length) a
      black square (``occluder_size`` full-resolution px, scaled with the training set) is centred
      on the ground truth of every studied body part (``bodyparts``, default all) known on each of
      the last k frames; the error of the window's part is taken on the last frame. Ground truth:
      the synthetic truth where it exists, else the teacher. The centred square reveals the
      part's position (see the module notes): this reproduces the paper's Figure 6 only.
    * Figures 2 and 3 (``natural_events``): runs of up to ``max_event_length`` (default 2 x
      window_length) test frames where the teacher drops under pcutoff or (synthetic) the part is
      hidden; the ``n_events`` with most truly hidden frames are plotted frame by frame.
    * Calibration (``calibration``, synthetic projects): per method, for visible and for naturally
      hidden test points, the fraction within 5 px of the truth per likelihood bin; the summary says
      what pcutoff does on hidden points (right guesses kept, wrong ones dropped).

    Two students (``confident_shuffle``, ``confident_model``, ``handoff``, ``bridge_max_gap``: as in
    ``analyze_videos``): the study adds the second student alone (``<model>_shuffle<N>``) and the two
    combined (``two_students``, the reference of every paired test); the main student is named
    ``<model>_shuffle<shuffle>``. Only frames that are test frames of both students' training sets are
    used. On whole videos the pair is combined exactly as analyze_videos combines it (handoff and
    bridges); under artificial occlusion the last frame has no frame after it, so only the handoff.

    Writes CSVs, PNGs and ``summary.txt`` into ``evaluation_folder(...)`` (a study of another
    ``model`` than convlstm_leap into its subfolder ``<model>``, a pair study into a further subfolder
    ``two_students_shuffle<N>_<confident model>``); returns a dict of
    DataFrames (``test_frames``, ``occlusion``, ``occlusion_windows``, ``occlusion_errors``,
    ``natural_events``, ``summary``, ``findings``, ``calibration``; a pair study also ``bridges``: per video the
    bridges' reach and the points they moved) plus ``figures`` (name -> path) and ``folder``.
    """
    if model not in models.MODEL_KINDS or model == LEAP:
        recurrent_kinds = [kind for kind in models.MODEL_KINDS if kind != LEAP]
        raise ValueError(f"model must be a recurrent student, one of {recurrent_kinds}, got {model!r}")
    project = load_project(config)
    trainset = load_trainset(project, shuffle, trainingsetindex)
    pcutoff = project.pcutoff if pcutoff is None else float(pcutoff)
    names = trainset.bodyparts
    bodyparts = list(names) if bodyparts is None else list(bodyparts)
    unknown = [bp for bp in bodyparts if bp not in names]
    if unknown:
        raise ProjectError(f"{project.config_path}: body parts {unknown} are not in the project's {names}")
    if not any(record.get("test_blocks") for record in trainset.videos):
        raise ProjectError(
            f"{trainset.folder}: the training set has no test frames (TrainingFraction 1?); rebuild it with "
            "test blocks (TrainingFraction < 1) to evaluate occlusion"
        )
    students = load_students(project, shuffle, trainingsetindex, (LEAP, model))
    study = Study(recurrent=model)
    second = load_confident(project, students[model], shuffle, trainingsetindex, model, None, confident_shuffle,
                             confident_model, handoff, bridge_max_gap)
    if second is not None:
        study = _pair_study(model, shuffle, second.config.model, confident_shuffle, handoff, bridge_max_gap)
        students = {LEAP: students[LEAP], study.recurrent: students[model], study.second: second}
        second_trainset = load_trainset(project, confident_shuffle, trainingsetindex)
    length = trainset.window_length
    lengths = list(range(0, min(int(max_occlusion), length) + 1))
    if max_occlusion > length:
        logger.warning(f"max_occlusion={max_occlusion} capped at the window length ({length} frames).")
    scale = trainset.spec.scale
    side = occluder_side(occluder_size, scale)
    folder = evaluation_folder(project, shuffle, trainingsetindex)
    if model != RECURRENT:
        folder = folder / model
    if study.paired:
        folder = folder / f"two_students_shuffle{confident_shuffle}_{second.config.model}"

    videos = _load_videos(project, trainset)
    if study.paired:
        kept, before = _keep_shared_test_frames(videos, second_trainset)
        if not kept:
            raise ProjectError(
                f"{second_trainset.folder}: the two students' training sets share no test frames, so one of them "
                f"trained on every frame it would be judged on; build shuffle {confident_shuffle}'s training set "
                f"with the same window_length and seed as shuffle {shuffle}'s")
        study = replace(study, test_frames=(kept, before))
    folder.mkdir(parents=True, exist_ok=True)
    bridges = whole_video_predictions(project, students, videos, folder, shuffle, trainingsetindex, pcutoff,
                                       filter_windowlength, progress, study)
    has_truth = any(v.has_truth for v in videos)
    test_frames = _test_frame_table(videos, names, pcutoff, study)

    parts = [names.index(bp) for bp in bodyparts]
    confident = [
        (v.teacher_likelihood >= pcutoff) & (v.visible if v.has_truth else True) for v in videos
    ]
    windows = select_occlusion_windows(confident, [v.test_blocks for v in videos], length, n_windows, parts, names,
                                       seed)
    windows.insert(3, "video_name", [videos[i].info.path.name for i in windows.video])
    runners = {kind: Runner(student, batch_size) for kind, student in students.items()}
    raw = _artificial_occlusion(videos, runners, windows, parts, names, length, lengths, side, scale,
                                trainset.channels, pcutoff, progress, study)
    occlusion = _occlusion_table(raw, lengths, study)

    events = _natural_events(videos, names, pcutoff, max_event_length or 2 * length, study)

    summary = _summary(test_frames, occlusion, lengths[-1], has_truth, study, videos, pcutoff)
    calibration = _calibration(videos, study)
    findings = _findings(test_frames, occlusion, lengths, study)

    figures = {}
    figures["fig5_test_frames"] = plot_test_frames(test_frames, folder / "fig5_test_frames.png", study)
    figures["fig6_artificial_occlusion"] = plot_occlusion(occlusion, windows, occluder_size, length,
                                                           folder / "fig6_artificial_occlusion.png", study)
    figures["calibration"] = plot_calibration(calibration, pcutoff, folder / "calibration.png", study)
    for old in folder.glob("fig2_3_natural_occlusion_*.png"):
        old.unlink()
    for number, (_, event) in enumerate(_pick_events(events, n_events).iterrows(), start=1):
        name = f"fig2_3_natural_occlusion_{number}_{event.bodypart}_{Path(event.video).stem}_{event.start}.png"
        figures[name[:-4]] = plot_event(videos[int(event.video_index)], event, trainset.channels, pcutoff,
                                         folder / name, study)
    figures = {k: v for k, v in figures.items() if v is not None}

    tables = {
        "test_frames": test_frames,
        "occlusion": occlusion,
        "occlusion_windows": windows,
        "occlusion_errors": raw,
        "natural_events": events,
        "summary": summary,
        "findings": findings,
        "calibration": calibration,
    }
    if study.paired:
        tables["bridges"] = pd.DataFrame(bridges, columns=["video", "bridge_reach_px", "bridged_points"])
    for name, table in tables.items():
        atomic_csv(table, folder / f"{name}.csv", index=name == "summary")
    text = _findings_text(findings, summary, windows, occluder_size, folder, study, bridges)
    atomic_write(folder / "summary.txt", lambda tmp: Path(tmp).write_text(text))
    logger.info(text)
    return {**tables, "figures": figures, "folder": folder}


def _pick_events(events: pd.DataFrame, count: int) -> pd.DataFrame:
    """The ``count`` events to plot: most truly hidden frames first, different body parts first."""
    if events.empty or count <= 0:
        return events.iloc[:0]
    chosen, seen = [], set()
    for index, event in events.iterrows():
        if event.bodypart not in seen:
            chosen.append(index)
            seen.add(event.bodypart)
        if len(chosen) == count:
            break
    for index in events.index:
        if len(chosen) == count:
            break
        if index not in chosen:
            chosen.append(index)
    return events.loc[chosen]

__all__ = [
    "evaluate_occlusion",
    "occlude_window",
    "occluder_side",
    "select_occlusion_windows",
    "fill_gaps",
    "interpolate_unsure",
    "median_filtered_leap",
    "frames_in_blocks",
    "calibration_table",
    "pcutoff_use",
    "find_natural_events",
    "METHODS",
    "OCCLUSION_METHODS",
    "TWO_STUDENTS",
    "DEFAULT_SEED",
]
