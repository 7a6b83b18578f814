"""``analyze_videos``: every video of a call, skipped, locked, resumed or analyzed, one h5 each.

Each video is decoded once, in a background thread, in chunks (constant memory whatever its
length); a long video's predictions so far are checkpointed every minute, so an interrupted run
resumes at the last segment boundary instead of starting the video again.
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

from dlc_recurrent._tensorflow import tf
from dlc_recurrent.devices import select_device
from dlc_recurrent.errors import DiskFull, ProjectError
from dlc_recurrent.fileio import explain_full_disk, remove_interrupted_writes
from dlc_recurrent.frames import read_video_info
from dlc_recurrent.inference.output import output_metadata, predictions_table, student_scorer, write_outputs
from dlc_recurrent.inference.pairing import (
    HANDOFF_LIKELIHOOD,
    Pairing,
    combination,
    describe_combination,
    load_confident,
    same_combination,
)
from dlc_recurrent.inference.streams import predict_video
from dlc_recurrent.inference.student import Student, default_batch_size, load_trained_student
from dlc_recurrent.layout import LOCK_SUFFIX, RESUME_SUFFIX
from dlc_recurrent.locks import describe_holder, try_lock
from dlc_recurrent.precision import keras_policy
from dlc_recurrent.project import (
    OWN_OUTPUT_KEY,
    Project,
    load_project,
    meta_is_damaged,
    meta_path,
    own_output_record,
    video_crop,
)

logger = logging.getLogger(__name__)


def analyze_videos(
    config: str | Path,
    videos: str | Path | list[str | Path],
    videotype: str = "",
    shuffle: int = 1,
    trainingsetindex: int = 0,
    gputouse: int | None = None,
    save_as_csv: bool = False,
    destfolder: str | Path | None = None,
    batch_size: int | None = None,
    overwrite: bool = False,
    model: str = "convlstm_leap",
    state_reset: int | None = None,
    progress: bool = True,
    confident_shuffle: int | None = None,
    confident_model: str | None = None,
    handoff: float = HANDOFF_LIKELIHOOD,
    bridge_max_gap: int | None = None,
    video_extensions: str | list[str] | None = None,
    device: str | int | None = None,
    snapshot_index: int | None = None,
    shard: tuple[int, int] | None = None,
    precision: str = "auto",
) -> str:
    """Analyze videos (files or folders) with a trained student into the predictions files
    deeplabcut.analyze_videos would write, so deeplabcut's own tools read them.

    Writes ``<video stem><scorer>.h5`` (+ ``_meta.pickle``, + ``.csv`` with ``save_as_csv``) next to
    each video or in ``destfolder``. Already analyzed videos are skipped unless ``overwrite``; a
    video that cannot be read is reported at the end while the others are analyzed. An interrupted
    video resumes where it stopped (``<h5 name>.resume.npz``, saved every minute, removed at the end).
    Each video is locked while analyzed (``<h5 name>.lock``): a second process that reaches it
    meanwhile leaves it to the first.

    With ``confident_shuffle``, a second student trained on the teacher's confident targets only
    (``create_training_set(config, shuffle=2, max_gap_fill=0)``) analyzes the same frames, in the
    main student's segments (``state_reset``); its points with likelihood >= ``handoff`` replace the
    main student's, and runs of at most ``bridge_max_gap`` frames where it is unsure are bridged where
    the main student agrees (``combine_predictions``). The output keeps the main student's scorer;
    its ``_meta.pickle`` records the second student, handoff, bridging and, per video, the bridges'
    reach (px) and how many points they replaced.

    Args:
        config: the DLC project's config.yaml (or its folder).
        videos: a video file or folder, or a list of them.
        videotype: DLC 2's name for ``video_extensions``.
        shuffle: the student's (``dlc_recurrent.train(config, shuffle=...)``), not your DLC network's.
        trainingsetindex: the index of the training fraction in config.yaml.
        gputouse: the GPU to analyze on; default the first GPU, or the CPU.
        save_as_csv: also write each video's predictions as ``.csv``.
        destfolder: where the outputs go; default next to each video.
        batch_size: frames per network call (default 8 on a CPU, 32 on a GPU).
        overwrite: analyze videos that already have this student's predictions again.
        model: the student: "convlstm_leap", "leap" or "bidirectional_leap".
        state_reset: (recurrent model) frames per ConvLSTM segment, 0 carries the state through the
            whole video (default 4 x window_length).
        progress: show a progress bar per video.
        confident_shuffle: the second student's training-set number (see above); None: one student.
        confident_model: the second student's model (default ``model``).
        handoff: the second student's likelihood from which its points replace the main student's.
        bridge_max_gap: the longest unsure run bridged (default BRIDGE_MAX_GAP; 0: none).
        video_extensions: DLC 3's name for ``videotype``: the extension(s) of the videos taken from
            folders (both names only if they agree); None: any video.
        device: DLC 3's name for ``gputouse``: "cpu", "cuda:1", ...
        snapshot_index: DLC 3's snapshot choice; a student folder holds one snapshot: 0 or -1 (it
            overrides config.yaml's ``snapshotindex``).
        shard: ``(i, n)`` (or ``"i/n"``) analyzes only the i-th of n shares of the videos (sorted by
            path, every n-th from the i-th), for the jobs of a cluster array.
        precision: the number format of the students' convolutions (:mod:`dlc_recurrent.precision`):
            "auto" computes in bfloat16 on CPUs with AMX or AVX512-BF16 and in float16 on a GPU (faster,
            with points close to float32's: benchmarks/RESULTS.md, "precision"); "float32" gives full
            precision. The ``_meta.pickle`` records which was used.

    Returns:
        The scorer (the name after the video stem of every h5 written), like deeplabcut.analyze_videos.

    Raises:
        ProjectError: no trained student, or a snapshot_index other than 0 or -1.
        ValueError: ``videotype`` and ``video_extensions`` disagree, or a malformed ``shard``.
    """
    project = load_project(config)
    placed = select_device(device, gputouse)
    device_type = tf.DeviceSpec.from_string(placed).device_type or "CPU"
    policy = keras_policy(precision, device_type)
    batch_size = batch_size or default_batch_size(device_type)
    with tf.device(placed):
        return _analyze_videos(project, videos, video_extension_list(videotype, video_extensions), shuffle,
                               trainingsetindex, save_as_csv, destfolder, batch_size, overwrite, model, state_reset,
                               progress, Pairing(confident_shuffle, confident_model, handoff, bridge_max_gap),
                               _one_snapshot(snapshot_index), _shard(shard), policy)


def video_extension_list(videotype: str | list[str] | None, video_extensions: str | list[str] | None):
    """DLC 2's ``videotype`` or DLC 3's ``video_extensions`` (both only if they agree); None: any video.

    Args:
        videotype: an extension ("mp4", ".avi") or several, or "" / None.
        video_extensions: the same under DLC 3's name.

    Returns:
        The one given (an extension or a list of them), or None when neither is.

    Raises:
        ValueError: both are given and differ.
    """
    if videotype and video_extensions and videotype != video_extensions:
        raise ValueError(f"videotype={videotype!r} and video_extensions={video_extensions!r} disagree; "
                         "give one of them (video_extensions is DLC 3's name)")
    return video_extensions or videotype or None


def _shard(shard) -> tuple[int, int] | None:
    """(i, n) from a tuple or an "i/n" string; None for every video."""
    if shard is None:
        return None
    try:
        index, count = (int(v) for v in (shard.split("/") if isinstance(shard, str) else shard))
    except (TypeError, ValueError):
        raise ValueError(f"shard={shard!r}: give (i, n) or 'i/n', e.g. '0/4' for the first of four jobs") from None
    if not 0 <= index < count:
        raise ValueError(f"shard={shard!r}: need 0 <= i < n (SLURM's array ids from 0: --shard $SLURM_ARRAY_TASK_ID/N)")
    return index, count


def _one_snapshot(snapshot_index: int | None) -> int | None:
    if snapshot_index is None:
        return None
    if isinstance(snapshot_index, bool) or snapshot_index not in (0, -1):
        raise ProjectError(f"snapshot_index={snapshot_index!r}: a student's folder holds one snapshot, the "
                           "weights it kept; give 0 or -1 (or leave it out)")
    return -1


@dataclass(frozen=True)
class _Run:
    """What one analyze_videos call applies to every video, resolved once."""

    project: Project
    student: Student
    confident: Student | None
    pairing: Pairing
    made_with: dict | None
    scorer: str
    batch_size: int
    trainingsetindex: int
    save_as_csv: bool
    overwrite: bool
    progress: bool


def _analyze_videos(project: Project, videos, extensions, shuffle: int, trainingsetindex: int, save_as_csv: bool,
                    destfolder, batch_size: int, overwrite: bool, model: str, state_reset: int | None,
                    progress: bool, pairing: Pairing, snapshot_index: int | None,
                    shard: tuple[int, int] | None, policy: str) -> str:
    student = load_trained_student(project, shuffle, trainingsetindex, model, state_reset, policy)
    confident = load_confident(project, student, shuffle, trainingsetindex, model, state_reset, pairing, policy)
    run = _Run(project, student, confident, pairing, combination(confident, pairing),
               student_scorer(project, shuffle, trainingsetindex, model, snapshot_index),
               batch_size, trainingsetindex, save_as_csv, overwrite, progress)
    paths = video_paths(videos, extensions, shard)
    failed, short = [], []
    for video in paths:
        folder = Path(destfolder) if destfolder is not None else video.parent
        h5_path = folder / f"{video.stem}{run.scorer}.h5"
        if not _needs_analysis(run, video, h5_path):
            continue
        folder.mkdir(parents=True, exist_ok=True)
        lock_path = h5_path.with_name(h5_path.name + LOCK_SUFFIX)
        lock = try_lock(lock_path)
        if lock is None:
            logger.info(f"{video.name}: being analyzed by {describe_holder(lock_path)}; left to it")
            continue
        with lock:
            if h5_path.exists() and not overwrite and own_output_record(h5_path) is not None:
                logger.info(f"{video.name}: analyzed by another process meanwhile ({h5_path.name})")
                continue
            try:
                decoded, header = _analyze_one(run, video, h5_path)
            except DiskFull:
                raise
            except ProjectError as error:
                failed.append((video, str(error)))
                continue
            if decoded < header:
                short.append((video, decoded, header))
    _report_problems(short, failed, len(paths))
    return run.scorer


def video_paths(videos, extensions, shard: tuple[int, int] | None) -> list[Path]:
    """The videos to analyze (files, or the videos in folders), this shard's share of them.

    Args:
        videos: video files and/or folders, as deeplabcut's ``collect_video_paths`` takes them.
        extensions: the extension(s) of the videos taken from folders; None: any video.
        shard: ``(i, n)``: only every n-th video from the i-th (sorted by path); None: all of them.

    Returns:
        The video paths.

    Raises:
        ProjectError: a path does not exist, or no video is found.
    """
    from deeplabcut.utils.auxfun_videos import collect_video_paths

    try:
        paths = collect_video_paths(videos, extensions=extensions)
    except FileNotFoundError as error:
        raise ProjectError(f"{error}; check the video paths") from None
    if not paths:
        raise ProjectError(f"{videos}: no videos found (video_extensions={extensions!r}); pass video files or "
                           "folders")
    if shard is not None:
        paths = sorted(paths, key=str)[shard[0] :: shard[1]]
        logger.info(f"Shard {shard[0]}/{shard[1]}: {len(paths)} videos")
    return paths


def _needs_analysis(run: _Run, video: Path, h5_path: Path) -> bool:
    """False for a video this student already analyzed (unless overwrite); refuses files it did not write."""
    if not h5_path.exists():
        return True
    record = own_output_record(h5_path)
    if record is None and meta_is_damaged(h5_path):
        raise ProjectError(
            f"{meta_path(h5_path)}: damaged, so whether {h5_path.name} is the student's output cannot be told; "
            "if dlc-recurrent wrote it, delete both files and analyze again (a teacher's file is never touched)"
        )
    if record is None:
        raise ProjectError(
            f"{h5_path}: exists and was not written by dlc-recurrent (a teacher's predictions?); "
            f"refusing to overwrite it; analyze with another shuffle or destfolder"
        )
    if run.overwrite:
        return True
    earlier = record.get("confident_student")
    if not same_combination(earlier, run.made_with):
        logger.info(f"{video.name}: already analyzed ({h5_path.name}) {describe_combination(earlier)}, not "
                    f"{describe_combination(run.made_with)}; pass overwrite=True to redo it.")
    else:
        logger.info(f"{video.name}: already analyzed ({h5_path.name}); pass overwrite=True to redo it.")
    return False


def _analyze_one(run: _Run, video: Path, h5_path: Path) -> tuple[int, int]:
    """Predict one video (resuming its checkpoint) and write its outputs; returns (frames decoded, frames
    the header claims). A ProjectError means this video cannot be analyzed (the others go on)."""
    project, folder = run.project, h5_path.parent
    checkpoint = h5_path.with_name(h5_path.name + RESUME_SUFFIX)
    info = read_video_info(video)
    crop = video_crop(project, info)
    for output in (h5_path, meta_path(h5_path), h5_path.with_suffix(".csv"), checkpoint):
        remove_interrupted_writes(output)
    started, bridging = time.time(), {}
    output_bytes = 3 * 8 * 3 * len(project.bodyparts) * info.n_frames  # h5, csv, resume file
    with explain_full_disk(folder, output_bytes, "analyze_videos"):
        predictions = predict_video(run.student, info, crop, run.batch_size, run.progress, checkpoint=checkpoint,
                                    confident=run.confident, handoff=run.pairing.handoff,
                                    bridge_max_gap=run.pairing.max_gap, record=bridging)
    stopped = time.time()
    header = info.n_frames
    info = replace(info, n_frames=len(predictions))  # fewer where the header overcounts
    metadata = output_metadata(project, run.student, info, crop, run.scorer, run.batch_size, started, stopped,
                               run.trainingsetindex)
    metadata[OWN_OUTPUT_KEY]["confident_student"] = None if run.made_with is None else {**run.made_with, **bridging}
    with explain_full_disk(folder, output_bytes, "analyze_videos"):
        write_outputs(predictions_table(predictions, run.scorer, project.bodyparts), metadata, h5_path,
                      run.save_as_csv)
    checkpoint.unlink(missing_ok=True)
    logger.info(f"{video.name}: {len(predictions)} frames -> {h5_path}")
    return len(predictions), header


def _report_problems(short: list, failed: list, n_videos: int) -> None:
    """Videos shorter than their headers, and videos that could not be analyzed, listed at the end."""
    if short:
        logger.warning(f"Fewer frames decoded than the header says ({len(short)}; predictions cover the decoded ones):")
        for video, decoded, header in short:
            logger.warning(f"  {video}: {decoded} of {header}")
    if failed:
        report = "; ".join(f"{video.name}: {message}" for video, message in failed)
        warnings.warn(f"{len(failed)} of {n_videos} videos could not be analyzed: {report}", stacklevel=3)
        logger.warning(f"Not analyzed ({len(failed)}):")
        for video, message in failed:
            logger.warning(f"  {video}: {message}")
