"""Streaming a video through a student, chunk by chunk, with checkpoints an interrupted run resumes from.

The recurrent student never recomputes a window per frame: the encoder runs once per frame, and the
ConvLSTM runs over segments of ``state_reset`` frames, each started from a zero state on the
``window_length - 1`` frames before it (their encoder features are kept), so every frame sees at
least the context it was trained with and the state never drifts over a long video (segments can
run side by side as one batch: MAX_SEGMENTS_PER_STEP). One stream
class per kind of student (single frame, recurrent, bidirectional) and one for two students on the
same frames; each can save what it carries and go on from it.
"""

from __future__ import annotations

import ctypes
import json
import logging
import time
import warnings
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from dlc_recurrent import models
from dlc_recurrent._tensorflow import tf
from dlc_recurrent._version import __version__
from dlc_recurrent.fileio import atomic_write
from dlc_recurrent.frames import Crop, VideoInfo, scaled_size, to_full_frame
from dlc_recurrent.inference.pairing import (
    BRIDGE_MAX_GAP,
    BRIDGE_MIN_AGREEING,
    HANDOFF_LIKELIHOOD,
    bridged_points,
    check_pair,
    combine_students,
)
from dlc_recurrent.inference.reader import FrameReader
from dlc_recurrent.inference.student import DEFAULT_BATCH_SIZE, Student, find_peaks, in_batches
from dlc_recurrent.layout import WEIGHTS_NAME

logger = logging.getLogger(__name__)


#: at most this often (seconds) analyze_videos saves the checkpoint of the video it is analyzing
CHECKPOINT_SECONDS = 60.0


#: frames between two calls of release_freed_memory while a video streams
TRIM_EVERY = 2000


#: at most this many ConvLSTM segments run side by side as one batch. One on a CPU: several side by
#: side made the recurrence faster per frame but the whole analysis slower, with more memory
#: (benchmarks/RESULTS.md, "analysis speed"); not yet measured on a GPU
MAX_SEGMENTS_PER_STEP = 1

#: and only as many as keep one step's encoder features (with burn-in) under this many bytes, so
#: high-resolution frames go one segment at a time as before
SEGMENT_BATCH_BYTES = 256 * 2**20


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


def predict_video(student: Student, info: VideoInfo, crop: Crop, batch_size: int = DEFAULT_BATCH_SIZE,
                  progress: bool = True, checkpoint: Path | None = None, checkpoint_seconds: float | None = None,
                  confident: Student | None = None, handoff: float = HANDOFF_LIKELIHOOD,
                  bridge_max_gap: int = BRIDGE_MAX_GAP, record: dict | None = None) -> np.ndarray:
    """One video's predictions, streamed: decoded once, in chunks, in constant memory whatever its length.

    Args:
        student: the trained student.
        info: the video.
        crop: the region of the video the student sees (full-frame pixels).
        batch_size: frames per network call.
        progress: show a progress bar.
        checkpoint: a ``.npz`` path: the predictions so far, and what the stream needs to go on, are
            saved there; a later call with the same student and video resumes from it (at a segment
            boundary, so the result is the uninterrupted one).
        checkpoint_seconds: at most this often the checkpoint is saved (default CHECKPOINT_SECONDS).
        confident: a second student on the same frames: the points are then :func:`combine_students`
            of the two students' points.
        handoff: with ``confident``, the likelihood from which its points are kept.
        bridge_max_gap: with ``confident``, the longest unsure run bridged (0: none).
        record: with ``confident``, a dict that gets ``bridge_reach_px`` and ``bridged_points``.

    Returns:
        (T, K, 3) float: x, y in full-frame pixels and likelihood of every frame that decodes (T is the
        header's frame count unless the video is cut short).
    """
    checkpoint_seconds = CHECKPOINT_SECONDS if checkpoint_seconds is None else checkpoint_seconds
    config = student.config
    students = [student] if confident is None else [student, confident]
    check_pair(students)
    chunk = frames_per_step(students, batch_size, crop, config.scale)
    streams = [make_stream(s, batch_size) for s in students]
    stream = streams[0] if confident is None else PairedStream(*streams)
    signature = None
    if checkpoint is not None:
        signature = "|".join([_signature(s, info, crop) for s in students]
                             + (["both students' points"] if confident else []))
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


def frames_per_step(students: list[Student], batch_size: int, crop: Crop, scale: float) -> int:
    """Frames decoded and predicted per step: a batch for single-frame students; for a recurrent student
    whole segments, as many as MAX_SEGMENTS_PER_STEP and SEGMENT_BATCH_BYTES allow (at least one), and
    segments shorter than a batch side by side up to a batch of frames (``state_reset=1``: 8 windows
    in one ConvLSTM scan instead of 8 scans).

    Args:
        students: the students that share the stream (the first recurrent one with segments decides).
        batch_size: frames per network call.
        crop: the region of the video the students see, full-frame pixels.
        scale: the resize factor of the stored frames.

    Returns:
        ``batch_size`` without a recurrent student with segments; else a whole number of segments
        (``state_reset`` frames each).
    """
    recurrent = next((s for s in students if s.config.recurrent and s.state_reset > 0), None)
    if recurrent is None:
        return batch_size
    rows, columns = (-(-scaled_size(size, scale) // models.SIZE_MULTIPLE) for size in (crop.height, crop.width))
    segment_bytes = rows * columns * recurrent.feature_channels * 4 * (recurrent.state_reset + recurrent.window_length)
    wanted = max(MAX_SEGMENTS_PER_STEP, -(-batch_size // recurrent.state_reset))
    return recurrent.state_reset * max(1, min(wanted, SEGMENT_BATCH_BYTES // segment_bytes))


def make_stream(student: Student, batch_size: int):
    """The stream that runs a video through ``student`` chunk by chunk, by kind: frames, recurrent or
    bidirectional.

    Args:
        student: the trained student (its ``state_reset`` sets the segments).
        batch_size: frames per network call.

    Returns:
        A :class:`FrameStream`, :class:`RecurrentStream` or :class:`BidirectionalStream`: ``step(frames)``
        takes consecutive stored frames (n, H, W, C) uint8 and returns the peaks (m, K, 3) of those it
        has finished, in stored pixels; ``finish()`` returns the rest.
    """
    if not student.config.recurrent:
        return FrameStream(student, batch_size)
    if student.bidirectional:
        return BidirectionalStream(student, batch_size)
    return RecurrentStream(student, batch_size)


def predict_frames(student: Student, frames: np.ndarray, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """A student's points on frames already in memory, as ``analyze_videos`` makes them on a video that
    starts with these frames (same segments and state).

    Args:
        student: the trained student.
        frames: (N, H, W, C) uint8, consecutive stored (cropped, scaled) frames; padded here to a
            multiple of 4.
        batch_size: frames per network call.

    Returns:
        (N, K, 3) float32: x, y in stored pixels and likelihood.
    """
    stream = make_stream(student, batch_size)
    frames = models.pad_images(frames)
    height, width = frames.shape[1:3]
    chunk = frames_per_step([student], max(len(frames), 1), Crop(0, width, 0, height), 1.0)
    out = [stream.step(frames[i : i + chunk]) for i in range(0, len(frames), chunk)]
    return np.concatenate([*out, stream.finish()])


def _signature(student: Student, info: VideoInfo, crop: Crop) -> str:
    """What must not change for a checkpoint to be resumed: the video, the crop and the student."""
    weights = student.folder / WEIGHTS_NAME if student.folder is not None else None
    stat = info.path.stat()
    return json.dumps({
        "video": str(info.path.resolve()), "video_bytes": stat.st_size, "video_mtime_ns": stat.st_mtime_ns,
        "n_frames": info.n_frames, "crop": [crop.x1, crop.x2, crop.y1, crop.y2],
        "student": str(student.folder.resolve()) if student.folder is not None else None,
        "weights_mtime_ns": weights.stat().st_mtime_ns if weights else None,
        "state_reset": student.state_reset, "config": repr(student.config), "precision": student.precision,
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


class FrameStream:
    """The single-frame student: no context, nothing carried between chunks.

    Args:
        student: the trained single-frame student.
        batch_size: frames per network call.
    """

    context = 0

    def __init__(self, student: Student, batch_size: int):
        self.student, self.batch_size = student, batch_size

    def step(self, frames: np.ndarray) -> np.ndarray:
        """Peaks (n, K, 3) of the frames (n, H, W, C)."""
        return in_batches(self.student.predict, frames, self.batch_size).numpy()

    def finish(self) -> np.ndarray:
        """Nothing is held back: no peaks."""
        return _no_peaks(self.student)

    def carried_state(self) -> dict:
        """Nothing to checkpoint."""
        return {}

    def restore(self, saved: dict) -> None:
        """Nothing to restore."""
        pass


class RecurrentStream:
    """Runs consecutive chunks of a video through the split ConvLSTM-LEAP.

    With ``state_reset`` > 0 every chunk restarts from a zero state on the encoder features of the
    ``window_length - 1`` frames before it (a burn-in), so chunks are independent of each other;
    with 0 the state is carried through the whole video.

    Args:
        student: the trained causal recurrent student (its ``state_reset`` sets the segments).
        batch_size: frames per encoder and decoder call.
    """

    def __init__(self, student: Student, batch_size: int):
        self.student, self.batch_size = student, batch_size
        self.burn_in = student.window_length - 1 if student.state_reset > 0 else 0
        self.context = self.burn_in  # frames before a resumed segment that it needs again
        self.history = None
        self.state = None

    def step(self, frames: np.ndarray) -> np.ndarray:
        """Peaks of consecutive frames: whole segments (the last of the video may be shorter), or any
        number of frames when the state is carried."""
        features = in_batches(self.student.encode, frames, self.batch_size)
        if self.burn_in:
            hidden_sequence = self._segments(features)
        else:
            if self.state is None:
                self.state = self.student.zero_state(features)
            hidden_sequence, *self.state = self.student.recur(features, *self.state)
        kept = self.student.decoder_input(features, hidden_sequence)
        return in_batches(self.student.decode, kept, self.batch_size).numpy()

    def _segments(self, features: tf.Tensor) -> tf.Tensor:
        """Hidden states of the frames, segment by segment, each from a zero state on its burn-in: those
        with a full burn-in side by side as one batch, those nearer the video's start (whose sequence
        then begins at frame 0) one by one from its first frame."""
        reset, burn_in = self.student.state_reset, self.burn_in
        start = 0 if self.history is None else len(self.history)
        sequence = features if self.history is None else tf.concat([self.history, features], 0)
        self.history = sequence[-burn_in:]
        hidden = []
        while start < min(burn_in, len(sequence)):
            early = sequence[: start + reset]
            hidden.append(self.student.recur(early, *self.student.zero_state(early))[0][start:])
            start += reset
        if start < len(sequence):
            length = burn_in + reset
            segments = [sequence[begin - burn_in : begin + reset] for begin in range(start, len(sequence), reset)]
            segments[-1] = tf.pad(segments[-1], [[0, length - len(segments[-1])], [0, 0], [0, 0], [0, 0]])
            batched = self.student.recur_segments(tf.stack(segments))[:, burn_in:]  # (segments, reset, h, w, F)
            hidden.append(tf.reshape(batched, [-1, *batched.shape[2:]])[: len(sequence) - start])
        return hidden[0] if len(hidden) == 1 else tf.concat(hidden, 0)

    def finish(self) -> np.ndarray:
        """Predictions still held back at the end of the video (none: every chunk is done at once)."""
        return _no_peaks(self.student)

    def prime(self, frames: np.ndarray) -> None:
        """Resume: the burn-in frames before the next segment."""
        self.history = in_batches(self.student.encode, frames, self.batch_size)[-self.burn_in :]

    def carried_state(self) -> dict:
        """What a checkpoint must keep: the carried ConvLSTM state (none with segments)."""
        if self.burn_in or self.state is None:
            return {}
        return {"hidden": self.state[0].numpy(), "cell": self.state[1].numpy()}

    def restore(self, saved: dict) -> None:
        """Take the carried state back from a checkpoint."""
        if "hidden" in saved:
            self.state = (tf.constant(saved["hidden"]), tf.constant(saved["cell"]))


class PairedStream:
    """Two students' streams on the same chunks; both predictions side by side, (n, K, 3 + 3).

    One stream may hold predictions back (the bidirectional one, until the frames after a segment
    are read): only frames both have predicted come out, so a checkpoint is at a boundary of both.

    Args:
        main: the main student's stream (:func:`make_stream`).
        confident: the confident student's stream, fed the same chunks.
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
        """Both students' peaks (m, K, 6) of the frames both have predicted so far."""
        return self._ready([stream.step(frames) for stream in self.streams])

    def finish(self) -> np.ndarray:
        """Both students' remaining peaks."""
        ready = self._ready([stream.finish() for stream in self.streams])
        assert not any(len(held) for held in self.pending), "the two students predicted different frame counts"
        return ready

    def prime(self, frames: np.ndarray) -> None:
        """Resume: each stream gets the context frames it needs."""
        for stream in self.streams:
            if stream.context:
                stream.prime(frames[-stream.context :])

    def carried_state(self) -> dict:
        """Both streams' carried state, keys prefixed by the stream's index."""
        return {f"{i}_{key}": value for i, stream in enumerate(self.streams)
                for key, value in stream.carried_state().items()}

    def restore(self, saved: dict) -> None:
        """Give each stream back its own carried state."""
        for i, stream in enumerate(self.streams):
            stream.restore({key[len(f"{i}_"):]: value for key, value in saved.items() if key.startswith(f"{i}_")})


def _no_peaks(student: Student) -> np.ndarray:
    return np.zeros((0, len(student.config.bodyparts), 3), np.float32)


class BidirectionalStream:
    """Runs a video through the bidirectional student in segments of ``state_reset`` frames.

    Each segment gets ``window_length - 1`` frames of context on both sides: the forward ConvLSTM
    starts from a zero state that many frames before it, the backward one that many frames after
    it. Every frame therefore sees at least the context of a training window in both directions,
    and each segment equals the whole network run on the segment with its context. A segment's
    predictions come out once the frames after it have been read; ``finish`` flushes the last.

    Args:
        student: the trained bidirectional student.
        batch_size: frames per encoder and decoder call.

    Raises:
        ValueError: a student without segments (``state_reset`` <= 0).
    """

    def __init__(self, student: Student, batch_size: int):
        self.student, self.batch_size = student, batch_size
        if student.state_reset <= 0:
            raise ValueError("the bidirectional student needs state_reset > 0 (frames per segment)")
        self.context = student.window_length - 1
        self.features = None  # features not yet predicted, after up to `context` already predicted
        self.done = 0  # how many leading rows of self.features were already predicted

    def step(self, frames: np.ndarray, final: bool = False) -> np.ndarray:
        """Peaks of the segments whose frames after them have been read (all of them when ``final``)."""
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
            hidden = self.student.decoder_input(self.features[start : start + count],
                                                tf.concat([forward, backward], -1))
            out.append(in_batches(self.student.decode, hidden, self.batch_size).numpy())
            keep = max(0, start + count - self.context)
            self.features, self.done = self.features[keep:], start + count - keep
        return np.concatenate(out)

    def finish(self) -> np.ndarray:
        """The peaks of the last segments."""
        return self.step(np.zeros((0,)), final=True)

    def prime(self, frames: np.ndarray) -> None:
        """Resume: the ``context`` frames before the next segment, already predicted."""
        self.features = in_batches(self.student.encode, frames, self.batch_size)
        self.done = len(self.features)

    def carried_state(self) -> dict:
        """Nothing to checkpoint: segments start from zero states."""
        return {}

    def restore(self, saved: dict) -> None:
        """Nothing to restore."""
        pass


def predict_windowed_reference(student: Student, info: VideoInfo, crop: Crop,
                               frames: range | None = None) -> np.ndarray:
    """The naive reference: each frame's maps from its own window of ``window_length`` frames.

    Recomputes a whole window per frame (window_length times the work); used to check the
    streaming predictions and as the slow baseline in the benchmark.

    Args:
        student: a trained recurrent student.
        info: the video (read whole into memory: keep it short).
        crop: the region of the video the student sees (full-frame pixels).
        frames: the frames to predict; default all. A frame nearer the start than ``window_length``
            gets the shorter window from frame 0.

    Returns:
        (len(frames), K, 3) float: x, y in full-frame pixels and likelihood.
    """
    config = student.config
    length = config.window_length
    reader = FrameReader(info, crop, config.scale, config.channels, info.n_frames)
    video = np.concatenate(list(reader))
    frames = frames if frames is not None else range(len(video))
    window_spec = tf.TensorSpec([1, None, None, None, config.channels], tf.uint8)
    model = tf.function(lambda window: find_peaks(student.network(window, training=False)[:, -1],
                                                  config.map_amplitude),
                        input_signature=[window_spec])
    rows = [model(video[max(0, t - length + 1) : t + 1][None]).numpy()[0] for t in frames]
    predictions = np.stack(rows)
    predictions[..., :2] = to_full_frame(predictions[..., :2], crop, config.scale)
    return predictions
