"""The student networks: the seed paper's LEAP and its recurrent ConvLSTM-LEAP variant.

Both networks map video frames to one confidence map per keypoint at the input resolution.
LEAP (Pereira et al.) is a small fully convolutional network of 15 layers::

    3x conv(16) · pool · 3x conv(32) · pool · 3x conv(64) · deconv(32) · 2x conv(32) · deconv(K)

with 3x3 kernels, ReLU, "same" padding, stride-2 transposed convolutions ("deconv") and a linear
last layer. The recurrent student of the seed paper wraps those layers in ``TimeDistributed`` and
inserts ``ConvLSTM2D(32, 3, padding="same")`` right after the second pooling layer, where the
features are 4x smaller than the image and the LSTM is cheap.

Every network here is therefore built from two halves:

- the **encoder**: normalisation, conv1_x, pool1, conv2_x, pool2 (frame -> features at 1/4 size);
- the **decoder**: conv3_x (64 filters), deconv1, conv4_x, deconv2 (features -> confidence maps).

LEAP is ``decoder(encoder(frame))``; ConvLSTM-LEAP is
``TimeDistributed(decoder)(ConvLSTM2D(TimeDistributed(encoder)(window)))``. The conv(64) block sits
in the decoder because the seed paper places the ConvLSTM immediately after the second pool, i.e.
before the 64-filter convolutions. Keeping the halves as separate models lets inference on a long
video run the encoder once per frame and carry the ConvLSTM state from one chunk of frames to the
next (:func:`split_recurrent_model`, :func:`run_recurrent_chunk`) instead of recomputing a whole
window for every frame.

The normalisation ``(x / 255 - mean) / std`` is the first layer of the model, so training and
inference cannot normalise differently. Images go in with their 0-255 pixel values (uint8 or
float). Height and width can be left open (``None``): any size that is a multiple of 4 works, as
the two pooling layers halve it twice and the two deconvolutions double it back. Other sizes are
rejected with an error; pad them first with :func:`pad_images` (bottom and right, so pixel
coordinates are unchanged and the maps are cropped back with ``maps[:height, :width]``).

The last layer computes in float32 even under a mixed-precision policy, so the maps are float32.
"""

import functools
import logging

import numpy as np

from dlc_recurrent._tensorflow import keras, tf
from dlc_recurrent.config import TrainingConfig
from dlc_recurrent.kinds import (  # MODEL_KINDS also read as models.MODEL_KINDS
    DEFAULT_FILTERS,
    DEFAULT_MEAN,
    DEFAULT_STD,
    MEMORIES,
    MODEL_KINDS,
)

layers = keras.layers
logger = logging.getLogger(__name__)

SIZE_MULTIPLE = 4


def pad_to_multiple(height, width, multiple=SIZE_MULTIPLE):
    """Rows and columns to add (at the bottom and right) so both sizes become multiples of `multiple`."""
    return (-height) % multiple, (-width) % multiple


def pad_images(images, multiple=SIZE_MULTIPLE):
    """Zero-pad the height and width axes (the last three axes are H, W, C) to a multiple of `multiple`.

    Padding goes at the bottom and right, so a keypoint's (x, y) is the same in the padded
    image; crop the predicted maps back with ``maps[..., :height, :width, :]``.
    """
    images = np.asarray(images)
    pad_h, pad_w = pad_to_multiple(images.shape[-3], images.shape[-2], multiple)
    if pad_h == 0 and pad_w == 0:
        return images
    padding = [(0, 0)] * (images.ndim - 3) + [(0, pad_h), (0, pad_w), (0, 0)]
    return np.pad(images, padding)


@keras.saving.register_keras_serializable(package="dlc_recurrent")
class Normalize(layers.Layer):
    """Map 0-255 pixel values to ``(x / 255 - mean) / std`` and check the image size.

    The seed paper normalises with mean 0.257 and std 0.288; pass a training set's own
    statistics instead if they differ. The mean and std are saved with the model.
    Images whose height or width is not a multiple of `multiple` are refused, since the
    network's output would silently come out smaller than its input.
    """

    def __init__(self, mean=DEFAULT_MEAN, std=DEFAULT_STD, multiple=SIZE_MULTIPLE, **kwargs):
        super().__init__(**kwargs)
        self.mean = float(mean)
        self.std = float(std)
        self.multiple = int(multiple)

    def _check_size(self, images):
        message = (
            f"image height and width must each be a multiple of {self.multiple}; "
            "pad the frames first with dlc_recurrent.models.pad_images"
        )
        height, width = images.shape[-3], images.shape[-2]
        if height is None or width is None:
            tf.debugging.assert_equal(tf.shape(images)[-3:-1] % self.multiple, 0, message=message)
        elif height % self.multiple or width % self.multiple:
            raise ValueError(f"{message} (got {height}x{width})")

    def call(self, images):
        """Normalised images, in the layer's compute dtype."""
        self._check_size(images)
        x = tf.cast(images, self.compute_dtype)
        return (x / 255.0 - self.mean) / self.std

    def get_config(self):
        """The layer's settings, saved with the model."""
        return {**super().get_config(), "mean": self.mean, "std": self.std, "multiple": self.multiple}


def _conv(filters, name):
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=name)


def build_encoder(channels=1, filters=DEFAULT_FILTERS, mean=DEFAULT_MEAN, std=DEFAULT_STD,
                  height=None, width=None):
    """The first half of LEAP: one frame (H, W, C) -> features (H/4, W/4, filters[1]).

    Args:
        channels: C, 1 for grey video, 3 for colour.
        filters: the widths of LEAP's four sets of layers; the encoder uses the first two.
        mean: the normalisation's mean (0-1 grey levels).
        std: the normalisation's standard deviation.
        height: H, a multiple of 4, or None for any.
        width: W, a multiple of 4, or None for any.

    Returns:
        A Keras model "encoder": frames (B, H, W, C), 0-255 pixel values -> features (B, H/4, W/4, filters[1]).
    """
    _check_sizes(height, width)
    frame = keras.Input((height, width, channels), name="frame")
    x = Normalize(mean, std, name="normalize")(frame)
    for i in range(1, 4):
        x = _conv(filters[0], f"conv1_{i}")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    for i in range(1, 4):
        x = _conv(filters[1], f"conv2_{i}")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    return keras.Model(frame, x, name="encoder")


def build_decoder(n_keypoints, in_channels, filters=DEFAULT_FILTERS, height=None, width=None):
    """The second half of LEAP: features (H/4, W/4, in_channels) -> K maps (H, W, K), float32.

    Args:
        n_keypoints: K, maps (body parts) out.
        in_channels: channels of the features in (wider than the encoder's with a skip connection or
            a memory).
        filters: the widths of LEAP's four sets of layers; the decoder uses the last two.
        height: the full image height (not the feature size), a multiple of 4, or None for any.
        width: the full image width, likewise.

    Returns:
        A Keras model "decoder": features (B, H/4, W/4, in_channels) -> maps (B, H, W, K) float32.
    """
    _check_sizes(height, width)
    feature_size = [None if s is None else s // SIZE_MULTIPLE for s in (height, width)]
    features = keras.Input((*feature_size, in_channels), name="features")
    x = features
    for i in range(1, 4):
        x = _conv(filters[2], f"conv3_{i}")(x)
    x = layers.Conv2DTranspose(filters[3], 3, strides=2, padding="same", activation="relu",
                               name="deconv1")(x)
    for i in range(1, 3):
        x = _conv(filters[3], f"conv4_{i}")(x)
    maps = layers.Conv2DTranspose(n_keypoints, 3, strides=2, padding="same", activation="linear",
                                  dtype="float32", name="deconv2")(x)
    return keras.Model(features, maps, name="decoder")


def build_leap(n_keypoints, channels=1, filters=DEFAULT_FILTERS, mean=DEFAULT_MEAN,
               std=DEFAULT_STD, height=None, width=None):
    """The seed paper's single-frame LEAP: frames (B, H, W, C) -> maps (B, H, W, K).

    11 convolutions, 2 max-pools, 2 transposed convolutions.

    Args:
        n_keypoints: K, maps (body parts) out.
        channels: C, 1 for grey video, 3 for colour.
        filters: the widths of the four sets of layers (16, 32, 64, 32 in the paper).
        mean: the normalisation's mean (0-1 grey levels).
        std: the normalisation's standard deviation.
        height: H, a multiple of 4, or None (the default) for any.
        width: W, a multiple of 4, or None (the default) for any.

    Returns:
        A Keras model "leap": frames (B, H, W, C), 0-255 pixel values -> maps (B, H, W, K) float32.
    """
    encoder = build_encoder(channels, filters, mean, std, height, width)
    decoder = build_decoder(n_keypoints, filters[1], filters, height, width)
    frames = keras.Input((height, width, channels), name="frames")
    maps = decoder(encoder(frames))
    return keras.Model(frames, maps, name="leap")


def build_map_memory(n_keypoints, channels=1, filters=DEFAULT_FILTERS, convlstm_filters=32, mean=DEFAULT_MEAN,
                     std=DEFAULT_STD, height=None, width=None, map_scale=0.1):
    """The per-frame halves of a student whose memory reads LEAP's own maps: (reader, writer).

    ``reader``: frame (H, W, C) -> concat([features, maps]) at 1/4 size: LEAP's encoder features
    beside LEAP's maps of the frame, max-pooled 4x and scaled by ``map_scale`` (1 / the maps'
    amplitude), so the ConvLSTM sees which body part is where, one channel each.
    ``writer``: concat([that, ConvLSTM state]) -> maps (H, W, K): LEAP's maps of the frame plus a
    correction read from the state (conv(convlstm_filters), a conv to K channels whose weights start
    at zero, bilinear 4x upsampling): at the first step the maps are LEAP's exactly, and what the
    memory adds is written in map space, per body part, where a roughly remembered position is
    already a usable answer. Both halves share one LEAP encoder and decoder (named "encoder" and
    "decoder", as in LEAP, so a trained LEAP's weights load into them).

    Args:
        n_keypoints: K, maps (body parts) out.
        channels: C, 1 for grey video, 3 for colour.
        filters: the widths of LEAP's four sets of layers.
        convlstm_filters: the ConvLSTM's width (its state's channels).
        mean: the normalisation's mean (0-1 grey levels).
        std: the normalisation's standard deviation.
        height: H, a multiple of 4, or None for any.
        width: W, a multiple of 4, or None for any.
        map_scale: the factor LEAP's pooled maps are scaled by before the ConvLSTM reads them.

    Returns:
        (reader, writer): Keras models; reader: frames (B, H, W, C) -> (B, H/4, W/4, filters[1] + K);
        writer: (B, H/4, W/4, filters[1] + K + convlstm_filters) -> maps (B, H, W, K) float32.
    """
    encoder = build_encoder(channels, filters, mean, std, height, width)
    decoder = build_decoder(n_keypoints, filters[1], filters, height, width)
    frame = keras.Input((height, width, channels), name="frame")
    features = encoder(frame)
    seen = layers.MaxPooling2D(SIZE_MULTIPLE, name="pool_maps")(decoder(features))
    seen = layers.Rescaling(map_scale, name="scale_maps")(seen)
    reader = keras.Model(frame, layers.Concatenate(name="features_and_maps")([features, seen]), name="reader")
    feature_size = [None if s is None else s // SIZE_MULTIPLE for s in (height, width)]
    joined = keras.Input((*feature_size, filters[1] + n_keypoints + convlstm_filters), name="joined")
    own_features = layers.Lambda(lambda x: x[..., : filters[1]], name="own_features")(joined)
    memory = layers.Lambda(lambda x: x[..., filters[1] + n_keypoints:], name="memory")(joined)
    x = _conv(convlstm_filters, "memory_conv")(memory)
    x = layers.Conv2D(n_keypoints, 3, padding="same", kernel_initializer="zeros", name="memory_maps")(x)
    correction = layers.UpSampling2D(SIZE_MULTIPLE, interpolation="bilinear", dtype="float32",
                                     name="memory_upsample")(x)
    maps = layers.Add(dtype="float32", name="maps_plus_memory")([decoder(own_features), correction])
    return reader, keras.Model(joined, maps, name="writer")


def build_convlstm_leap(n_keypoints, window_length=15, channels=1, filters=DEFAULT_FILTERS,
                        convlstm_filters=32, mean=DEFAULT_MEAN, std=DEFAULT_STD,
                        height=None, width=None, skip_connection=False, frame_dropout=0.0,
                        memory="features", map_scale=0.1):
    """The seed paper's recurrent student: windows (B, T, H, W, C) -> maps (B, T, H, W, K).

    LEAP's layers wrapped in TimeDistributed, with ConvLSTM2D(`convlstm_filters`, 3,
    padding="same", return_sequences=True) after the second pool. `window_length` is T
    (15 in the paper); None accepts sequences of any length, and weights transfer between
    models that differ only in T (``model.set_weights(other.get_weights())``).
    With `skip_connection` (not in the paper) the decoder sees each frame's own encoder features
    beside the ConvLSTM's output (``concat([features, hidden])``), as LEAP's decoder does.
    `frame_dropout` (not in the paper; training only) blanks a run of frames' features in that
    share of windows (:class:`FrameDropout`). ``memory="maps"`` (not in the paper; implies the skip
    connection): the ConvLSTM reads LEAP's maps beside the features and writes a correction to
    LEAP's maps (:func:`build_map_memory`); the per-frame halves keep their names ("encoder_td",
    "decoder_td"), so streaming inference takes the model apart alike.

    Args:
        n_keypoints: K, maps (body parts) out.
        window_length: T, or None for sequences of any length.
        channels: C, 1 for grey video, 3 for colour.
        filters: the widths of LEAP's four sets of layers.
        convlstm_filters: the ConvLSTM's width.
        mean: the normalisation's mean (0-1 grey levels).
        std: the normalisation's standard deviation.
        height: H, a multiple of 4, or None for any.
        width: W, a multiple of 4, or None for any.
        skip_connection: the decoder also sees each frame's own encoder features.
        frame_dropout: the share of training windows with a run of frames' features blanked; 0: none.
        memory: "features" (the paper's) or "maps".
        map_scale: with ``memory="maps"``, the factor LEAP's pooled maps are scaled by (1 / the maps'
            amplitude).

    Returns:
        A Keras model "convlstm_leap": windows (B, T, H, W, C), 0-255 pixel values -> maps
        (B, T, H, W, K) float32.

    Raises:
        ValueError: an unknown ``memory``, or a height or width not a multiple of 4.
    """
    if memory not in MEMORIES:
        raise ValueError(f"memory must be one of {MEMORIES}, got {memory!r}")
    if memory == "maps":
        skip_connection = True
        encoder, decoder = build_map_memory(n_keypoints, channels, filters, convlstm_filters, mean, std, height,
                                            width, map_scale)
    else:
        encoder = build_encoder(channels, filters, mean, std, height, width)
        decoder = build_decoder(n_keypoints, convlstm_filters + skip_connection * filters[1], filters, height,
                                width)
    frames = keras.Input((window_length, height, width, channels), name="frames")
    features = layers.TimeDistributed(encoder, name="encoder_td")(frames)
    if frame_dropout:
        features = FrameDropout(frame_dropout, name="frame_dropout")(features)
    x = layers.ConvLSTM2D(convlstm_filters, 3, padding="same", return_sequences=True,
                          name="convlstm")(features)
    if skip_connection:
        x = layers.Concatenate(name="skip")([features, x])
    maps = layers.TimeDistributed(decoder, name="decoder_td")(x)
    return keras.Model(frames, maps, name="convlstm_leap")


def build_bidirectional_leap(n_keypoints, window_length=15, channels=1, filters=DEFAULT_FILTERS,
                             convlstm_filters=32, mean=DEFAULT_MEAN, std=DEFAULT_STD,
                             height=None, width=None, skip_connection=False, frame_dropout=0.0):
    """Offline student: like ConvLSTM-LEAP, with a forward and a backward ConvLSTM after pool2.

    Each frame's maps see the frames before it (forward) and after it (backward): an occluded
    paw lies between where it disappeared and where it reappears. The two hidden states are
    concatenated (2 x `convlstm_filters` channels) before the decoder, after the frame's own
    encoder features with `skip_connection`. Not causal: it cannot stream a video as it comes.

    Args:
        n_keypoints: K, maps (body parts) out.
        window_length: T, or None for sequences of any length.
        channels: C, 1 for grey video, 3 for colour.
        filters: the widths of LEAP's four sets of layers.
        convlstm_filters: the width of each direction's ConvLSTM.
        mean: the normalisation's mean (0-1 grey levels).
        std: the normalisation's standard deviation.
        height: H, a multiple of 4, or None for any.
        width: W, a multiple of 4, or None for any.
        skip_connection: the decoder also sees each frame's own encoder features.
        frame_dropout: as in :func:`build_convlstm_leap`.

    Returns:
        A Keras model "bidirectional_leap": windows (B, T, H, W, C) -> maps (B, T, H, W, K) float32.
    """
    encoder = build_encoder(channels, filters, mean, std, height, width)
    decoder = build_decoder(n_keypoints, 2 * convlstm_filters + skip_connection * filters[1], filters,
                            height, width)
    frames = keras.Input((window_length, height, width, channels), name="frames")
    features = layers.TimeDistributed(encoder, name="encoder_td")(frames)
    if frame_dropout:
        features = FrameDropout(frame_dropout, name="frame_dropout")(features)
    x = layers.Bidirectional(layers.ConvLSTM2D(convlstm_filters, 3, padding="same", return_sequences=True),
                             merge_mode="concat", name="convlstm")(features)
    if skip_connection:
        x = layers.Concatenate(name="skip")([features, x])
    maps = layers.TimeDistributed(decoder, name="decoder_td")(x)
    return keras.Model(frames, maps, name="bidirectional_leap")


def build_model(kind, n_keypoints, *, window_length=15, convlstm_filters=32, skip_connection=False,
                frame_dropout=0.0, memory="features", map_scale=0.1, **kwargs):
    """Build a "leap", "convlstm_leap" or "bidirectional_leap" network by name.

    Args:
        kind: one of ``MODEL_KINDS``.
        n_keypoints: K, maps (body parts) out.
        window_length: T of the recurrent students (None: any); ignored for LEAP.
        convlstm_filters: the ConvLSTM's width; ignored for LEAP.
        skip_connection: see :func:`build_convlstm_leap`; ignored for LEAP.
        frame_dropout: see :func:`build_convlstm_leap`; ignored for LEAP.
        memory: "features" or "maps" ("maps" is built for "convlstm_leap" only).
        map_scale: see :func:`build_convlstm_leap`; "convlstm_leap" only.
        **kwargs: channels, filters, mean, std, height, width, passed to the builder.

    Returns:
        The Keras model: frames (B, H, W, C) -> maps (B, H, W, K) for LEAP, windows (B, T, H, W, C) ->
        maps (B, T, H, W, K) for the recurrent students.

    Raises:
        ValueError: an unknown kind, or ``memory="maps"`` for another kind than "convlstm_leap".
    """
    recurrent = dict(window_length=window_length, convlstm_filters=convlstm_filters, skip_connection=skip_connection,
                     frame_dropout=frame_dropout)
    if kind == "leap":
        return build_leap(n_keypoints, **kwargs)
    if kind == "convlstm_leap":
        return build_convlstm_leap(n_keypoints, **recurrent, memory=memory, map_scale=map_scale, **kwargs)
    if memory != "features":
        raise ValueError(f"memory={memory!r} is built for convlstm_leap only, not {kind}")
    if kind == "bidirectional_leap":
        return build_bidirectional_leap(n_keypoints, **recurrent, **kwargs)
    raise ValueError(f"unknown model kind {kind!r}; choose one of {MODEL_KINDS}")


def build_student(config: TrainingConfig, height=None, width=None):
    """The network a :class:`~dlc_recurrent.config.TrainingConfig` describes, for windows of any length.

    Args:
        config: the student's settings (its model kind, widths, memory, normalisation, body parts).
        height: the frame height it is built for (None: any multiple of 4).
        width: the frame width it is built for (None: any multiple of 4).

    Returns:
        A Keras model: frames (B, H, W, C) -> maps (B, H, W, K) for LEAP, windows (B, T, H, W, C) ->
        maps (B, T, H, W, K) for the recurrent students, K = ``len(config.bodyparts)``.
    """
    return build_model(config.model, len(config.bodyparts), window_length=None,
                       convlstm_filters=config.convlstm_filters, skip_connection=config.skip_connection,
                       frame_dropout=config.frame_dropout, memory=config.memory, map_scale=1 / config.map_amplitude,
                       channels=config.channels, filters=config.filters, mean=config.mean, std=config.std,
                       height=height, width=width)


@keras.saving.register_keras_serializable(package="dlc_recurrent")
class FrameDropout(layers.Layer):
    """Training only: in a share (`rate`) of the windows, blank the encoder features of a run of frames.

    The run starts after the first frame (uniformly on frames 2..T) and lasts 1 frame up to the
    window's end (uniformly), so some windows end on blanked frames and some see the body parts
    again after them. The draws are TensorFlow's global random stream: a resumed training run blanks
    other frames than an uninterrupted one would. Targets are unchanged: the
    network must place a body part it does not see from what came before, which is what a hidden
    part needs and what a student that starts as LEAP (a skip connection, see
    :func:`warm_start_from_leap`) otherwise never has to learn. At inference it passes the features
    through unchanged. Input and output (B, T, h, w, C).
    """

    def __init__(self, rate=0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate <= 1:
            raise ValueError(f"frame_dropout must be in [0, 1], got {rate}")
        self.rate = float(rate)

    def call(self, features, training=None):
        """The features with some windows' runs of frames blanked in training; unchanged otherwise."""
        if not training or not self.rate:
            return features
        shape = tf.shape(features)
        batch, length = shape[0], shape[1]
        lengths = tf.cast(length, tf.float32)
        dropped = tf.random.uniform([batch]) < self.rate
        first = 1 + tf.cast(tf.floor(tf.random.uniform([batch]) * (lengths - 1)), tf.int32)  # 1 .. T - 1
        run = 1 + tf.cast(tf.floor(tf.random.uniform([batch]) * tf.cast(length - first, tf.float32)), tf.int32)
        steps = tf.range(length)[tf.newaxis]
        blank = (steps >= first[:, tf.newaxis]) & (steps < (first + run)[:, tf.newaxis]) & dropped[:, tf.newaxis]
        keep = tf.cast(~blank, features.dtype)[:, :, tf.newaxis, tf.newaxis, tf.newaxis]
        return features * keep

    def get_config(self):
        """The layer's settings, saved with the model."""
        return {**super().get_config(), "rate": self.rate}


def warm_start_from_leap(student, leap) -> None:
    """Start a recurrent student (with a skip connection) as a trained LEAP: its maps then equal LEAP's.

    The encoder and decoder take LEAP's weights; the decoder's first layer reads
    ``concat([features, memory])``: its weights for the frame's own features are LEAP's, those for
    the ConvLSTM's state start at zero. So at the first step every frame's maps are LEAP's (to float
    rounding), and training adds to them only what the memory turns out to give. The ConvLSTM keeps
    its random start: its output is read by zero weights until training moves them.

    Args:
        student: a ConvLSTM-LEAP or bidirectional student built with ``skip_connection=True``.
        leap: a LEAP network of the same filters, channels and body parts (weights loaded).

    Raises:
        ValueError: the student has no skip connection, or the two networks do not match.
    """
    if not has_skip_connection(student):
        raise ValueError("a warm start from LEAP needs a student with skip_connection=True")
    student_encoder, student_decoder = student.get_layer("encoder_td").layer, student.get_layer("decoder_td").layer
    leap_encoder, leap_decoder = leap.get_layer("encoder"), leap.get_layer("decoder")
    if has_map_memory(student):  # LEAP itself inside; the correction starts at zero
        student_encoder, student_decoder = student_encoder.get_layer("encoder"), student_encoder.get_layer("decoder")
    ours, theirs = student_encoder.get_layer("normalize"), leap_encoder.get_layer("normalize")
    if (ours.mean, ours.std) != (theirs.mean, theirs.std):
        raise ValueError(f"the LEAP network normalises with mean {theirs.mean}, std {theirs.std}; the student with "
                         f"{ours.mean}, {ours.std}")
    try:
        student_encoder.set_weights(leap_encoder.get_weights())
    except ValueError as error:
        raise ValueError(f"the LEAP network does not match the student's encoder: {error}") from None
    for target in student_decoder.layers:
        source_weights = leap_decoder.get_layer(target.name).get_weights() if target.weights else []
        if target.name == "conv3_1":
            kernel, bias = source_weights
            wide = np.zeros(target.kernel.shape, np.float32)
            wide[:, :, : kernel.shape[2]] = kernel  # the frame's own features come first in the concatenation
            source_weights = [wide, bias]
        if target.weights:
            if [w.shape for w in source_weights] != [tuple(w.shape) for w in target.weights]:
                raise ValueError(f"the LEAP network does not match the student's decoder at {target.name}")
            target.set_weights(source_weights)


def _check_sizes(height, width):
    for name, size in (("height", height), ("width", width)):
        if size is not None and size % SIZE_MULTIPLE:
            unit = "rows" if name == "height" else "columns"
            raise ValueError(
                f"{name}={size} is not a multiple of {SIZE_MULTIPLE}; pad the frames by "
                f"{(-size) % SIZE_MULTIPLE} {unit} first (see pad_to_multiple and pad_images)"
            )


def leaf_layers(model):
    """All layers of `model` in order, looking inside nested models and TimeDistributed wrappers."""
    leaves = []
    for layer in model.layers:
        if isinstance(layer, layers.TimeDistributed):
            layer = layer.layer
        if isinstance(layer, keras.Model):
            leaves.extend(leaf_layers(layer))
        elif not isinstance(layer, layers.InputLayer):
            leaves.append(layer)
    return leaves


def count_layers(model):
    """Count the layer types the seed paper lists: {"conv", "pool", "deconv", "convlstm"}.

    "conv" counts plain Conv2D layers only; transposed convolutions count as "deconv".
    """
    counts = {"conv": 0, "pool": 0, "deconv": 0, "convlstm": 0}
    for layer in leaf_layers(model):
        if isinstance(layer, layers.Conv2DTranspose):
            counts["deconv"] += 1
        elif isinstance(layer, layers.Conv2D):
            counts["conv"] += 1
        elif isinstance(layer, layers.MaxPooling2D):
            counts["pool"] += 1
        elif isinstance(layer, layers.ConvLSTM2D):
            counts["convlstm"] += 1
        elif isinstance(layer, layers.Bidirectional):
            counts["convlstm"] += 2
    return counts


def leap_weights(student) -> list:
    """The weights of the LEAP inside a ``memory="maps"`` student (its encoder and decoder): what
    ``freeze_leap`` keeps as trained. Left trainable in Keras' sense, so the saved weights keep one order."""
    if not has_map_memory(student):
        raise ValueError("only a student with memory='maps' holds a whole LEAP to keep")
    reader = student.get_layer("encoder_td").layer
    return [*reader.get_layer("encoder").weights, *reader.get_layer("decoder").weights]


def has_map_memory(model) -> bool:
    """Whether a recurrent student's memory reads LEAP's maps (``memory="maps"``, :func:`build_map_memory`)."""
    return any(layer.name == "encoder_td" and layer.layer.name == "reader" for layer in model.layers)


def has_skip_connection(model) -> bool:
    """Whether a recurrent student's decoder also sees the encoder features (``skip_connection``)."""
    return any(layer.name == "skip" for layer in model.layers)


def decoder_input(features, hidden, skip_connection):
    """What the decoder of a split recurrent model takes: the hidden state, after the frame's
    own features with a skip connection (the order the Keras model concatenates them in)."""
    return tf.concat([tf.cast(features, hidden.dtype), hidden], -1) if skip_connection else hidden


def split_recurrent_model(model):
    """Take a trained ConvLSTM-LEAP apart for streaming inference: (encoder, recurrence, decoder).

    `encoder` and `decoder` are the model's own per-frame halves (shared weights); `recurrence`
    is a :class:`ConvLSTMRecurrence` with the trained ConvLSTM weights, so a video can be
    processed chunk by chunk with :func:`run_recurrent_chunk`. Works for any window length the
    model was trained with. With a skip connection the decoder takes :func:`decoder_input`.
    """
    encoder = model.get_layer("encoder_td").layer
    decoder = model.get_layer("decoder_td").layer
    return encoder, ConvLSTMRecurrence(model.get_layer("convlstm")), decoder


def split_bidirectional_model(model):
    """(encoder, forward, backward, decoder) of a bidirectional student, for chunked inference.

    ``backward`` runs on time-reversed features; the decoder takes ``concat([forward, backward])``.
    """
    encoder = model.get_layer("encoder_td").layer
    decoder = model.get_layer("decoder_td").layer
    both = model.get_layer("convlstm")
    return encoder, ConvLSTMRecurrence(both.forward_layer), ConvLSTMRecurrence(both.backward_layer), decoder


@functools.lru_cache(maxsize=None)
def xla_available() -> bool:
    """Whether this TensorFlow build can XLA-compile (``jit_compile=True``) on its default device."""
    try:
        tf.function(lambda x: x + 1, jit_compile=True)(tf.constant(1.0))
        return True
    except Exception as error:  # a build without XLA: the plain ops, a little slower
        logger.warning(f"TensorFlow cannot XLA-compile here ({type(error).__name__}); the ConvLSTM runs "
                       "without it, a little slower, with the same results")
        return False


class ConvLSTMRecurrence:
    """A trained ConvLSTM2D layer as a function over one video's consecutive feature maps.

    The same maths as Keras' layer (gates i, f, c, o; "same" 3x3 convolutions), arranged for
    streaming and speed: each step is one convolution of ``concat([input, hidden])`` with the input and
    recurrent kernels stacked (half the calls of two), in the layer's compute dtype (bfloat16 or
    float16 under a mixed policy, as the rest of the network), between two small XLA-compiled pieces
    that fuse the element-wise work (joining and casting; bias, gates and state update; plain ops
    where TensorFlow has no XLA). The cell state and the returned hidden states stay float32. What
    this arrangement saves on a CPU is measured in benchmarks/RESULTS.md ("analysis speed").
    """

    def __init__(self, layer):
        if tuple(layer.strides) != (1, 1) or tuple(layer.dilation_rate) != (1, 1) or layer.padding != "same":
            raise ValueError(f"{layer.name}: streaming supports stride 1, dilation 1, 'same' padding only")
        weights = [np.asarray(w, np.float32) for w in layer.get_weights()]
        self.filters = layer.filters
        self.dtype = tf.as_dtype(getattr(layer, "compute_dtype", None) or "float32")
        # (3, 3, C + filters, 4 filters)
        self.kernel = tf.constant(np.concatenate(weights[:2], axis=2), dtype=self.dtype)
        self.bias = tf.constant(weights[2] if layer.use_bias else np.zeros(4 * layer.filters, np.float32))
        self.activation = layer.activation
        self.recurrent_activation = layer.recurrent_activation
        jit = xla_available()
        self._join = tf.function(self._join_inputs, jit_compile=jit)
        self._update = tf.function(self._update_state, jit_compile=jit)

    def zero_state(self, features):
        """Zero hidden and cell states (H, W, filters) for features of shape (n, H, W, C)."""
        zeros = tf.zeros(tf.concat([tf.shape(features)[1:3], [self.filters]], 0))
        return zeros, zeros

    def __call__(self, sequence, hidden=None, cell=None):
        """(n, H, W, C) features -> (n, H, W, filters) hidden states, last hidden, last cell."""
        if hidden is not None:
            hidden, cell = hidden[tf.newaxis], cell[tf.newaxis]
        hiddens, hidden, cell = self.run(sequence[tf.newaxis], hidden, cell)
        return hiddens[0], hidden[0], cell[0]

    def _join_inputs(self, inputs, hidden):
        return tf.concat([tf.cast(inputs, self.dtype), tf.cast(hidden, self.dtype)], -1)

    def _update_state(self, convolved, cell):
        gates = tf.cast(convolved, tf.float32) + self.bias
        i, f, c, o = tf.split(gates, 4, axis=-1)
        cell = self.recurrent_activation(f) * cell + self.recurrent_activation(i) * self.activation(c)
        return self.recurrent_activation(o) * self.activation(cell), cell

    def run(self, sequences, hidden=None, cell=None):
        """Batched: (N, n, H, W, C) -> (N, n, H, W, filters) hidden states, last hidden, last cell."""
        if hidden is None:
            shape = tf.shape(sequences)
            hidden = cell = tf.zeros(tf.concat([shape[:1], shape[2:4], [self.filters]], 0))

        def step(state, inputs):
            hidden, cell = state
            return self._update(tf.nn.conv2d(self._join(inputs, hidden), self.kernel, 1, "SAME"), cell)

        time_major = tf.transpose(sequences, [1, 0, 2, 3, 4])
        hiddens, cells = tf.scan(step, time_major, initializer=(tf.cast(hidden, tf.float32), tf.cast(cell, tf.float32)))
        return tf.transpose(hiddens, [1, 0, 2, 3, 4]), hiddens[-1], cells[-1]


def run_recurrent_chunk(encoder, recurrence, decoder, frames, state=None):
    """Run consecutive frames (n, H, W, C) of one video through the split recurrent model.

    `state` is the ConvLSTM state returned for the previous chunk of the same video (None at
    the start). Returns ``(maps, state)``: maps (n, H, W, K) float32 tf.Tensor and the state to
    pass with the next chunk. Each frame goes through the encoder and decoder exactly once, and
    the result equals running the whole video through the Keras model as one sequence.
    """
    features = encoder(frames, training=False)
    sequence, hidden, cell = recurrence(features, *(state or (None, None)))
    skip = decoder.input_shape[-1] != recurrence.filters  # a skip connection widens the decoder's input
    maps = decoder(tf.cast(decoder_input(features, sequence, skip), features.dtype), training=False)
    return maps, (hidden, cell)
