"""``create_training_set``: read each video's teacher and hand labels, sample windows, store the frames
they need, and swap the new set into place atomically (locked against a second build or a training
run that uses the set)."""

from __future__ import annotations

import contextlib
import datetime
import logging
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from dlc_recurrent.config import TrainingSetSpec
from dlc_recurrent.distill.records import (
    changed_inputs,
    inputs_record,
    inputs_summary,
    request_differences,
    request_record,
    saved_request,
    video_inputs,
)
from dlc_recurrent.distill.spec import VideoTargets
from dlc_recurrent.distill.targets import combine_targets, to_stored_coordinates
from dlc_recurrent.distill.windows import sample_windows, test_block_ranges
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.fileio import (
    check_free_space,
    explain_full_disk,
    read_yaml,
    replace_folder,
    reserve_blocks,
    write_yaml,
)
from dlc_recurrent.frames import Crop, VideoInfo, is_grayscale, read_frames, read_video_info, scaled_size
from dlc_recurrent.layout import (
    TRAINING_SET_META,
    builder_lock_path,
    trainer_lock_path,
    training_set_folder,
)
from dlc_recurrent.locks import describe_holder, is_stale, try_lock
from dlc_recurrent.project import (
    Project,
    dlc_teacher_scorer,
    find_teacher,
    glob_escape,
    load_project,
    read_hand_labels,
    read_teacher_for_video,
    video_crop,
)

logger = logging.getLogger(__name__)


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
    """Sample teacher-labelled windows from the project's videos and store them: the student's
    training set (the step before ``train`` and ``analyze_videos``).

    Re-running with the same arguments is a no-op; different arguments, or inputs changed since
    (teacher or hand-label files, pcutoff, body parts, crops), need ``overwrite=True``.
    Nothing is left behind when it fails: the set is built in a temporary folder and renamed.

    Args:
        config: the DLC project's config.yaml (or its folder).
        shuffle: numbers this package's training set, not a DLC network.
        trainingsetindex: the index of the training fraction in config.yaml (the share of blocks
            that go to train); also picks the teacher's training set with ``teacher_shuffle``.
        videos: the videos to sample; default config.yaml's video_sets.
        window_length: frames per window (``TrainingSetSpec.window_length``).
        windows_per_video: windows sampled per video, train and test together.
        scale: resize factor of the stored frames.
        teacher_scorer: the teacher is the ``<video stem>DLC*.h5`` next to each video; when several
            are there, this names one by its scorer.
        teacher_folder: where the teacher's h5 files are, when not next to the videos.
        seed: seeds the window sampling and the train/test split.
        overwrite: replace an existing set built with other settings or from other inputs.
        teacher_shuffle: names the teacher by the DLC shuffle that wrote it instead (not with
            ``teacher_scorer``).
        teacher_snapshot_index: with ``teacher_shuffle``, the snapshot that wrote it (default the
            config's snapshotindex).
        **spec_options: further :class:`~dlc_recurrent.config.TrainingSetSpec` fields (``block_length``,
            ``include_hand_labeled``, ``max_gap_fill``).

    Returns:
        The training set's folder.

    Raises:
        ProjectError: no videos, a teacher missing or ambiguous, a set with other settings or inputs
            without ``overwrite``, a training run or a second build using the set, or no window with a
            confident point.
        ValueError: both ``teacher_scorer`` and ``teacher_shuffle``, or a spec field out of range.
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
    fraction = project.fraction(trainingsetindex)
    videos = [Path(v) for v in (videos if videos is not None else project.videos)]
    if not videos:
        raise ProjectError(f"{project.config_path}: no videos in video_sets; add them with deeplabcut.add_new_videos")
    folder = training_set_folder(project, shuffle, trainingsetindex)
    request = request_record(spec, videos, fraction, shuffle)
    folder.parent.mkdir(parents=True, exist_ok=True)
    lock = try_lock(builder_lock_path(folder))
    if lock is None:
        raise ProjectError(f"{folder}: {describe_holder(builder_lock_path(folder))} is building this training set; "
                           "let it finish (or stop it), then rerun: the same settings are then a no-op")
    with lock:
        return _create_locked(project, spec, videos, fraction, folder, request, teacher_folder, overwrite)


def _create_locked(project: Project, spec: TrainingSetSpec, videos: list[Path], fraction: float, folder: Path,
                   request: dict, teacher_folder, overwrite: bool) -> Path:
    if (folder / TRAINING_SET_META).is_file() and overwrite:
        for lock in live_trainer_locks(folder):
            raise ProjectError(f"{folder}: {describe_holder(lock)} is training a student on it; let it finish "
                               "(or stop it) before rebuilding the set")
    if (folder / TRAINING_SET_META).is_file() and not overwrite:
        differences = request_differences(saved_request(folder), request)
        if differences:
            raise ProjectError(
                f"{folder}: a training set built with other settings exists ({differences}); pass the same "
                "settings (or another shuffle), or overwrite=True to replace it"
            )
        changed = changed_inputs(read_yaml(folder / TRAINING_SET_META).get("inputs"),
                                  inputs_record(project, spec, videos, teacher_folder))
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
        write_yaml(partial / TRAINING_SET_META, {"request": request, **summary})
        for lock in live_trainer_locks(folder):  # one may have started on the old set during the build
            raise ProjectError(f"{folder}: {describe_holder(lock)} started training a student on it while it was "
                               "rebuilt; the old set is kept: rerun this when that training has finished")
        replace_folder(partial, folder)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    n_train = sum(v["train_windows"] for v in summary["videos"])
    n_test = sum(v["test_windows"] for v in summary["videos"])
    logger.info(f"Training set: {n_train} train and {n_test} test windows of {spec.window_length} frames in {folder}")
    return folder


def live_trainer_locks(folder: Path) -> list[Path]:
    """The locks of training runs (of any student) still going on the training set in ``folder``, so a
    rebuild does not pull the set from under them.

    Args:
        folder: the training set's folder.

    Returns:
        The lock files whose holder is still alive.
    """
    pattern = trainer_lock_path(folder.with_name(glob_escape(folder.name)), "*").name
    return [lock for lock in folder.parent.glob(pattern) if not is_stale(lock)]


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
            table, record = _store_video(index, item, spec, fraction, channels, rng, out)
            window_tables.append(table)
            video_records.append(record)

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
        "inputs": inputs_summary(project, {video: item["inputs"] for video, item in zip(videos, prepared)}),
    }


def _store_video(index: int, item: dict, spec: TrainingSetSpec, fraction: float, channels: int,
                 rng: np.random.Generator, out: Path) -> tuple[pd.DataFrame, dict]:
    """Sample one video's windows, store the frames and targets they need; (its windows, its record)."""
    info, targets = item["info"], item["targets"]
    starts, splits = sample_windows(targets.weight, spec, fraction, item["hand_frames"], rng)
    if not len(starts):
        raise ProjectError(
            f"{info.path}: no window of {spec.window_length} frames has a confident teacher point; "
            "check the teacher's likelihoods against pcutoff or lower window_length"
        )
    needed = np.unique((starts[:, None] + np.arange(spec.window_length)).ravel())
    _store_frames(info, item["crop"], spec.scale, channels, needed, out / f"video{index:03d}_frames.npy")
    stored = VideoTargets(
        frame=needed,
        xy=targets.xy[needed].astype(np.float32),
        weight=targets.weight[needed].astype(np.float32),
        source=targets.source[needed],
    )
    np.savez(out / f"video{index:03d}_targets.npz", **asdict(stored))
    table = pd.DataFrame({"video": index, "first_row": np.searchsorted(needed, starts), "first_frame": starts,
                          "split": splits})
    crop = item["crop"]
    record = {
        "video": str(info.path),
        "teacher": str(item["teacher"].path),
        "teacher_scorer": item["teacher"].scorer,
        "n_frames": info.n_frames,
        "fps": info.fps,
        "frame_size": [info.width, info.height],
        "crop": [crop.x1, crop.x2, crop.y1, crop.y2],
        "stored_size": [scaled_size(crop.width, spec.scale), scaled_size(crop.height, spec.scale)],
        "train_windows": int(np.sum(splits == "train")),
        "test_windows": int(np.sum(splits == "test")),
        "test_blocks": test_block_ranges(info.n_frames, spec, splits, starts),
        "hand_labeled_frames": int(len(item["hand_frames"])),
        "masked_fraction": float(1 - stored.weight.mean()),
    }
    return table, record


def _stored_bytes(item: dict, spec: TrainingSetSpec, channels: int) -> int:
    """At most how many bytes one video's stored frames and targets take (before the windows are drawn)."""
    rows = min(item["info"].n_frames, (spec.windows_per_video + len(item["hand_frames"])) * spec.window_length)
    frame = scaled_size(item["crop"].width, spec.scale) * scaled_size(item["crop"].height, spec.scale) * channels
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
        "grayscale": is_grayscale(info.path),
        "inputs": video_inputs(project, video, teacher, labels),
    }


def _store_frames(info: VideoInfo, crop: Crop, scale: float, channels: int, needed: np.ndarray, path: Path) -> None:
    """Decode the ``needed`` frames (sorted, unique) into a uint8 .npy file, one row each."""
    shape = (len(needed), scaled_size(crop.height, scale), scaled_size(crop.width, scale), channels)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    reserve_blocks(path)
    with contextlib.closing(read_frames(info, crop, scale, channels, needed, progress=True)) as frames:
        for row, (_, image) in enumerate(frames):
            out[row] = image
    out.flush()
    del out
