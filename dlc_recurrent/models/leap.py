"""The seed paper's single-frame LEAP, built as an encoder and a decoder (the halves every student shares)."""

from dlc_recurrent._tensorflow import keras
from dlc_recurrent.kinds import DEFAULT_FILTERS, DEFAULT_MEAN, DEFAULT_STD
from dlc_recurrent.models.layers import SIZE_MULTIPLE, Normalize, check_sizes, conv

layers = keras.layers


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
    check_sizes(height, width)
    frame = keras.Input((height, width, channels), name="frame")
    x = Normalize(mean, std, name="normalize")(frame)
    for i in range(1, 4):
        x = conv(filters[0], f"conv1_{i}")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    for i in range(1, 4):
        x = conv(filters[1], f"conv2_{i}")(x)
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
    check_sizes(height, width)
    feature_size = [None if s is None else s // SIZE_MULTIPLE for s in (height, width)]
    features = keras.Input((*feature_size, in_channels), name="features")
    x = features
    for i in range(1, 4):
        x = conv(filters[2], f"conv3_{i}")(x)
    x = layers.Conv2DTranspose(filters[3], 3, strides=2, padding="same", activation="relu",
                               name="deconv1")(x)
    for i in range(1, 3):
        x = conv(filters[3], f"conv4_{i}")(x)
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
