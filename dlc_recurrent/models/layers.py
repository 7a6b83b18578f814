"""The layers and helpers every network here is built from: padding to the size the pools need, the
normalisation inside the model, LEAP's convolution, and the training-only frame dropout."""

import numpy as np

from dlc_recurrent._tensorflow import keras, tf
from dlc_recurrent.kinds import DEFAULT_MEAN, DEFAULT_STD

layers = keras.layers

#: Height and width must be multiples of this (two 2x pools, two 2x transposed convolutions).
SIZE_MULTIPLE = 4


def pad_to_multiple(height, width, multiple=SIZE_MULTIPLE):
    """Rows and columns to add (at the bottom and right) so both sizes become multiples of `multiple`.

    Args:
        height: the image height, px.
        width: the image width, px.
        multiple: what both must be a multiple of.

    Returns:
        (rows, columns) to add, each in [0, multiple).
    """
    return (-height) % multiple, (-width) % multiple


def pad_images(images, multiple=SIZE_MULTIPLE):
    """Zero-pad the height and width axes (the last three axes are H, W, C) to a multiple of `multiple`.

    Padding goes at the bottom and right, so a keypoint's (x, y) is the same in the padded
    image; crop the predicted maps back with ``maps[..., :height, :width, :]``.

    Args:
        images: (..., H, W, C) array, e.g. frames (N, H, W, C) or windows (N, T, H, W, C).
        multiple: what the padded height and width are multiples of.

    Returns:
        (..., H', W', C) array of the same dtype; ``images`` itself (as an array) when no padding is needed.
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

    Args:
        mean: the mean the inputs are normalised with, on the 0-1 grey-level scale.
        std: their standard deviation, on the same scale.
        multiple: what the image height and width must be multiples of.
        **kwargs: Keras layer arguments (name, dtype...).
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


def conv(filters, name):
    """A 3x3 "same" convolution with ReLU, as every LEAP convolution but the last.

    Args:
        filters: output channels.
        name: the layer's name (weights are matched by it when a student starts from LEAP).

    Returns:
        The Keras Conv2D layer.
    """
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=name)


def check_sizes(height, width):
    """Refuse a height or width that is not a multiple of SIZE_MULTIPLE, saying how many rows or columns to pad.

    Args:
        height: the frame height a network is built for, px; None: any.
        width: the frame width, px; None: any.

    Raises:
        ValueError: naming the size and the rows or columns to pad (see :func:`pad_images`).
    """
    for name, size in (("height", height), ("width", width)):
        if size is not None and size % SIZE_MULTIPLE:
            unit = "rows" if name == "height" else "columns"
            raise ValueError(
                f"{name}={size} is not a multiple of {SIZE_MULTIPLE}; pad the frames by "
                f"{(-size) % SIZE_MULTIPLE} {unit} first (see pad_to_multiple and pad_images)"
            )



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

    Args:
        rate: the share of windows with a blanked run, in [0, 1] (0: off).
        **kwargs: Keras layer arguments (name, dtype...).

    Raises:
        ValueError: a rate outside [0, 1].
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
