"""LEAP's building blocks (dlc_recurrent.models.layers): sizes, padding, normalisation, frame dropout."""

import numpy as np
import pytest
import tensorflow as tf

import dlc_recurrent  # noqa: F401  (loads torchvision before TensorFlow, see _import_order.py)
from dlc_recurrent import models
from tests.helpers import KINDS, K, leaf_layers
from tests.helpers import build_network as _build
from tests.helpers import input_shape as _input_shape
from tests.helpers import random_frames as _random_frames


@pytest.mark.parametrize("kind", KINDS)
def test_sizes_not_a_multiple_of_4_are_rejected(kind):
    with pytest.raises(ValueError, match="multiple of 4"):
        models.build_model(kind, K, height=62, width=64)

    model = _build(kind)
    bad = np.zeros((*_input_shape(kind, batch=1)[:-3], 62, 64, 1), "float32")
    with pytest.raises(ValueError, match="multiple of 4"):
        model(bad)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match="multiple of 4"):
        model.predict(bad, verbose=0)


def test_padding_helpers_keep_pixel_coordinates():
    assert models.pad_to_multiple(62, 64) == (2, 0)
    assert models.pad_to_multiple(61, 63, multiple=8) == (3, 1)

    frames = _random_frames((2, 62, 61, 1)).astype("uint8")
    padded = models.pad_images(frames)
    assert padded.shape == (2, 64, 64, 1) and padded.dtype == np.uint8
    np.testing.assert_array_equal(padded[:, :62, :61], frames)
    assert not padded[:, 62:].any() and not padded[:, :, 61:].any()
    assert models.pad_images(padded) is padded

    maps = _build("leap")(padded)[:, :62, :61]
    assert maps.shape == (2, 62, 61, K)


def test_normalisation_is_the_first_layer():
    model = _build("leap")
    normalize = leaf_layers(model)[0]
    assert normalize.name == "normalize"
    grey = np.full((1, 8, 8, 1), 0.257 * 255, "float32")
    np.testing.assert_allclose(normalize(grey), 0.0, atol=1e-6)
    white = np.full((1, 8, 8, 1), 255, "uint8")
    np.testing.assert_allclose(normalize(white), (1 - 0.257) / 0.288, rtol=1e-6)

    own_statistics = models.build_convlstm_leap(K, mean=0.5, std=0.25)
    normalize = leaf_layers(own_statistics)[0]
    np.testing.assert_allclose(normalize(white), 2.0, rtol=1e-6)


def test_frame_dropout_blanks_a_run_of_frames_in_training_only():
    layer = models.FrameDropout(1.0)
    features = tf.ones((64, 15, 2, 3, 4))
    np.testing.assert_array_equal(layer(features, training=False), features)
    kept = layer(features, training=True).numpy()[:, :, 0, 0, 0]
    assert (kept[:, 0] == 1).all(), "the first frame is always seen"
    for row in kept:
        blank = np.flatnonzero(row == 0)
        assert len(blank) and (np.diff(blank) == 1).all(), "one run of consecutive frames"
    ends = {np.flatnonzero(row == 0)[-1] for row in kept}
    assert 14 in ends and min(ends) < 14, "some runs reach the window's end, some are seen again after"
    assert (models.FrameDropout(0.0)(features, training=True).numpy() == 1).all()
    student = models.build_convlstm_leap(2, window_length=None, skip_connection=True, frame_dropout=0.5)
    assert student.get_layer("frame_dropout").rate == 0.5
    with pytest.raises(ValueError, match="frame_dropout"):
        models.FrameDropout(1.5)
