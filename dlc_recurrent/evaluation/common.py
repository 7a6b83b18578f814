"""What the evaluations share: loading a shuffle's students and training set, and the runner that turns
windows of stored frames into a student's peaks on their last frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from dlc_recurrent import models
from dlc_recurrent._tensorflow import tf
from dlc_recurrent.distill import TrainingSet, load_training_set
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.frames import Crop
from dlc_recurrent.inference.student import Student, find_peaks, in_batches, load_trained_student
from dlc_recurrent.kinds import MODEL_KINDS
from dlc_recurrent.layout import WEIGHTS_NAME, ShuffleLayout
from dlc_recurrent.project import Project


class Runner:
    """A student's maps -> peaks on frames (LEAP) or windows (last frame), in stored pixels.

    The recurrent student runs split: the encoder once per frame, its recurrent core over the window,
    the decoder on the last frame only (the same numbers as the whole network's last map).

    Args:
        student: the trained student to run.
        batch_size: windows per call of the recurrent core and decoder; frames go through LEAP and the
            encoder four times as many at once.
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
    """Stack arrays (..., H, W, C) of different H, W by zero padding at the bottom and right.

    Args:
        arrays: uint8 arrays of one shape but for H and W, e.g. windows (T, H, W, C).

    Returns:
        (N, ..., H_max, W_max, C) uint8, the arrays padded with zeros to the largest height and width.
    """
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

    Args:
        student: the trained student.
        trainset: the training set the windows are in (frames memory-mapped).
        windows: N rows of its windows table (columns ``video`` and ``first_row`` are read).
        batch_size: windows per network call.
        progress: show a progress bar.

    Returns:
        (N, K, 3) float32: x, y in stored-frame pixels and the likelihood, on each window's last frame.
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
    """The crop a training set's video record was stored with.

    Args:
        record: one entry of the training set's ``videos`` records (its ``crop``: [x1, x2, y1, y2]).

    Returns:
        The crop, in full-frame pixels.
    """
    x1, x2, y1, y2 = (int(v) for v in record["crop"])
    return Crop(x1, x2, y1, y2)


def load_students(project: Project, shuffle: int, trainingsetindex: int, kinds) -> dict[str, Student]:
    """The trained students of ``kinds`` for a shuffle, each with a one-line error when missing.

    Args:
        project: the DLC project.
        shuffle: the students' training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        kinds: the model kinds to load ("leap", "convlstm_leap", "bidirectional_leap").

    Returns:
        Each loaded student (full precision), by kind.

    Raises:
        ValueError: a kind that is not a model kind.
        ProjectError: a student not trained yet (train it with ``dlc_recurrent.train``), or one whose files
            cannot be used.
    """
    students = {}
    for kind in kinds:
        if kind not in MODEL_KINDS:
            raise ValueError(f"models must be among {MODEL_KINDS}, got {kind!r}")
        folder = ShuffleLayout.resolve(project, shuffle, trainingsetindex).train_folder(kind)
        try:
            students[kind] = load_trained_student(project, shuffle, trainingsetindex, kind)
        except ProjectError as error:
            if (folder / WEIGHTS_NAME).is_file():
                raise
            raise ProjectError(
                f"{folder}: no trained {kind} student for shuffle={shuffle}, trainingsetindex={trainingsetindex}; "
                f"run dlc_recurrent.train(config, model={kind!r}) first"
            ) from error
    return students


def load_trainset(project: Project, shuffle: int, trainingsetindex: int) -> TrainingSet:
    """The shuffle's training set (its frames stay on disk).

    Args:
        project: the DLC project.
        shuffle: the training set's shuffle number.
        trainingsetindex: the index of its training fraction in config.yaml.

    Returns:
        The training set, frames memory-mapped.

    Raises:
        ProjectError: no training set there, or a damaged one (rebuild it with ``create_training_set``).
    """
    return load_training_set(ShuffleLayout.resolve(project, shuffle, trainingsetindex).training_set)
