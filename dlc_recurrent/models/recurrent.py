"""The recurrent students: the seed paper's ConvLSTM-LEAP (with the options added here: a skip
connection, frame dropout, a memory of LEAP's maps) and the bidirectional student; how a recurrent
student starts as its trained LEAP control, and what a built student holds."""

import logging

import numpy as np

from dlc_recurrent._tensorflow import keras
from dlc_recurrent.kinds import DEFAULT_FILTERS, DEFAULT_MEAN, DEFAULT_STD, MEMORIES
from dlc_recurrent.models.layers import SIZE_MULTIPLE, FrameDropout, conv
from dlc_recurrent.models.leap import build_decoder, build_encoder

layers = keras.layers
logger = logging.getLogger(__name__)


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
    x = conv(convlstm_filters, "memory_conv")(memory)
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


def leap_weights(student) -> list:
    """The weights of the LEAP inside a ``memory="maps"`` student (its encoder and decoder): what
    ``freeze_leap`` keeps as trained. Left trainable in Keras' sense, so the saved weights keep one order.

    Args:
        student: the Keras recurrent student.

    Returns:
        The variables of the LEAP encoder's and decoder's layers, in that order.

    Raises:
        ValueError: a student whose memory does not read LEAP's maps.
    """
    if not has_map_memory(student):
        raise ValueError("only a student with memory='maps' holds a whole LEAP to keep")
    reader = student.get_layer("encoder_td").layer
    return [*reader.get_layer("encoder").weights, *reader.get_layer("decoder").weights]


def has_map_memory(model) -> bool:
    """Whether a recurrent student's memory reads LEAP's maps (``memory="maps"``, :func:`build_map_memory`).

    Args:
        model: a Keras student.

    Returns:
        True when its per-frame reader is the LEAP-with-maps "reader".
    """
    return any(layer.name == "encoder_td" and layer.layer.name == "reader" for layer in model.layers)


def has_skip_connection(model) -> bool:
    """Whether a recurrent student's decoder also sees the encoder features (``skip_connection``).

    Args:
        model: a Keras student.

    Returns:
        True when it has the "skip" layer.
    """
    return any(layer.name == "skip" for layer in model.layers)
