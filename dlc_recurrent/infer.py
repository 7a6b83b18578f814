"""Analyze videos with a trained student and write DeepLabCut-format predictions.

Each video is decoded once, in a background thread, in chunks (constant memory whatever its
length). The recurrent student never recomputes a window per frame: the encoder runs once per
frame, and the ConvLSTM runs over segments of ``state_reset`` frames, each started from a zero
state on the ``window_length - 1`` frames before it (their encoder features are kept), so every
frame sees at least the context it was trained with and the state never drifts over a long video.
Each map's peak (sub-pixel, by a parabola through the log-values around the maximum) becomes x, y
and its height the likelihood. Outputs are the ``<video><scorer>.h5`` (+ ``_meta.pickle``, + CSV)
that ``deeplabcut.analyze_videos`` would write, built with deeplabcut's own scorer naming so its
post-processing tools find them with ``modelprefix="dlc-recurrent/<model>"``. A long video's
predictions so far are checkpointed every minute, so an interrupted run resumes at the last
segment boundary instead of starting the video again.

Optionally two students analyze each video together (``confident_shuffle``): a student trained on
the teacher's confident targets only (the paper's recipe, ``max_gap_fill=0``) keeps its points
where its likelihood reaches ``handoff``, and the main student (gap-filled targets) gives the rest.
Across a short run where the confident student is unsure between two frames where it is sure, the
main student's point moves most of the way to the straight line between those two positions
wherever it lies near the line (the two agree the paw went straight; where it turned, the main
student's point stays). On the occlusion benchmark, trained as long as the paper's students, this
kept the paper's accuracy on visible points and beat post-hoc filtering on hidden ones, for twice
the analysis time (benchmarks/RESULTS.md, "two students with bridges").
"""

from __future__ import annotations

import ctypes
import json
import logging
import pickle
import queue
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from dlc_recurrent.devices import select_device
from dlc_recurrent.distill import built_with, prepare_frame, short_gaps, to_full_frame, training_fraction
from dlc_recurrent.locks import describe_holder, try_lock
from dlc_recurrent.project import (
    OWN_OUTPUT_KEY,
    Crop,
    DiskFull,
    Project,
    ProjectError,
    VideoInfo,
    atomic_write,
    explain_full_disk,
    load_project,
    meta_is_damaged,
    meta_path,
    own_output_record,
    read_video_info,
    remove_interrupted_writes,
    video_crop,
)
from dlc_recurrent.training import (
    WEIGHTS_NAME,
    TrainingConfig,
    load_student,
    model_folder,
    modelprefix,
    set_arguments,
)

from dlc_recurrent._tensorflow import tf  # noqa: E402  (quiet; after torchvision)

from dlc_recurrent import models  # noqa: E402
from dlc_recurrent._version import __version__  # noqa: E402

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 32
#: appended to an output's h5 name for the checkpoint of a video being analyzed
RESUME_SUFFIX = ".resume.npz"
LOCK_SUFFIX = ".lock"  # held while a process analyzes the video (dlc_recurrent.locks)
#: at most this often (seconds) analyze_videos saves the checkpoint of the video it is analyzing
CHECKPOINT_SECONDS = 60.0
#: frames between two calls of release_freed_memory while a video streams
TRIM_EVERY = 2000
#: likelihood from which a confident student's point is kept over the main student's (measured:
#: benchmarks/RESULTS.md, "two students")
HANDOFF_LIKELIHOOD = 0.8
#: longest run of frames (the confident student unsure) bridged by a straight line; 0 = no bridging.
#: The same as distill's default max_gap_fill (the gaps the default student is trained to fill)
BRIDGE_MAX_GAP = 12
#: how near the line the main student's point must lie to be replaced, in multiples of the two
#: students' median disagreement where both are sure (chosen on never-trained frames: RESULTS.md)
BRIDGE_TOLERANCE = 14.0
#: how far a bridged point moves from the main student's prediction to the line (1 = onto the line;
#: chosen with BRIDGE_TOLERANCE on never-trained frames: RESULTS.md)
BRIDGE_WEIGHT = 0.75
#: fewer points where both students are sure than this: no bridging (no measure of their agreement)
BRIDGE_MIN_AGREEING = 20


def release_freed_memory() -> None:
    """Give memory that was freed back to the system (glibc only; elsewhere nothing happens).

    The decoding thread and TensorFlow's threads allocate from different malloc arenas; on a long
    video glibc kept the freed blocks (+1.7 GB over 100k frames, with nothing leaking). Trimming
    every few thousand frames keeps the peak flat.
    """
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
            _libc.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


_libc = None


@dataclass
class Student:
    """A trained student ready for streaming inference, with its compiled pieces."""

    config: TrainingConfig
    folder: Path
    network: object
    state_reset: int

    def __post_init__(self):
        spatial = tf.TensorSpec([None, None, None, self.config.channels], tf.uint8)
        amplitude = self.config.map_amplitude
        if not self.config.recurrent:
            network = self.network
            self.predict = tf.function(lambda frames: find_peaks(network(frames, training=False), amplitude),
                                       input_signature=[spatial])
            return
        if self.bidirectional:
            encoder, recurrence, backward, decoder = models.split_bidirectional_model(self.network)
        else:
            encoder, recurrence, decoder = models.split_recurrent_model(self.network)
        features = encoder.output_shape[-1]
        feature_spec = tf.TensorSpec([None, None, None, features], tf.float32)
        state_spec = tf.TensorSpec([None, None, recurrence.filters], tf.float32)
        hidden_spec = tf.TensorSpec([None, None, None, decoder.input_shape[-1]], tf.float32)
        self.encode = tf.function(lambda frames: tf.cast(encoder(frames, training=False), tf.float32),
                                  input_signature=[spatial])
        skip = self.config.skip_connection
        self.decoder_input = lambda features, hidden: models.decoder_input(features, hidden, skip)
        self.decode = tf.function(lambda hidden: find_peaks(decoder(hidden, training=False), amplitude),
                                  input_signature=[hidden_spec])
        self.zero_state = recurrence.zero_state
        self.recur = tf.function(recurrence, input_signature=[feature_spec, state_spec, state_spec])
        windows_spec = tf.TensorSpec([None, None, None, None, features], tf.float32)
        if not self.bidirectional:
            self.last_frame_peaks = tf.function(  # (N, T, h, w, F) encoder features -> peaks of frame T
                lambda windows: find_peaks(
                    decoder(self.decoder_input(windows[:, -1], recurrence.run(windows)[1]), training=False),
                    amplitude),
                input_signature=[windows_spec])
            return
        self.recur_backward = tf.function(backward, input_signature=[feature_spec, state_spec, state_spec])

        def last_frame_peaks(windows):
            hidden = tf.concat([recurrence.run(windows)[1], backward.run(windows[:, -1:])[1]], -1)
            return find_peaks(decoder(self.decoder_input(windows[:, -1], hidden), training=False), amplitude)

        self.last_frame_peaks = tf.function(last_frame_peaks, input_signature=[windows_spec])

    @property
    def bidirectional(self) -> bool:
        return self.config.model == "bidirectional_leap"

    @property
    def window_length(self) -> int:
        return self.config.window_length


def load_trained_student(
    project: Project, shuffle: int, trainingsetindex: int, model: str, state_reset: int | None = None
) -> Student:
    """The student trained for this project, shuffle and training fraction."""
    if model not in models.MODEL_KINDS:
        raise ValueError(f"model must be one of {models.MODEL_KINDS}, got {model!r}")
    folder = model_folder(project, shuffle, trainingsetindex, model) / "train"
    if not (folder / WEIGHTS_NAME).is_file():
        where = set_arguments(shuffle, trainingsetindex)
        raise ProjectError(f"{folder}: no trained {model} student here; train it with dlc_recurrent.train(config, "
                           f"{where}, model={model!r}) (after dlc_recurrent.create_training_set(config, {where}) if "
                           "that set does not exist yet)")
    network, config = load_student(folder)
    if config.bodyparts != project.bodyparts:
        raise ProjectError(
            f"{folder}: the student was trained on body parts {config.bodyparts}, config.yaml lists "
            f"{project.bodyparts}; retrain it (dlc_recurrent.train(config, overwrite=True))"
        )
    if state_reset is None:
        state_reset = 4 * config.window_length
    return Student(config=config, folder=folder, network=network, state_reset=int(state_reset))


def find_peaks(maps: tf.Tensor, amplitude: float) -> tf.Tensor:
    """(B, K, 3) x, y, likelihood from maps (B, H, W, K): argmax refined by a log-parabola fit.

    A Gaussian's log is a parabola, so fitting one through the maximum and its two neighbours
    along each axis recovers a Gaussian peak's centre exactly; where a neighbour is not positive
    the integer position is kept. Likelihood is the peak height / ``amplitude``, clipped to [0, 1].
    """
    maps = tf.cast(maps, tf.float32)
    height, width = tf.shape(maps)[1], tf.shape(maps)[2]
    flat = tf.reshape(tf.transpose(maps, [0, 3, 1, 2]), [tf.shape(maps)[0], tf.shape(maps)[3], -1])
    index = tf.argmax(flat, axis=-1, output_type=tf.int32)
    row, column = index // width, index % width
    peak = tf.reduce_max(flat, axis=-1)

    def value_at(rows, columns):
        rows = tf.clip_by_value(rows, 0, height - 1)
        columns = tf.clip_by_value(columns, 0, width - 1)
        return tf.gather(flat, rows * width + columns, batch_dims=2)

    def offset(before, after, at_edge):
        usable = (before > 0) & (after > 0) & (peak > 0) & ~at_edge
        log_before = tf.math.log(tf.where(usable, before, 1.0))
        log_after = tf.math.log(tf.where(usable, after, 1.0))
        log_peak = tf.math.log(tf.where(usable, peak, 1.0))
        curvature = log_before - 2 * log_peak + log_after
        shift = tf.math.divide_no_nan(0.5 * (log_before - log_after), curvature)
        return tf.where(usable & (curvature < 0), tf.clip_by_value(shift, -0.5, 0.5), 0.0)

    dx = offset(value_at(row, column - 1), value_at(row, column + 1), (column == 0) | (column == width - 1))
    dy = offset(value_at(row - 1, column), value_at(row + 1, column), (row == 0) | (row == height - 1))
    x = tf.cast(column, tf.float32) + dx
    y = tf.cast(row, tf.float32) + dy
    likelihood = tf.clip_by_value(peak / amplitude, 0.0, 1.0)
    return tf.stack([x, y, likelihood], axis=-1)


class FrameReader:
    """Decode a video in a background thread into chunks of prepared (cropped, scaled, padded) frames.

    With ``start`` > 0 the frames before it are decoded and dropped (no seeking: exact on every
    codec); the first chunk then holds the ``prefix`` frames before ``start``, if any. A video
    whose header claims more frames than decode ends at the last one that does, as deeplabcut's
    analyze_videos does.
    """

    def __init__(self, info: VideoInfo, crop: Crop, scale: float, channels: int, chunk: int,
                 start: int = 0, prefix: int = 0):
        self.info, self.crop, self.scale, self.channels, self.chunk = info, crop, scale, channels, chunk
        self.start, self.prefix = start, min(prefix, start)
        self._queue: queue.Queue = queue.Queue(maxsize=3)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __iter__(self):
        self._thread.start()
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                if isinstance(item, Exception):
                    raise item
                yield item
        finally:
            self._stop.set()

    def _run(self):
        capture = cv2.VideoCapture(str(self.info.path))
        try:
            done = self.start - self.prefix
            for index in range(done):
                if self._stop.is_set():
                    return
                if not capture.grab():
                    raise self._truncated(index)
            first = self.prefix or self.chunk
            ended = False
            while done < self.info.n_frames and not ended and not self._stop.is_set():
                size = min(first, self.info.n_frames - done)
                first = self.chunk
                frames = []
                for _ in range(size):
                    ok, frame = capture.read()
                    if not ok:
                        ended = True
                        break
                    frames.append(prepare_frame(frame, self.crop, self.scale, self.channels))
                done += len(frames)
                if ended and (done < self.start or done == 0):
                    raise self._truncated(done)
                if frames:
                    self._put(models.pad_images(np.stack(frames)))
            self._put(None)
        except Exception as error:  # handed to the consuming thread
            self._put(error)
        finally:
            capture.release()

    def _truncated(self, decoded: int) -> ProjectError:
        return ProjectError(
            f"{self.info.path}: only {decoded} of {self.info.n_frames} frames could be decoded (truncated, corrupt "
            "or changed since the run that is being resumed); re-encode it (e.g. ffmpeg -i in -c:v libx264 out.mp4)"
        )

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def predict_video(student: Student, info: VideoInfo, crop: Crop, batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: bool = True, checkpoint: Path | None = None, checkpoint_seconds: float | None = None,
                  confident: Student | None = None, handoff: float = HANDOFF_LIKELIHOOD,
                  bridge_max_gap: int = BRIDGE_MAX_GAP, record: dict | None = None) -> np.ndarray:
    """Predictions (n_frames, K, 3) in full-frame coordinates for one video, streamed.

    With ``checkpoint`` (a ``.npz`` path) the predictions so far, and what the stream needs to go
    on, are saved there at most every ``checkpoint_seconds`` (default CHECKPOINT_SECONDS); a later
    call with the same student and video resumes from it (at a segment boundary, so the result is
    the uninterrupted one). With ``confident`` (a second student on the same frames) the points are
    :func:`combine_students` of the two students' points; a ``record`` dict gets ``bridge_reach_px``
    and ``bridged_points``.
    """
    checkpoint_seconds = CHECKPOINT_SECONDS if checkpoint_seconds is None else checkpoint_seconds
    config = student.config
    students = [student] if confident is None else [student, confident]
    _check_pair(students)
    chunk = next((s.state_reset for s in students if s.config.recurrent and s.state_reset > 0), batch_size)
    streams = [_stream(s, batch_size) for s in students]
    stream = streams[0] if confident is None else _PairedStream(*streams)
    signature = None
    if checkpoint is not None:
        signature = "|".join([_signature(s, info, crop) for s in students] + (["both students' points"] if confident else []))
    out, done = [], 0
    saved = _load_checkpoint(checkpoint, signature)
    if saved is not None:
        out, done = [saved["predictions"]], len(saved["predictions"])
        stream.restore(saved)
        logger.info(f"{info.path.name}: resuming at frame {done} of {info.n_frames} ({checkpoint.name})")
    reader = FrameReader(info, crop, config.scale, config.channels, chunk, start=done, prefix=stream.context)
    bar = tqdm(total=info.n_frames, initial=done, desc=info.path.name, unit="frame", disable=not progress)
    since_trim, last_save = 0, time.monotonic()
    try:
        chunks = iter(reader)
        if done and stream.context:
            stream.prime(next(chunks))
        for frames in chunks:
            since_trim += len(frames)
            if since_trim >= TRIM_EVERY:
                release_freed_memory()
                since_trim = 0
            peaks = stream.step(frames)
            out.append(peaks)
            bar.update(len(frames))
            if checkpoint is not None and len(peaks) and time.monotonic() - last_save >= checkpoint_seconds:
                out = [np.concatenate(out)]
                _save_checkpoint(checkpoint, signature, out[0], stream)
                last_save = time.monotonic()
        out.append(stream.finish())
    finally:
        bar.close()
    predictions = np.concatenate(out)
    if len(predictions) < info.n_frames:
        warnings.warn(f"{info.path}: its header says {info.n_frames} frames, only {len(predictions)} decode; "
                      "the predictions cover those (as deeplabcut's do). If the video is cut short, re-encode "
                      "it (e.g. ffmpeg -i in -c:v libx264 out.mp4) and analyze it again with overwrite=True",
                      stacklevel=2)
    predictions[..., :2] = to_full_frame(predictions[..., :2], crop, config.scale)
    if confident is None:
        return predictions
    predictions[..., 3:5] = to_full_frame(predictions[..., 3:5], crop, config.scale)
    main, second = predictions[..., :3], predictions[..., 3:]
    combined, reach = combine_students(main, second, handoff, bridge_max_gap)
    bridged = bridged_points(combined, main, second, handoff)
    if record is not None:
        record.update(bridge_reach_px=reach, bridged_points=bridged)
    if bridge_max_gap > 0 and reach == 0:
        warnings.warn(f"{info.path}: no gaps bridged: fewer than {BRIDGE_MIN_AGREEING} points that both students "
                      "are sure of (or no disagreement on them) to scale the bridges' reach by", stacklevel=2)
    elif progress and bridge_max_gap > 0:
        logger.info(f"{info.path.name}: {bridged} points bridged (gaps up to {bridge_max_gap} frames, main student "
              f"within {reach:.2f} px of the line)")
    return combined


def combine_predictions(predictions: np.ndarray, confident: np.ndarray, handoff: float = HANDOFF_LIKELIHOOD,
                        bridge_max_gap: int = 0, reach: float = 0.0, weight: float = BRIDGE_WEIGHT) -> np.ndarray:
    """Point by point: ``confident``'s prediction (x, y, likelihood) where its likelihood is at least
    ``handoff``, ``predictions``' elsewhere (both (n_frames, K, 3), of the same frames).

    With ``bridge_max_gap`` > 0, in each run of at most that many frames where ``confident`` is under
    ``handoff`` between two frames where it is not, on the frames where ``predictions`` lies within
    ``reach`` of the straight line between its two sure positions, x, y move ``weight`` of the way
    from ``predictions``' point to that line (the likelihood stays ``predictions``'); elsewhere
    ``predictions``' point stays.
    """
    combined = np.where(confident[..., 2:] >= handoff, confident, predictions)
    sure = confident[..., 2] >= handoff
    frames = np.arange(len(combined))
    for part in range(combined.shape[1]):
        gaps = short_gaps(sure[:, part], bridge_max_gap)
        if not gaps.any():
            continue
        line = np.stack([np.interp(frames[gaps], frames[sure[:, part]], confident[sure[:, part], part, axis])
                         for axis in range(2)], axis=-1)
        points = predictions[gaps, part, :2]
        near = np.hypot(*(points - line).T) <= reach
        combined[frames[gaps][near], part, :2] = (points + weight * (line - points))[near]
    return combined


def combine_students(predictions: np.ndarray, confident: np.ndarray, handoff: float = HANDOFF_LIKELIHOOD,
                     bridge_max_gap: int = BRIDGE_MAX_GAP, tolerance: float = BRIDGE_TOLERANCE,
                     weight: float = BRIDGE_WEIGHT) -> tuple[np.ndarray, float]:
    """Two students' points of one video as analyze_videos combines them: ``combine_predictions`` with
    the reach of :func:`bridge_reach` on these points; returns the combined points and the reach (px)."""
    reach = bridge_reach(predictions, confident, handoff, tolerance) if bridge_max_gap > 0 else 0.0
    return combine_predictions(predictions, confident, handoff, bridge_max_gap, reach, weight), reach


def bridged_points(combined: np.ndarray, predictions: np.ndarray, confident: np.ndarray,
                   handoff: float = HANDOFF_LIKELIHOOD) -> int:
    """How many points of ``combine_predictions(predictions, confident, handoff, ...)`` a bridge moved:
    those where ``confident`` is under ``handoff`` (so the handoff kept ``predictions``) and x, y differ."""
    unsure = confident[..., 2] < handoff
    return int(np.count_nonzero(unsure & (combined[..., :2] != predictions[..., :2]).any(-1)))


def bridge_reach(predictions: np.ndarray, confident: np.ndarray, handoff: float = HANDOFF_LIKELIHOOD,
                 tolerance: float = BRIDGE_TOLERANCE) -> float:
    """How near a bridge's line the main student must be: ``tolerance`` x the two students' median
    distance on the points where both pass ``handoff`` (so it follows the video's scale and how well
    the students were trained); 0 (no bridging) with fewer than BRIDGE_MIN_AGREEING such points."""
    both = (predictions[..., 2] >= handoff) & (confident[..., 2] >= handoff)
    if np.count_nonzero(both) < BRIDGE_MIN_AGREEING:
        return 0.0
    return float(tolerance * np.median(np.hypot(*(predictions[both, :2] - confident[both, :2]).T)))


def _stream(student: Student, batch_size: int):
    if not student.config.recurrent:
        return _FrameStream(student, batch_size)
    if student.bidirectional:
        return _BidirectionalStream(student, batch_size)
    return _RecurrentStream(student, batch_size)


def predict_frames(student: Student, frames: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Peaks (N, K, 3) in stored pixels on N consecutive frames (N, H, W, C) uint8, as
    ``analyze_videos`` makes them on a video that starts with these frames (same segments and state)."""
    stream = _stream(student, batch_size)
    frames = models.pad_images(frames)
    chunk = student.state_reset if student.config.recurrent and student.state_reset > 0 else max(len(frames), 1)
    out = [stream.step(frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    return np.concatenate([*out, stream.finish()])


def _check_pair(students: list[Student]) -> None:
    """Two students share one decoded stream: the same frames (scale, channels), body parts and segments."""
    if len(students) < 2:
        return
    first, second = students
    for key in ("scale", "channels", "bodyparts"):
        if getattr(first.config, key) != getattr(second.config, key):
            raise ProjectError(
                f"{second.folder}: this student was trained with {key} {getattr(second.config, key)}, the main "
                f"student ({first.folder}) with {getattr(first.config, key)}; two students analyze a video together "
                "only if they read the same frames: retrain one with the other's setting")
    segments = [s.state_reset for s in students if s.config.recurrent]
    if len(set(segments)) > 1:  # one stream would carry its state past the frames both have predicted
        raise ProjectError(f"both recurrent students must use the same state_reset (segments), got {segments}")
    if any(s.bidirectional and s.state_reset <= 0 for s in students):
        raise ProjectError("a bidirectional student analyzes in segments: state_reset must be > 0 for both "
                           f"students, got {segments[0]}")


def _signature(student: Student, info: VideoInfo, crop: Crop) -> str:
    """What must not change for a checkpoint to be resumed: the video, the crop and the student."""
    weights = student.folder / WEIGHTS_NAME if student.folder is not None else None
    stat = info.path.stat()
    return json.dumps({
        "video": str(info.path.resolve()), "video_bytes": stat.st_size, "video_mtime_ns": stat.st_mtime_ns,
        "n_frames": info.n_frames, "crop": [crop.x1, crop.x2, crop.y1, crop.y2],
        "student": str(student.folder.resolve()) if student.folder is not None else None,
        "weights_mtime_ns": weights.stat().st_mtime_ns if weights else None,
        "state_reset": student.state_reset, "config": repr(student.config),
        "versions": [__version__, cv2.__version__, tf.__version__],
    }, sort_keys=True)


def _load_checkpoint(path: Path | None, signature: str) -> dict | None:
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path) as saved:
            data = {key: saved[key] for key in saved.files}
    except Exception:  # a checkpoint that cannot be read is only lost time, never lost results
        logger.warning(f"{path.name}: unreadable checkpoint; analyzing from the start")
        return None
    if str(data.get("signature")) != signature:
        logger.warning(f"{path.name}: left by another student, video or version; analyzing from the start")
        return None
    return data


def _save_checkpoint(path: Path, signature: str, predictions: np.ndarray, stream) -> None:
    atomic_write(path, lambda tmp: np.savez(tmp, signature=np.array(signature), predictions=predictions,
                                            **stream.carried_state()))


class _FrameStream:
    """The single-frame student: no context, nothing carried between chunks."""

    context = 0

    def __init__(self, student: Student, batch_size: int):
        self.student, self.batch_size = student, batch_size

    def step(self, frames: np.ndarray) -> np.ndarray:
        return in_batches(self.student.predict, frames, self.batch_size).numpy()

    def finish(self) -> np.ndarray:
        return _no_peaks(self.student)

    def carried_state(self) -> dict:
        return {}

    def restore(self, saved: dict) -> None:
        pass


class _RecurrentStream:
    """Runs consecutive chunks of a video through the split ConvLSTM-LEAP.

    With ``state_reset`` > 0 every chunk restarts from a zero state on the encoder features of the
    ``window_length - 1`` frames before it (a burn-in), so chunks are independent of each other;
    with 0 the state is carried through the whole video.
    """

    def __init__(self, student: Student, batch_size: int):
        self.student, self.batch_size = student, batch_size
        self.burn_in = student.window_length - 1 if student.state_reset > 0 else 0
        self.context = self.burn_in  # frames before a resumed segment that it needs again
        self.history = None
        self.state = None

    def step(self, frames: np.ndarray) -> np.ndarray:
        features = in_batches(self.student.encode, frames, self.batch_size)
        if self.state is None or self.burn_in:
            self.state = self.student.zero_state(features)
        sequence = features if self.history is None else tf.concat([self.history, features], 0)
        hidden_sequence, hidden, cell = self.student.recur(sequence, *self.state)
        if self.burn_in:
            self.history = sequence[-self.burn_in :]
        else:
            self.state = (hidden, cell)
        kept = self.student.decoder_input(features, hidden_sequence[len(sequence) - len(frames) :])
        return in_batches(self.student.decode, kept, self.batch_size).numpy()

    def finish(self) -> np.ndarray:
        """Predictions still held back at the end of the video (none: every chunk is done at once)."""
        return _no_peaks(self.student)

    def prime(self, frames: np.ndarray) -> None:
        """Resume: the burn-in frames before the next segment."""
        self.history = in_batches(self.student.encode, frames, self.batch_size)[-self.burn_in :]

    def carried_state(self) -> dict:
        if self.burn_in or self.state is None:
            return {}
        return {"hidden": self.state[0].numpy(), "cell": self.state[1].numpy()}

    def restore(self, saved: dict) -> None:
        if "hidden" in saved:
            self.state = (tf.constant(saved["hidden"]), tf.constant(saved["cell"]))


class _PairedStream:
    """Two students' streams on the same chunks; both predictions side by side, (n, K, 3 + 3).

    One stream may hold predictions back (the bidirectional one, until the frames after a segment
    are read): only frames both have predicted come out, so a checkpoint is at a boundary of both.
    """

    def __init__(self, main, confident):
        self.streams = (main, confident)
        self.context = max(main.context, confident.context)
        self.pending = [_no_peaks(main.student), _no_peaks(confident.student)]

    def _ready(self, outputs) -> np.ndarray:
        self.pending = [np.concatenate([held, new]) for held, new in zip(self.pending, outputs)]
        ready = min(len(held) for held in self.pending)
        ready_points = np.concatenate([held[:ready] for held in self.pending], axis=-1)
        self.pending = [held[ready:] for held in self.pending]
        return ready_points

    def step(self, frames: np.ndarray) -> np.ndarray:
        return self._ready([stream.step(frames) for stream in self.streams])

    def finish(self) -> np.ndarray:
        ready = self._ready([stream.finish() for stream in self.streams])
        assert not any(len(held) for held in self.pending), "the two students predicted different frame counts"
        return ready

    def prime(self, frames: np.ndarray) -> None:
        for stream in self.streams:
            if stream.context:
                stream.prime(frames[-stream.context :])

    def carried_state(self) -> dict:
        return {f"{i}_{key}": value for i, stream in enumerate(self.streams)
                for key, value in stream.carried_state().items()}

    def restore(self, saved: dict) -> None:
        for i, stream in enumerate(self.streams):
            stream.restore({key[len(f"{i}_"):]: value for key, value in saved.items() if key.startswith(f"{i}_")})


def in_batches(function, tensor, batch_size: int) -> tf.Tensor:
    """``function`` over the first axis of ``tensor`` in pieces of ``batch_size`` (bounded memory)."""
    return tf.concat([function(tensor[i : i + batch_size]) for i in range(0, len(tensor), batch_size)], 0)


def _no_peaks(student: Student) -> np.ndarray:
    return np.zeros((0, len(student.config.bodyparts), 3), np.float32)


class _BidirectionalStream:
    """Runs a video through the bidirectional student in segments of ``state_reset`` frames.

    Each segment gets ``window_length - 1`` frames of context on both sides: the forward ConvLSTM
    starts from a zero state that many frames before it, the backward one that many frames after
    it. Every frame therefore sees at least the context of a training window in both directions,
    and each segment equals the whole network run on the segment with its context. A segment's
    predictions come out once the frames after it have been read; ``finish`` flushes the last.
    """

    def __init__(self, student: Student, batch_size: int):
        self.student, self.batch_size = student, batch_size
        if student.state_reset <= 0:
            raise ValueError("the bidirectional student needs state_reset > 0 (frames per segment)")
        self.context = student.window_length - 1
        self.features = None  # features not yet predicted, after up to `context` already predicted
        self.done = 0  # how many leading rows of self.features were already predicted

    def step(self, frames: np.ndarray, final: bool = False) -> np.ndarray:
        if len(frames):
            features = in_batches(self.student.encode, frames, self.batch_size)
            self.features = features if self.features is None else tf.concat([self.features, features], 0)
        out = [_no_peaks(self.student)]
        while self.features is not None and len(self.features) > self.done:
            pending = len(self.features) - self.done
            if not final and pending < self.student.state_reset + self.context:
                break
            start, count = self.done, min(self.student.state_reset, pending)
            history = self.features[: start + count]
            forward = self.student.recur(history, *self.student.zero_state(history))[0][start:]
            ahead = self.features[start : start + count + self.context][::-1]
            backward = self.student.recur_backward(ahead, *self.student.zero_state(ahead))[0][::-1][:count]
            hidden = self.student.decoder_input(self.features[start : start + count], tf.concat([forward, backward], -1))
            out.append(in_batches(self.student.decode, hidden, self.batch_size).numpy())
            keep = max(0, start + count - self.context)
            self.features, self.done = self.features[keep:], start + count - keep
        return np.concatenate(out)

    def finish(self) -> np.ndarray:
        return self.step(np.zeros((0,)), final=True)

    def prime(self, frames: np.ndarray) -> None:
        """Resume: the ``context`` frames before the next segment, already predicted."""
        self.features = in_batches(self.student.encode, frames, self.batch_size)
        self.done = len(self.features)

    def carried_state(self) -> dict:
        return {}

    def restore(self, saved: dict) -> None:
        pass


def predict_windowed_reference(student: Student, info: VideoInfo, crop: Crop, frames: range | None = None) -> np.ndarray:
    """The naive reference: each frame's maps from its own window of ``window_length`` frames.

    Recomputes a whole window per frame (window_length times the work); used to check the
    streaming predictions and as the slow baseline in the benchmark.
    """
    config = student.config
    length = config.window_length
    reader = FrameReader(info, crop, config.scale, config.channels, info.n_frames)
    video = np.concatenate(list(reader))
    frames = frames if frames is not None else range(len(video))
    window_spec = tf.TensorSpec([1, None, None, None, config.channels], tf.uint8)
    model = tf.function(lambda window: find_peaks(student.network(window, training=False)[:, -1], config.map_amplitude),
                        input_signature=[window_spec])
    rows = [model(video[max(0, t - length + 1) : t + 1][None]).numpy()[0] for t in frames]
    predictions = np.stack(rows)
    predictions[..., :2] = to_full_frame(predictions[..., :2], crop, config.scale)
    return predictions


def predictions_table(predictions: np.ndarray, scorer: str, bodyparts: list[str]) -> pd.DataFrame:
    """DLC's analyze_videos layout: index range(n_frames), columns scorer/bodyparts/coords."""
    columns = pd.MultiIndex.from_product([[scorer], bodyparts, ["x", "y", "likelihood"]],
                                         names=["scorer", "bodyparts", "coords"])
    return pd.DataFrame(predictions.reshape(len(predictions), -1).astype(np.float64), columns=columns,
                        index=range(len(predictions)))


def student_scorer(project: Project, shuffle: int, trainingsetindex: int, model: str,
                   snapshot_index: int | None = None) -> str:
    """The scorer deeplabcut's tools compute for this student (they find its files by it); with
    ``snapshot_index`` the one they compute when given it, otherwise config.yaml's snapshotindex."""
    from deeplabcut.pose_estimation_pytorch.apis.utils import get_scorer_name
    from deeplabcut.utils.auxiliaryfunctions import read_config

    try:
        return get_scorer_name(
            project.config_path,
            shuffle,
            training_fraction(project, trainingsetindex),
            snapshot_index=snapshot_index,
            modelprefix=modelprefix(model),
        )
    except ValueError as error:  # deeplabcut's tools would fail the same way on the student's files
        index = read_config(str(project.config_path)).get("snapshotindex")
        if index in (-1, "all"):
            raise
        raise ProjectError(
            f"{project.config_path}: snapshotindex: {index} names a snapshot the student's model folder does "
            f"not have (it holds one snapshot; deeplabcut says: {error}); set snapshotindex: -1 while you "
            "analyze videos with the student and use deeplabcut's tools on its predictions") from None


def _write_outputs(table: pd.DataFrame, metadata: dict, h5_path: Path, save_as_csv: bool) -> None:
    """Write the h5 (+ meta pickle, + csv), each atomically; the h5 last, as it marks the video done."""

    def write_meta(path):
        with open(path, "wb") as handle:
            pickle.dump({"data": metadata}, handle, pickle.HIGHEST_PROTOCOL)

    if save_as_csv:
        atomic_write(h5_path.with_suffix(".csv"), table.to_csv)
    atomic_write(meta_path(h5_path), write_meta)
    atomic_write(h5_path, lambda path: table.to_hdf(path, key="df_with_missing", format="table", mode="w"))


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
) -> str:
    """Analyze videos (files or folders) with a trained student; returns the scorer, like deeplabcut.

    Writes ``<video stem><scorer>.h5`` (+ ``_meta.pickle``, + ``.csv`` with ``save_as_csv``) next to
    each video or in ``destfolder``. Already analyzed videos are skipped unless ``overwrite``; a
    video that cannot be read is reported at the end while the others are analyzed. An interrupted
    video resumes where it stopped (``<h5 name>.resume.npz``, saved every minute, removed at the end).
    ``state_reset`` (recurrent model): frames per ConvLSTM segment, 0 carries the state through
    the whole video (default 4 x window_length).

    ``confident_shuffle`` (optional): a second student (``confident_model``, default ``model``),
    trained on the teacher's confident targets only (``create_training_set(config, shuffle=2,
    max_gap_fill=0)``), analyzes the same frames, in the main student's segments (``state_reset``);
    its points with likelihood >= ``handoff`` replace the main student's, and runs of at most
    ``bridge_max_gap`` frames (default BRIDGE_MAX_GAP; 0: none) where it is unsure are bridged where
    the main student agrees (``combine_predictions``). The output keeps the main student's scorer;
    its ``_meta.pickle`` records the second student, handoff, bridging and, per video, the bridges'
    reach (px) and how many points they replaced.

    DLC 3's names work too: ``video_extensions`` (for ``videotype``), ``device`` ("cpu", "cuda:1";
    for ``gputouse``; default: the first GPU, or the CPU) and ``snapshot_index`` (a student folder
    holds one snapshot: 0 or -1; it overrides config.yaml's ``snapshotindex``). ``shuffle`` is the
    student's (``dlc_recurrent.train(config, shuffle=...)``), not your DLC network's.

    ``shard=(i, n)`` analyzes only the i-th of n shares of the videos (sorted by path, every n-th
    from the i-th), for the jobs of a cluster array. Each video is locked while analyzed
    (``<h5 name>.lock``): a second process that reaches it meanwhile leaves it to the first.
    """
    project = load_project(config)
    with tf.device(select_device(device, gputouse)):
        return _analyze_videos(project, videos, video_extension_list(videotype, video_extensions), shuffle,
                               trainingsetindex, save_as_csv, destfolder, batch_size, overwrite, model, state_reset,
                               progress, confident_shuffle, confident_model, handoff, bridge_max_gap,
                               _one_snapshot(snapshot_index), _shard(shard))


def video_extension_list(videotype: str | list[str] | None, video_extensions: str | list[str] | None):
    """DLC 2's ``videotype`` or DLC 3's ``video_extensions`` (both only if they agree); None: any video."""
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


def _analyze_videos(project: Project, videos, extensions, shuffle: int, trainingsetindex: int, save_as_csv: bool,
                    destfolder, batch_size: int | None, overwrite: bool, model: str, state_reset: int | None,
                    progress: bool, confident_shuffle: int | None, confident_model: str | None, handoff: float,
                    bridge_max_gap: int | None, snapshot_index: int | None, shard: tuple[int, int] | None) -> str:
    from deeplabcut.utils.auxfun_videos import collect_video_paths

    student = load_trained_student(project, shuffle, trainingsetindex, model, state_reset)
    confident = load_confident(project, student, shuffle, trainingsetindex, model, state_reset,
                                confident_shuffle, confident_model, handoff, bridge_max_gap)
    bridge_max_gap = BRIDGE_MAX_GAP if bridge_max_gap is None else bridge_max_gap
    combination = _combination(confident, confident_shuffle, handoff, bridge_max_gap)
    scorer = student_scorer(project, shuffle, trainingsetindex, model, snapshot_index)
    batch_size = batch_size or DEFAULT_BATCH_SIZE
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

    failed, short = [], []
    for video in paths:
        folder = Path(destfolder) if destfolder is not None else video.parent
        h5_path = folder / f"{video.stem}{scorer}.h5"
        record = own_output_record(h5_path) if h5_path.exists() else None
        if h5_path.exists() and record is None and meta_is_damaged(h5_path):
            raise ProjectError(
                f"{meta_path(h5_path)}: damaged, so whether {h5_path.name} is the student's output cannot be told; "
                "if dlc-recurrent wrote it, delete both files and analyze again (a teacher's file is never touched)"
            )
        if h5_path.exists() and record is None:
            raise ProjectError(
                f"{h5_path}: exists and was not written by dlc-recurrent (a teacher's predictions?); "
                f"refusing to overwrite it; analyze with another shuffle or destfolder"
            )
        if h5_path.exists() and not overwrite:
            made_with = record.get("confident_student")
            if not same_combination(made_with, combination):
                logger.info(f"{video.name}: already analyzed ({h5_path.name}) {_describe(made_with)}, not "
                      f"{_describe(combination)}; pass overwrite=True to redo it.")
            else:
                logger.info(f"{video.name}: already analyzed ({h5_path.name}); pass overwrite=True to redo it.")
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
            checkpoint = h5_path.with_name(h5_path.name + RESUME_SUFFIX)
            try:
                info = read_video_info(video)
                crop = video_crop(project, info)
                for output in (h5_path, meta_path(h5_path), h5_path.with_suffix(".csv"), checkpoint):
                    remove_interrupted_writes(output)
                started, bridging = time.time(), {}
                output_bytes = 3 * 8 * 3 * len(project.bodyparts) * info.n_frames  # h5, csv, resume file
                with explain_full_disk(folder, output_bytes, "analyze_videos"):
                    predictions = predict_video(student, info, crop, batch_size, progress, checkpoint=checkpoint,
                                                confident=confident, handoff=handoff,
                                                bridge_max_gap=bridge_max_gap, record=bridging)
                stopped = time.time()
            except DiskFull:
                raise
            except ProjectError as error:
                failed.append((video, str(error)))
                continue
            if len(predictions) < info.n_frames:
                short.append((video, len(predictions), info.n_frames))
            info = replace(info, n_frames=len(predictions))  # fewer where the header overcounts
            metadata = _metadata(project, student, info, crop, scorer, batch_size, started, stopped, trainingsetindex)
            metadata[OWN_OUTPUT_KEY]["confident_student"] = None if combination is None else {**combination, **bridging}
            with explain_full_disk(folder, output_bytes, "analyze_videos"):
                _write_outputs(predictions_table(predictions, scorer, project.bodyparts), metadata, h5_path,
                               save_as_csv)
            checkpoint.unlink(missing_ok=True)
            logger.info(f"{video.name}: {len(predictions)} frames -> {h5_path}")

    if short:
        logger.warning(f"Fewer frames decoded than the header says ({len(short)}; predictions cover the decoded ones):")
        for video, decoded, header in short:
            logger.warning(f"  {video}: {decoded} of {header}")
    if failed:
        report = "; ".join(f"{video.name}: {message}" for video, message in failed)
        warnings.warn(f"{len(failed)} of {len(paths)} videos could not be analyzed: {report}", stacklevel=2)
        logger.warning(f"Not analyzed ({len(failed)}):")
        for video, message in failed:
            logger.warning(f"  {video}: {message}")
    return scorer


def load_confident(project: Project, student: Student, shuffle: int, trainingsetindex: int, model: str,
                    state_reset: int | None, confident_shuffle: int | None, confident_model: str | None,
                    handoff: float, bridge_max_gap: int | None) -> Student | None:
    """The second student of analyze_videos (None without ``confident_shuffle``), checked against the first."""
    if confident_shuffle is None:
        if confident_model is not None or handoff != HANDOFF_LIKELIHOOD or bridge_max_gap is not None:
            raise ProjectError("confident_model, handoff and bridge_max_gap only apply with confident_shuffle (the "
                               "shuffle of a student trained with max_gap_fill=0); pass it too, or drop them")
        return None
    confident_model = confident_model or model
    if (confident_shuffle, confident_model) == (shuffle, model):
        raise ProjectError(f"confident_shuffle={confident_shuffle} names the main student itself ({model}, "
                           f"shuffle {shuffle}); name the shuffle trained with max_gap_fill=0")
    if not 0 < handoff <= 1:
        raise ProjectError(f"handoff must be a likelihood in (0, 1], got {handoff}")
    if bridge_max_gap is not None and (isinstance(bridge_max_gap, bool) or bridge_max_gap < 0
                                       or not isinstance(bridge_max_gap, (int, np.integer))):
        raise ProjectError(f"bridge_max_gap must be a whole number of frames >= 0 (0: no bridging), got {bridge_max_gap!r}")
    segments = student.state_reset if student.config.recurrent else state_reset  # one stream: the same segments
    folder = model_folder(project, confident_shuffle, trainingsetindex, confident_model) / "train"
    if not (folder / WEIGHTS_NAME).is_file():
        raise ProjectError(
            f"{folder}: no trained {confident_model} student for confident_shuffle={confident_shuffle}; build and "
            f"train it: create_training_set(config, shuffle={confident_shuffle}, max_gap_fill=0), then "
            f"train(config, shuffle={confident_shuffle}, model={confident_model!r})")
    confident = load_trained_student(project, confident_shuffle, trainingsetindex, confident_model, segments)
    _check_pair([student, confident])
    spec = built_with(project, confident_shuffle, trainingsetindex)
    if spec is not None and spec.get("max_gap_fill", 0) > 0:
        warnings.warn(f"shuffle {confident_shuffle}'s training set fills teacher gaps (max_gap_fill="
                      f"{spec['max_gap_fill']}); the confident student is meant to learn the teacher's confident "
                      f"targets only: create_training_set(config, shuffle={confident_shuffle}, max_gap_fill=0, "
                      "overwrite=True) and train it again", stacklevel=3)
    return confident


def _combination(confident: Student | None, confident_shuffle: int | None, handoff: float,
                 bridge_max_gap: int) -> dict | None:
    """How a second student took part (recorded in the output's meta), None when it did not."""
    if confident is None:
        return None
    return {"shuffle": confident_shuffle, "model": confident.config.model, "handoff": float(handoff),
            "bridge_max_gap": int(bridge_max_gap), "bridge_tolerance": BRIDGE_TOLERANCE,
            "bridge_weight": BRIDGE_WEIGHT,
            "state_reset": confident.state_reset if confident.config.recurrent else None,
            "model_folder": str(confident.folder)}


def same_combination(recorded: dict | None, requested: dict | None) -> bool:
    """Same second student (shuffle, model), handoff and bridging; where the project lies does not matter."""
    if recorded is None or requested is None:
        return recorded == requested
    return _bridging(recorded) == _bridging(requested) and all(
        recorded.get(key) == requested[key] for key in ("shuffle", "model", "handoff"))


def _bridging(combination: dict) -> tuple:
    """(max gap, tolerance, weight), or (0, None, None) without bridges (outputs written before bridging
    had none; those of the first version moved points all the way, weight 1)."""
    max_gap = combination.get("bridge_max_gap", 0)
    if not max_gap:
        return 0, None, None
    return max_gap, combination.get("bridge_tolerance"), combination.get("bridge_weight", 1.0)


def _describe(combination: dict | None) -> str:
    if combination is None:
        return "by the main student alone"
    max_gap, tolerance, weight = _bridging(combination)
    bridging = f"gaps up to {max_gap} frames bridged, tolerance {tolerance}, weight {weight}" if max_gap else "no bridging"
    return (f"with the confident student of shuffle {combination.get('shuffle')} ({combination['model']}, "
            f"handoff {combination['handoff']}, {bridging})")


def _metadata(project: Project, student: Student, info: VideoInfo, crop: Crop, scorer: str, batch_size: int,
              started: float, stopped: float, trainingsetindex: int) -> dict:
    """The ``_meta.pickle`` fields deeplabcut's tools read, plus what really made the file."""
    full_frame = (crop.x1, crop.x2, crop.y1, crop.y2) == (0, info.width, 0, info.height)
    config = student.config
    return {
        "start": started,
        "stop": stopped,
        "run_duration": stopped - started,
        "Scorer": scorer,
        "pytorch-config": str(student.folder / "pytorch_config.yaml"),
        "fps": info.fps,
        "batch_size": batch_size,
        "frame_dimensions": (info.width, info.height),
        "nframes": info.n_frames,
        "iteration (active-learning)": project.iteration,
        "training set fraction": training_fraction(project, trainingsetindex),
        "cropping": not full_frame,
        "cropping_parameters": [crop.x1, crop.x2, crop.y1, crop.y2],
        "bodyparts": project.bodyparts,
        OWN_OUTPUT_KEY: {
            "version": __version__,
            "model": config.model,
            "window_length": config.window_length,
            "state_reset": student.state_reset if config.recurrent else None,
            "epochs": config.epochs,
            "scale": config.scale,
            "model_folder": str(student.folder),
            "note": "Predictions of a dlc-recurrent student; the net name in the scorer is borrowed "
                    "so that deeplabcut's tools find this file.",
        },
    }
