"""A trained student ready to predict: its network, config and segments, and the peaks of its maps.

Each map's peak (sub-pixel, by a parabola through the log-values around the maximum) becomes x, y
and its height, divided by the training maps' amplitude, the likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dlc_recurrent._tensorflow import tf
from dlc_recurrent.config import TrainingConfig, set_arguments
from dlc_recurrent.errors import ProjectError
from dlc_recurrent.inference.recurrence import decoder_input, split_bidirectional_model, split_recurrent_model
from dlc_recurrent.kinds import model_kind
from dlc_recurrent.layout import WEIGHTS_NAME, ShuffleLayout
from dlc_recurrent.project import Project
from dlc_recurrent.training import load_student

#: frames per network call on a GPU (and the default where the device is not known)
DEFAULT_BATCH_SIZE = 32

#: frames per network call on a CPU: smaller batches stay in its caches (faster than 32 there:
#: benchmarks/RESULTS.md, "analysis speed")
CPU_BATCH_SIZE = 8


def default_batch_size(device_type: str) -> int:
    """Frames per network call for analysis on a ``device_type`` ("CPU" or "GPU").

    Args:
        device_type: "CPU" or "GPU" (any case).

    Returns:
        ``CPU_BATCH_SIZE`` on a CPU, ``DEFAULT_BATCH_SIZE`` otherwise.
    """
    return CPU_BATCH_SIZE if device_type.upper() == "CPU" else DEFAULT_BATCH_SIZE


@dataclass
class Student:
    """A trained student ready for streaming inference, with its compiled pieces.

    Building it compiles, as ``tf.function``: ``predict`` (frames (B, H, W, C) uint8 -> peaks (B, K, 3))
    for LEAP; for the recurrent students ``encode``, ``recur`` (and ``recur_backward``), ``recur_segments``,
    ``decode`` and ``last_frame_peaks``, the network taken apart for streaming.

    Attributes:
        config: the student's settings (``dlc_recurrent.yaml``).
        folder: its ``train`` folder.
        network: the trained Keras model.
        state_reset: frames per ConvLSTM segment in analysis; 0: the state is carried through the whole
            video (not for the bidirectional student).
    """

    config: TrainingConfig
    folder: Path
    network: object
    state_reset: int

    @property
    def precision(self) -> str:
        """The Keras dtype policy the network computes in ("float32", "mixed_bfloat16", ...)."""
        policy = getattr(self.network, "dtype_policy", None)
        return getattr(policy, "name", "float32")

    def __post_init__(self):
        spatial = tf.TensorSpec([None, None, None, self.config.channels], tf.uint8)
        amplitude = self.config.map_amplitude
        if not self.config.recurrent:
            network = self.network
            self.predict = tf.function(lambda frames: find_peaks(network(frames, training=False), amplitude),
                                       input_signature=[spatial])
            return
        if self.bidirectional:
            encoder, recurrence, backward, decoder = split_bidirectional_model(self.network)
        else:
            encoder, recurrence, decoder = split_recurrent_model(self.network)
        features = self.feature_channels = encoder.output_shape[-1]
        feature_spec = tf.TensorSpec([None, None, None, features], tf.float32)
        state_spec = tf.TensorSpec([None, None, recurrence.filters], tf.float32)
        hidden_spec = tf.TensorSpec([None, None, None, decoder.input_shape[-1]], tf.float32)
        self.encode = tf.function(lambda frames: tf.cast(encoder(frames, training=False), tf.float32),
                                  input_signature=[spatial])
        skip = self.config.skip_connection
        self.decoder_input = lambda features, hidden: decoder_input(features, hidden, skip)
        self.decode = tf.function(lambda hidden: find_peaks(decoder(hidden, training=False), amplitude),
                                  input_signature=[hidden_spec])
        self.zero_state = recurrence.zero_state
        self.recur = tf.function(recurrence, input_signature=[feature_spec, state_spec, state_spec])
        windows_spec = tf.TensorSpec([None, None, None, None, features], tf.float32)
        self.recur_segments = tf.function(  # (N, n, h, w, F): N sequences from zero states, as one batch
            lambda sequences: recurrence.run(sequences)[0], input_signature=[windows_spec])
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
        """Whether the student also reads frames after the current one (``bidirectional_leap``)."""
        return not model_kind(self.config.model).causal

    @property
    def window_length(self) -> int:
        """Frames per training window (the context each frame gets at least)."""
        return self.config.window_length


def load_trained_student(
    project: Project, shuffle: int, trainingsetindex: int, model: str, state_reset: int | None = None,
    policy: str = "float32",
) -> Student:
    """The student trained for this project, shuffle and training fraction, ready to predict.

    Args:
        project: the DLC project.
        shuffle: the student's training-set number.
        trainingsetindex: the index of the training fraction in config.yaml.
        model: "leap", "convlstm_leap" or "bidirectional_leap".
        state_reset: frames per ConvLSTM segment in analysis, 0: one segment (default 4 x window_length).
        policy: the Keras dtype policy it computes in (``dlc_recurrent.precision.keras_policy``; full
            precision unless asked).

    Returns:
        The student, with its compiled pieces (``predict`` for LEAP; encode, recur, decode for the
        recurrent students).

    Raises:
        ValueError: an unknown model.
        ProjectError: no trained student there, or one trained on other body parts.
    """
    model_kind(model)  # a one-line error for a name that is not a kind
    folder = ShuffleLayout.resolve(project, shuffle, trainingsetindex).train_folder(model)
    if not (folder / WEIGHTS_NAME).is_file():
        where = set_arguments(shuffle, trainingsetindex)
        raise ProjectError(f"{folder}: no trained {model} student here; train it with dlc_recurrent.train(config, "
                           f"{where}, model={model!r}) (after dlc_recurrent.create_training_set(config, {where}) if "
                           "that set does not exist yet)")
    network, config = load_student(folder, policy)
    if config.bodyparts != project.bodyparts:
        raise ProjectError(
            f"{folder}: the student was trained on body parts {config.bodyparts}, config.yaml lists "
            f"{project.bodyparts}; retrain it (dlc_recurrent.train(config, overwrite=True))"
        )
    if state_reset is None:
        state_reset = 4 * config.window_length
    return Student(config=config, folder=folder, network=network, state_reset=int(state_reset))


def find_peaks(maps: tf.Tensor, amplitude: float) -> tf.Tensor:
    """Each map's peak as a point: argmax refined by a log-parabola fit.

    A Gaussian's log is a parabola, so fitting one through the maximum and its two neighbours
    along each axis recovers a Gaussian peak's centre exactly; where a neighbour is not positive
    the integer position is kept.

    Args:
        maps: (B, H, W, K), the student's maps.
        amplitude: the training maps' peak height.

    Returns:
        (B, K, 3) float32: x, y in the maps' pixels and the likelihood, the peak height / ``amplitude``
        clipped to [0, 1].
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


def in_batches(function, tensor, batch_size: int) -> tf.Tensor:
    """``function`` over the first axis of ``tensor`` in pieces of ``batch_size`` (bounded memory).

    Args:
        function: takes a (b, ...) piece and returns a tensor with b rows.
        tensor: (N, ...) array or tensor, N > 0.
        batch_size: rows per call.

    Returns:
        (N, ...) tf.Tensor, the pieces' results concatenated.
    """
    return tf.concat([function(tensor[i : i + batch_size]) for i in range(0, len(tensor), batch_size)], 0)
