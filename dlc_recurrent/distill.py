"""Build the student's training set: windows of consecutive frames labelled by the teacher.

For each video, windows of ``window_length`` frames are sampled (seeded) inside contiguous blocks
of the timeline, and whole blocks are assigned to train or test, so no test frame ever sits in a
training window. Every frame of a window gets the teacher's points as targets, and a hand label on
that frame replaces the teacher. A point under the project's pcutoff is masked out of the loss,
unless it lies in a run of at most ``max_gap_fill`` such frames between confident ones: those are
interpolated (``max_gap_fill=0`` masks them all, as the paper did).
Frames are read once, cropped (and optionally scaled), and stored as uint8 ``.npy`` files that
training memory-maps; confidence maps are rendered during training, never stored.

Layout of a training set folder::

    trainingset.yaml            what it was built from and with (TrainingSetSpec + summary)
    windows.csv                 one row per window: video, first_row, first_frame, split
    video000_frames.npy         (rows, height, width, channels) uint8, the frames windows use
    video000_targets.npz        frame (rows,), xy (rows, K, 2), weight (rows, K), source (rows, K)
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import os
import shutil
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from ruamel.yaml import YAML
from tqdm import tqdm

from dlc_recurrent.locks import describe_holder, is_stale, try_lock
from dlc_recurrent.project import (
    Crop,
    Project,
    ProjectError,
    TeacherPredictions,
    VideoInfo,
    check_free_space,
    dlc_teacher_scorer,
    explain_full_disk,
    find_teacher,
    load_project,
    read_hand_labels,
    read_teacher,
    read_teacher_for_video,
    read_video_info,
    video_crop,
    glob_escape,
    is_full_disk,
)

logger = logging.getLogger(__name__)

#: Folder (inside the DLC project) that holds everything this package writes; also its modelprefix.
PACKAGE_FOLDER = "dlc-recurrent"
#: Values of the per-point ``source`` array in the targets.
MASKED, TEACHER, HAND_LABEL, GAP_FILLED = 0, 1, 2, 3
#: Seeking is cheaper than decoding when the next needed frame is further ahead than this.
SEEK_GAP = 250


@dataclass
class TrainingSetSpec:
    """How a training set is sampled; the defaults are the seed paper's recipe except ``max_gap_fill``."""

    window_length: int = 15
    windows_per_video: int = 250
    block_length: int = 0
    scale: float = 1.0
    seed: int = 0
    include_hand_labeled: bool = True
    teacher_scorer: str | None = None
    #: Fill teacher gaps of at most this many frames (under pcutoff, between confident frames) by
    #: linear interpolation instead of masking them, so briefly hidden points get a target. 0: off
    #: (the paper). 12 halved the error on hidden points in benchmarks/occlusion_benchmark.py.
    max_gap_fill: int = 12

    def resolved_block_length(self) -> int:
        """Blocks of the timeline that go to train or test whole (default: 4 windows long)."""
        return self.block_length or 4 * self.window_length

    def validate(self) -> None:
        if self.window_length < 1:
            raise ValueError(f"window_length must be >= 1, got {self.window_length}")
        if self.windows_per_video < 1:
            raise ValueError(f"windows_per_video must be >= 1, got {self.windows_per_video}")
        if self.resolved_block_length() < self.window_length:
            raise ValueError(
                f"block_length ({self.block_length}) must be at least window_length ({self.window_length})"
            )
        if self.max_gap_fill < 0:
            raise ValueError(f"max_gap_fill must be >= 0 frames, got {self.max_gap_fill}")
        if not 0 < self.scale <= 4:
            raise ValueError(f"scale must be in (0, 4], got {self.scale}")


@dataclass
class VideoTargets:
    """Targets of one video on its stored rows (a subset of its frames, in increasing order)."""

    frame: np.ndarray
    xy: np.ndarray
    weight: np.ndarray
    source: np.ndarray


@dataclass
class TrainingSet:
    """A built training set, with its frames memory-mapped (nothing large is loaded)."""

    folder: Path
    spec: TrainingSetSpec
    bodyparts: list[str]
    channels: int
    videos: list[dict]
    windows: pd.DataFrame
    frames: list[np.ndarray] = field(repr=False)
    targets: list[VideoTargets] = field(repr=False)

    @property
    def window_length(self) -> int:
        return self.spec.window_length

    def split(self, name: str) -> pd.DataFrame:
        return self.windows[self.windows.split == name].reset_index(drop=True)

    def max_frame_shape(self) -> tuple[int, int]:
        """Height and width every batch is padded to: the largest stored frame, up to a multiple of 4."""
        height = max(f.shape[1] for f in self.frames)
        width = max(f.shape[2] for f in self.frames)
        return -(-height // 4) * 4, -(-width // 4) * 4

    def window(self, row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frames (T, H, W, C) uint8, target xy (T, K, 2) and weights (T, K) of window ``row``."""
        entry = self.windows.iloc[row]
        video, first = int(entry.video), int(entry.first_row)
        rows = slice(first, first + self.window_length)
        targets = self.targets[video]
        return np.asarray(self.frames[video][rows]), targets.xy[rows], targets.weight[rows]


def training_set_folder(project: Project, shuffle: int = 1, trainingsetindex: int = 0) -> Path:
    """``<project>/dlc-recurrent/training-sets/iteration-<i>/<Task><date>-trainset<pct>shuffle<N>``."""
    fraction = training_fraction(project, trainingsetindex)
    name = f"{project.task}{project.date}-trainset{int(fraction * 100)}shuffle{shuffle}"
    return project.project_path / PACKAGE_FOLDER / "training-sets" / f"iteration-{project.iteration}" / name


def training_fraction(project: Project, trainingsetindex: int) -> float:
    try:
        return project.training_fraction[trainingsetindex]
    except IndexError:
        raise ProjectError(
            f"{project.config_path}: trainingsetindex={trainingsetindex} but TrainingFraction has "
            f"{len(project.training_fraction)} entries; pass an index into {project.training_fraction}"
        ) from None


def create_training_set(
    config: str | Path,
    shuffle: int = 1,
    trainingsetindex: int = 0,
    videos: list[str | Path] | None = None,
    window_length: int = 15,
    windows_per_video: int = 250,
    scale: float = 1.0,
    teacher_scorer: str | None = None,
    teacher_folder: str | Path | None = None,
    seed: int = 0,
    overwrite: bool = False,
    teacher_shuffle: int | None = None,
    teacher_snapshot_index: int | None = None,
    **spec_options,
) -> Path:
    """Sample teacher-labelled windows from the project's videos and store them; returns the folder.

    ``shuffle`` numbers this package's training set, not a DLC network. The teacher is the
    ``<video stem>DLC*.h5`` next to each video (or in ``teacher_folder``); when several are there,
    name it by ``teacher_scorer`` or by the DLC shuffle (and snapshot) that wrote it:
    ``teacher_shuffle``, ``teacher_snapshot_index``, with this call's ``trainingsetindex``.
    Re-running with the same arguments is a no-op; different arguments, or inputs changed since
    (teacher or hand-label files, pcutoff, body parts, crops), need ``overwrite=True``.
    Nothing is left behind when it fails: the set is built in a temporary folder and renamed.
    """
    project = load_project(config)
    if teacher_shuffle is not None:
        if teacher_scorer is not None:
            raise ValueError("give the teacher by teacher_scorer or by teacher_shuffle, not both")
        teacher_scorer = dlc_teacher_scorer(project, teacher_shuffle, trainingsetindex, teacher_snapshot_index)
        logger.info(f"Teacher: DLC shuffle {teacher_shuffle}, scorer {teacher_scorer}")
    elif teacher_snapshot_index is not None:
        raise ValueError("teacher_snapshot_index needs teacher_shuffle (the DLC shuffle it belongs to)")
    spec = TrainingSetSpec(
        window_length=window_length,
        windows_per_video=windows_per_video,
        scale=scale,
        seed=seed,
        teacher_scorer=teacher_scorer,
        **spec_options,
    )
    spec.validate()
    fraction = training_fraction(project, trainingsetindex)
    videos = [Path(v) for v in (videos if videos is not None else project.videos)]
    if not videos:
        raise ProjectError(f"{project.config_path}: no videos in video_sets; add them with deeplabcut.add_new_videos")
    folder = training_set_folder(project, shuffle, trainingsetindex)
    request = _request_record(spec, videos, fraction, shuffle)
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = try_lock(builder_lock_path(folder))
    if lock is None:
        raise ProjectError(f"{folder}: {describe_holder(builder_lock_path(folder))} is building this training set; "
                           "let it finish (or stop it), then rerun: the same settings are then a no-op")
    with lock:
        return _create_locked(project, spec, videos, fraction, folder, request, teacher_folder, overwrite)


def _create_locked(project: Project, spec: TrainingSetSpec, videos: list[Path], fraction: float, folder: Path,
                   request: dict, teacher_folder, overwrite: bool) -> Path:
    if (folder / "trainingset.yaml").is_file() and overwrite:
        for lock in live_trainer_locks(folder):
            raise ProjectError(f"{folder}: {describe_holder(lock)} is training a student on it; let it finish "
                               "(or stop it) before rebuilding the set")
    if (folder / "trainingset.yaml").is_file() and not overwrite:
        differences = _request_differences(_saved_request(folder), request)
        if differences:
            raise ProjectError(
                f"{folder}: a training set built with other settings exists ({differences}); pass the same "
                "settings (or another shuffle), or overwrite=True to replace it"
            )
        changed = _changed_inputs(_read_yaml(folder / "trainingset.yaml").get("inputs"),
                                  _inputs_record(project, spec, videos, teacher_folder))
        if changed:
            raise ProjectError(f"{folder}: built from other inputs ({changed}); pass overwrite=True to rebuild it "
                               "from the current ones (and train again)")
        logger.info(f"Training set {folder} already exists with these settings; nothing to do.")
        return folder

    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        summary = _build(project, spec, videos, fraction, teacher_folder, partial)
        _write_yaml(partial / "trainingset.yaml", {"request": request, **summary})
        for lock in live_trainer_locks(folder):  # one may have started on the old set during the build
            raise ProjectError(f"{folder}: {describe_holder(lock)} started training a student on it while it was "
                               "rebuilt; the old set is kept: rerun this when that training has finished")
        _replace_folder(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    n_train = sum(v["train_windows"] for v in summary["videos"])
    n_test = sum(v["test_windows"] for v in summary["videos"])
    logger.info(f"Training set: {n_train} train and {n_test} test windows of {spec.window_length} frames in {folder}")
    return folder


def trainer_lock_path(folder: Path, model: str) -> Path:
    """The lock a training run of ``model`` holds on the training set in ``folder``: a second run of
    the same student waits its turn, and create_training_set does not replace a set in use."""
    return folder.with_name(f"{folder.name}.training-{model}.lock")


def builder_lock_path(folder: Path) -> Path:
    """The lock create_training_set holds while it checks, builds or replaces the set in ``folder``:
    two builds of one set would share (and delete) one ``.partial`` folder."""
    return folder.with_name(f"{folder.name}.building.lock")


def live_trainer_locks(folder: Path) -> list[Path]:
    """The locks of training runs (of any student) still going on the training set in ``folder``."""
    pattern = trainer_lock_path(folder.with_name(glob_escape(folder.name)), "*").name
    return [lock for lock in folder.parent.glob(pattern) if not is_stale(lock)]


#: Spec fields added after the first training sets were written, with the value that reproduces
#: what those sets were built with (not necessarily today's default).
ADDED_LATER = {"max_gap_fill": 0}


def _saved_spec(spec: dict) -> dict:
    """A stored spec with every field: later-added ones as the sets before them were built."""
    known = {f.name for f in fields(TrainingSetSpec)}
    return {**asdict(TrainingSetSpec()), **ADDED_LATER, **{k: v for k, v in spec.items() if k in known}}


def _saved_request(folder: Path) -> dict | None:
    """The request a training set was built with (see :func:`_saved_spec`)."""
    saved = _read_yaml(folder / "trainingset.yaml").get("request")
    if saved and "spec" in saved:
        saved["spec"] = _saved_spec(saved["spec"])
    return saved


def built_with(project: Project, shuffle: int = 1, trainingsetindex: int = 0) -> dict | None:
    """The TrainingSetSpec fields (a dict) the shuffle's training set was built with; None if there is none."""
    folder = training_set_folder(project, shuffle, trainingsetindex)
    if not (folder / "trainingset.yaml").is_file():
        return None
    saved = _saved_request(folder)
    return saved["spec"] if saved and "spec" in saved else None


def _request_differences(saved: dict | None, request: dict) -> str:
    """What differs between the request a set was built with and this one, in words ("" if nothing).

    Videos are named, since deeplabcut's own tools (extract_outlier_frames) add analyzed videos to
    config.yaml's video_sets, which changes what a rerun with ``videos=None`` would sample.
    """
    if not saved:
        return "no record of its settings"
    said = []
    saved_spec, spec = saved.get("spec", {}), request["spec"]
    said += [f"{k}={saved_spec.get(k)!r} then, {spec[k]!r} now" for k in spec if saved_spec.get(k) != spec[k]]
    before, now = saved.get("videos", []), request["videos"]
    added = [Path(v).name for v in now if v not in before]
    dropped = [Path(v).name for v in before if v not in now]
    if added:
        said.append(f"videos not in it: {', '.join(added)} (pass videos=[...] to keep its own)")
    if dropped:
        said.append(f"videos now missing: {', '.join(dropped)}")
    said += [f"{k}={saved.get(k)!r} then, {request[k]!r} now" for k in ("training_fraction", "shuffle")
             if saved.get(k) != request[k]]
    return "; ".join(said)


def _request_record(spec: TrainingSetSpec, videos: list[Path], fraction: float, shuffle: int) -> dict:
    return {
        "spec": asdict(spec),
        "videos": [str(v.resolve()) for v in videos],
        "training_fraction": fraction,
        "shuffle": shuffle,
    }


def _inputs_record(project: Project, spec: TrainingSetSpec, videos: list[Path], teacher_folder) -> dict:
    """The inputs of a rerun, read now, to compare with those a build recorded (see :func:`_video_inputs`)."""
    per_video = {}
    for video in videos:
        try:
            teacher = read_teacher(find_teacher(video, spec.teacher_scorer, teacher_folder), project.bodyparts)
        except ProjectError:  # gone or ambiguous now: reported as changed; a rebuild says why
            teacher = None
        per_video[video] = _video_inputs(project, video, teacher, read_hand_labels(project, video))
    return _inputs(project, per_video)


def _inputs(project: Project, per_video: dict) -> dict:
    """What the targets are made of besides the settings: pcutoff, body parts and each video's inputs."""
    record = {"pcutoff": float(project.pcutoff), "bodyparts": list(project.bodyparts)}
    return {**record, **{str(Path(video).resolve()): entry for video, entry in per_video.items()}}


def _video_inputs(project: Project, video: Path, teacher: TeacherPredictions | None,
                  labels: pd.DataFrame | None) -> dict:
    """A video's crop, and digests of its teacher's and hand labels' values (not of the files, which
    change on a mere re-save), so a rerun notices refined labels."""
    crop = project.crop_for(video)
    return {
        "crop": None if crop is None else [crop.x1, crop.x2, crop.y1, crop.y2],
        "teacher": None if teacher is None else _digest(teacher.xy, teacher.likelihood),
        "hand labels": None if labels is None else _digest(labels.index.to_numpy(), labels.to_numpy(float)),
    }


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array, dtype=np.float64).tobytes())
    return digest.hexdigest()


def _changed_inputs(saved: dict | None, current: dict) -> str:
    """The inputs that differ, in words; empty when they match (or the set predates this record)."""
    if saved is None:
        return ""
    changed = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key), current.get(key)
        if old == new:
            continue
        if key in ("pcutoff", "bodyparts") or old is None or new is None:
            changed.append(Path(key).name)
        else:
            parts = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
            changed.append(f"{Path(key).name}'s " + " and ".join(parts))
    return "; ".join(changed) + " changed" if changed else ""


def _build(
    project: Project,
    spec: TrainingSetSpec,
    videos: list[Path],
    fraction: float,
    teacher_folder: str | Path | None,
    out: Path,
) -> dict:
    """Sample, read and store every video's windows into ``out``; return the summary record."""
    rng = np.random.default_rng(spec.seed)
    prepared = [_prepare_video(project, spec, video, teacher_folder) for video in videos]
    channels = 1 if all(p["grayscale"] for p in prepared) else 3

    set_bytes = sum(_stored_bytes(item, spec, channels) for item in prepared)
    check_free_space(out.parent, set_bytes, "the training set")
    window_tables, video_records = [], []
    with explain_full_disk(out.parent, set_bytes, "create_training_set"):
        for index, item in enumerate(prepared):
            info, targets = item["info"], item["targets"]
            starts, splits = sample_windows(targets.weight, spec, fraction, item["hand_frames"], rng)
            if not len(starts):
                raise ProjectError(
                    f"{info.path}: no window of {spec.window_length} frames has a confident teacher point; "
                    "check the teacher's likelihoods against pcutoff or lower window_length"
                )
            needed = np.unique((starts[:, None] + np.arange(spec.window_length)).ravel())
            frames_path = out / f"video{index:03d}_frames.npy"
            _store_frames(info, item["crop"], spec.scale, channels, needed, frames_path)
            stored = VideoTargets(
                frame=needed,
                xy=targets.xy[needed].astype(np.float32),
                weight=targets.weight[needed].astype(np.float32),
                source=targets.source[needed],
            )
            np.savez(out / f"video{index:03d}_targets.npz", **asdict(stored))
            window_tables.append(
                pd.DataFrame(
                    {
                        "video": index,
                        "first_row": np.searchsorted(needed, starts),
                        "first_frame": starts,
                        "split": splits,
                    }
                )
            )
            video_records.append(
                {
                    "video": str(info.path),
                    "teacher": str(item["teacher"].path),
                    "teacher_scorer": item["teacher"].scorer,
                    "n_frames": info.n_frames,
                    "fps": info.fps,
                    "frame_size": [info.width, info.height],
                    "crop": [item["crop"].x1, item["crop"].x2, item["crop"].y1, item["crop"].y2],
                    "stored_size": [_scaled(item["crop"].width, spec.scale), _scaled(item["crop"].height, spec.scale)],
                    "train_windows": int(np.sum(splits == "train")),
                    "test_windows": int(np.sum(splits == "test")),
                    "test_blocks": _test_blocks(info.n_frames, spec, splits, starts),
                    "hand_labeled_frames": int(len(item["hand_frames"])),
                    "masked_fraction": float(1 - stored.weight.mean()),
                }
            )

        windows = pd.concat(window_tables, ignore_index=True)
        if not (windows.split == "train").any():
            raise ProjectError(
                f"{project.config_path}: no training windows could be sampled; use longer videos, "
                "more videos, or a smaller window_length"
            )
        windows.to_csv(out / "windows.csv", index=False)
    return {
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "config": str(project.config_path),
        "bodyparts": project.bodyparts,
        "pcutoff": project.pcutoff,
        "channels": channels,
        "videos": video_records,
        "inputs": _inputs(project, {video: item["inputs"] for video, item in zip(videos, prepared)}),
    }


def _stored_bytes(item: dict, spec: TrainingSetSpec, channels: int) -> int:
    """At most how many bytes one video's stored frames and targets take (before the windows are drawn)."""
    rows = min(item["info"].n_frames, (spec.windows_per_video + len(item["hand_frames"])) * spec.window_length)
    frame = _scaled(item["crop"].width, spec.scale) * _scaled(item["crop"].height, spec.scale) * channels
    return rows * (frame + 4 * item["targets"].xy.shape[1] * 4)


def _prepare_video(project: Project, spec: TrainingSetSpec, video: Path, teacher_folder) -> dict:
    """Check one video and combine its teacher and hand labels into per-frame targets."""
    info = read_video_info(video)
    crop = video_crop(project, info)
    teacher, info = read_teacher_for_video(
        find_teacher(info.path, spec.teacher_scorer, teacher_folder), project.bodyparts, info
    )
    if info.n_frames < spec.window_length:
        raise ProjectError(
            f"{info.path}: {info.n_frames} frames is shorter than window_length={spec.window_length}; "
            "use a longer video or a smaller window_length"
        )
    labels = read_hand_labels(project, info.path)
    targets = combine_targets(teacher.xy, teacher.likelihood, project.pcutoff, labels, spec.max_gap_fill)
    targets = to_stored_coordinates(targets, crop, spec.scale)
    hand_frames = np.array([] if labels is None else labels.index[labels.index < info.n_frames], dtype=int)
    return {
        "info": info,
        "crop": crop,
        "teacher": teacher,
        "targets": targets,
        "hand_frames": hand_frames,
        "grayscale": _is_grayscale(info.path),
        "inputs": _video_inputs(project, video, teacher, labels),
    }


def combine_targets(
    teacher_xy: np.ndarray,
    teacher_likelihood: np.ndarray,
    pcutoff: float,
    hand_labels: pd.DataFrame | None,
    max_gap_fill: int = 0,
) -> VideoTargets:
    """Per-frame targets: the teacher above pcutoff, replaced by hand labels where they exist.

    With ``max_gap_fill`` > 0, runs of at most that many unsure frames between two confident
    frames get the linear interpolation of the teacher's positions (source GAP_FILLED).
    A hand-labelled frame trusts the labeller entirely: a point the labeller left empty (NaN,
    usually because it was not visible) is masked even when the teacher was confident.
    """
    n_frames, n_parts = teacher_likelihood.shape
    xy = np.nan_to_num(teacher_xy.astype(np.float64), nan=-1.0)
    confident = (teacher_likelihood >= pcutoff) & ~np.isnan(teacher_xy).any(axis=2)
    source = np.where(confident, TEACHER, MASKED).astype(np.int8)
    frames = np.arange(n_frames)
    for part in range(n_parts):
        gaps = short_gaps(confident[:, part], max_gap_fill)
        if gaps.any():
            for axis in range(2):
                xy[gaps, part, axis] = np.interp(frames[gaps], frames[confident[:, part]], xy[confident[:, part], part, axis])
            source[gaps, part] = GAP_FILLED
    if hand_labels is not None:
        labelled = hand_labels[hand_labels.index < n_frames]
        frames = labelled.index.to_numpy()
        label_xy = labelled.to_numpy(float).reshape(len(labelled), n_parts, 2)
        present = ~np.isnan(label_xy).any(axis=2)
        xy[frames] = np.where(present[..., None], label_xy, -1.0)
        source[frames] = np.where(present, HAND_LABEL, MASKED)
    return VideoTargets(
        frame=np.arange(n_frames),
        xy=xy,
        weight=(source != MASKED).astype(np.float32),
        source=source,
    )


def short_gaps(confident: np.ndarray, max_gap: int) -> np.ndarray:
    """Frames in runs of at most ``max_gap`` non-confident frames with a confident frame on each side."""
    gaps = np.zeros(len(confident), bool)
    if max_gap <= 0:
        return gaps
    edges = np.diff(np.concatenate([[1], confident.astype(np.int8), [1]]))
    for start, stop in zip(np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)):
        if 0 < start and stop < len(confident) and stop - start <= max_gap:
            gaps[start:stop] = True
    return gaps


def to_stored_coordinates(targets: VideoTargets, crop: Crop, scale: float) -> VideoTargets:
    """Move targets into the cropped, scaled frame; points that fall outside it are masked."""
    xy = to_stored_frame(targets.xy, crop, scale)
    width, height = _scaled(crop.width, scale), _scaled(crop.height, scale)
    inside = (xy[..., 0] >= -0.5) & (xy[..., 0] <= width - 0.5) & (xy[..., 1] >= -0.5) & (xy[..., 1] <= height - 0.5)
    source = np.where(inside, targets.source, MASKED).astype(np.int8)
    return VideoTargets(frame=targets.frame, xy=xy, weight=(source != MASKED).astype(np.float32), source=source)


def to_full_frame(xy: np.ndarray, crop: Crop, scale: float) -> np.ndarray:
    """Stored (cropped, scaled) pixel coordinates (..., 2) -> the video's full-frame pixels (a copy)."""
    scale_x, scale_y = axis_scales(crop, scale)
    out = np.array(xy, dtype=np.float64, copy=True)
    out[..., 0] = from_scaled(out[..., 0], scale_x) + crop.x1
    out[..., 1] = from_scaled(out[..., 1], scale_y) + crop.y1
    return out


def to_stored_frame(xy: np.ndarray, crop: Crop, scale: float) -> np.ndarray:
    """Full-frame pixel coordinates (..., 2) -> stored (cropped, scaled) pixels (a copy)."""
    scale_x, scale_y = axis_scales(crop, scale)
    out = np.array(xy, dtype=np.float64, copy=True)
    out[..., 0] = to_scaled(out[..., 0] - crop.x1, scale_x)
    out[..., 1] = to_scaled(out[..., 1] - crop.y1, scale_y)
    return out


def axis_scales(crop: Crop, scale: float) -> tuple[float, float]:
    """The factors the frames are really resized by along x and y: ``scale`` up to the rounding of the
    stored size to whole pixels (a 351-pixel-wide crop at 0.5 is stored 176 wide, not 175.5)."""
    if scale == 1:
        return 1.0, 1.0
    return _scaled(crop.width, scale) / crop.width, _scaled(crop.height, scale) / crop.height


def to_scaled(coordinate: np.ndarray, scale: float) -> np.ndarray:
    """Pixel-centre coordinate after resizing by ``scale`` (pixel centres sit on integers)."""
    return (coordinate + 0.5) * scale - 0.5


def from_scaled(coordinate: np.ndarray, scale: float) -> np.ndarray:
    """Inverse of :func:`to_scaled`."""
    return (coordinate + 0.5) / scale - 0.5


def _scaled(size: int, scale: float) -> int:
    return max(1, int(round(size * scale)))


def sample_windows(
    weight: np.ndarray,
    spec: TrainingSetSpec,
    fraction: float,
    hand_frames: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Window start frames and their split ("train"/"test"), sampled inside train or test blocks.

    Blocks of the timeline go to test with probability 1 - ``fraction`` (at least one each way
    when possible); windows never straddle a block, so train and test windows share no frame.
    Windows without any confident point are dropped; a window holding each hand-labelled frame
    (ending on it where the block allows) is added so every hand label is trained on or tested against.
    """
    n_frames = len(weight)
    length, block = spec.window_length, spec.resolved_block_length()
    n_blocks = max(1, n_frames // block)
    block_of_frame = np.minimum(np.arange(n_frames) // block, n_blocks - 1)
    is_test_block = _assign_test_blocks(n_blocks, fraction, rng)

    starts = np.arange(n_frames - length + 1)
    same_block = block_of_frame[starts] == block_of_frame[starts + length - 1]
    has_target = np.convolve(weight.any(axis=1).astype(int), np.ones(length, int), "valid") > 0
    usable = starts[same_block & has_target]
    in_test = is_test_block[block_of_frame[usable]]

    n_test = int(round(spec.windows_per_video * (1 - fraction)))
    chosen = [
        _choose(usable[~in_test], spec.windows_per_video - n_test, rng),
        _choose(usable[in_test], n_test, rng),
    ]
    if spec.include_hand_labeled and len(hand_frames):
        chosen.append(np.intersect1d(_windows_holding(hand_frames, block_of_frame, length, block), usable))
    starts = np.unique(np.concatenate(chosen)).astype(int)
    splits = np.where(is_test_block[block_of_frame[starts]], "test", "train")
    return starts, splits


def _windows_holding(frames: np.ndarray, block_of_frame: np.ndarray, length: int, block: int) -> np.ndarray:
    """For each frame, the start of a window inside its block that holds it (ending on it if possible)."""
    block_first = block_of_frame[frames] * block
    in_final_block = block_of_frame[frames] == block_of_frame[-1]
    last = np.where(in_final_block, len(block_of_frame) - 1, block_first + block - 1)
    return np.minimum(np.maximum(frames - length + 1, block_first), last - length + 1)


def _assign_test_blocks(n_blocks: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    n_test = int(round(n_blocks * (1 - fraction)))
    if fraction < 1 and n_blocks >= 2:
        n_test = min(max(n_test, 1), n_blocks - 1)
    is_test = np.zeros(n_blocks, bool)
    is_test[rng.permutation(n_blocks)[:n_test]] = True
    return is_test


def _choose(candidates: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    if count <= 0 or not len(candidates):
        return np.array([], dtype=int)
    return rng.choice(candidates, size=min(count, len(candidates)), replace=False)


def _test_blocks(n_frames: int, spec: TrainingSetSpec, splits: np.ndarray, starts: np.ndarray) -> list[list[int]]:
    """Frame ranges [first, last] of the test blocks holding test windows (for evaluation)."""
    block = spec.resolved_block_length()
    n_blocks = max(1, n_frames // block)
    ids = np.unique(np.minimum(starts[splits == "test"] // block, n_blocks - 1))
    return [[int(b * block), int(n_frames - 1 if b == n_blocks - 1 else (b + 1) * block - 1)] for b in ids]


def _is_grayscale(video: Path, tolerance: float = 8.0) -> bool:
    """True when the first frame's colour channels agree (up to the codec's YUV rounding)."""
    capture = cv2.VideoCapture(str(video))
    ok, frame = capture.read()
    capture.release()
    if not ok or frame.ndim != 3:
        return bool(ok)
    pixels = frame.astype(np.int16)
    spread = np.abs(pixels[..., 0] - pixels[..., 1]) + np.abs(pixels[..., 1] - pixels[..., 2])
    return float(spread.mean()) <= tolerance and float(np.percentile(spread, 99)) <= 4 * tolerance


def prepare_frame(frame_bgr: np.ndarray, crop: Crop, scale: float, channels: int) -> np.ndarray:
    """Crop, scale and convert one decoded BGR frame to the stored (H, W, channels) uint8 layout."""
    image = frame_bgr[crop.y1 : crop.y2, crop.x1 : crop.x2]
    if scale != 1:
        size = (_scaled(crop.width, scale), _scaled(crop.height, scale))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[..., None]
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_frames(info: VideoInfo, crop: Crop, scale: float, channels: int, frames, progress: bool = False):
    """Yield (frame index, stored image) for the given frames (any order, once each, in video order).

    Decodes forwards, seeking only across gaps of more than ``SEEK_GAP`` frames; images are cropped,
    scaled and converted as the training set stores them (:func:`prepare_frame`).
    """
    wanted = sorted({int(f) for f in frames})
    capture = cv2.VideoCapture(str(info.path))
    position = 0
    try:
        for frame_index in tqdm(wanted, desc=f"frames of {info.path.name}", unit="frame", leave=False,
                                disable=not progress):
            if frame_index - position > SEEK_GAP:
                capture.set(cv2.CAP_PROP_POS_FRAMES, frame_index)
                position = frame_index
            while position < frame_index:
                if not capture.grab():
                    break
                position += 1
            ok, frame = capture.read()
            if not ok:
                raise ProjectError(
                    f"{info.path}: frame {frame_index} of {info.n_frames} cannot be decoded (truncated or "
                    "corrupt video); re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
                )
            position += 1
            yield frame_index, prepare_frame(frame, crop, scale, channels)
    finally:
        capture.release()


def _store_frames(info: VideoInfo, crop: Crop, scale: float, channels: int, needed: np.ndarray, path: Path) -> None:
    """Decode the ``needed`` frames (sorted, unique) into a uint8 .npy file, one row each."""
    shape = (len(needed), _scaled(crop.height, scale), _scaled(crop.width, scale), channels)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    _reserve(path)
    with contextlib.closing(read_frames(info, crop, scale, channels, needed, progress=True)) as frames:
        for row, (_, image) in enumerate(frames):
            out[row] = image
    out.flush()
    del out


def _reserve(path: Path) -> None:
    """Allocate a memory-mapped file's blocks now: a disk that is too full then raises an OSError here
    instead of killing the process (SIGBUS) when a page is written later. Linux (posix_fallocate);
    elsewhere, and on copy-on-write file systems, only the free-space check before the build guards."""
    if not hasattr(os, "posix_fallocate"):
        return
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as error:
            if is_full_disk(error):
                raise
            # file systems without fallocate: the blocks are allocated as pages are written


def _replace_folder(new: Path, final: Path) -> None:
    """Swap ``new`` into place of ``final`` so that a complete set is always there or none is."""
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    new.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def training_set_fingerprint(folder: str | Path) -> str:
    """A digest of the windows and targets a built set holds: the same after a rebuild that gives the
    same data (wherever the project lives), different otherwise."""
    folder = Path(folder)
    digest = hashlib.sha256((folder / "windows.csv").read_bytes())
    for path in sorted(folder.glob("video*_targets.npz")):
        with np.load(path) as saved:
            for key in sorted(saved.files):
                digest.update(key.encode() + _digest(saved[key]).encode())
    return digest.hexdigest()


def _read_yaml(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text()) or {}


def _write_yaml(path: Path, data: dict) -> None:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with path.open("w") as handle:
        yaml.dump(data, handle)


def load_training_set(folder: str | Path) -> TrainingSet:
    """Open a training set built by :func:`create_training_set` (frames stay on disk)."""
    folder = Path(folder)
    meta_path = folder / "trainingset.yaml"
    if not meta_path.is_file():
        raise ProjectError(f"{folder}: no training set here; run dlc_recurrent.create_training_set(config) first")
    reading = meta_path
    try:
        meta = _read_yaml(meta_path)
        spec = TrainingSetSpec(**_saved_spec(meta["request"]["spec"]))
        frames, targets = [], []
        for index in range(len(meta["videos"])):
            reading = folder / f"video{index:03d}_frames.npy"
            frames.append(np.load(reading, mmap_mode="r"))
            reading = folder / f"video{index:03d}_targets.npz"
            with np.load(reading) as data:
                targets.append(VideoTargets(**{key: data[key] for key in data.files}))
        reading = folder / "windows.csv"
        windows = pd.read_csv(reading)
        if not {"video", "first_row", "split"} <= set(windows.columns):
            raise ValueError("columns video, first_row, split missing")
        return TrainingSet(folder=folder, spec=spec, bodyparts=list(meta["bodyparts"]), channels=int(meta["channels"]),
                           videos=meta["videos"], windows=windows, frames=frames, targets=targets)
    except Exception as error:  # any damage (cut short, garbled, missing), reported as one line
        if isinstance(error, ProjectError):
            raise
        raise ProjectError(
            f"{reading}: damaged or missing ({type(error).__name__}: {' '.join(str(error).split())[:120]}); rebuild "
            "the training set with dlc_recurrent.create_training_set(config, shuffle=..., overwrite=True), then "
            "train again"
        ) from None
