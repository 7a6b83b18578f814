"""The training step (dlc_recurrent.training.trainer): maps and the masked loss."""

import numpy as np
import pytest
import tensorflow as tf

import dlc_recurrent  # noqa: F401  (torchvision before tensorflow)
from dlc_recurrent.training import masked_mse, render_maps


def test_render_maps_peak_sits_on_the_point():
    maps = render_maps(tf.constant([[[10.0, 20.0], [30.5, 5.0]]]), 32, 48, 2.0, 10.0).numpy()
    assert maps.shape == (1, 32, 48, 2)
    assert np.unravel_index(maps[0, ..., 0].argmax(), (32, 48)) == (20, 10)
    assert maps[0, ..., 0].max() == pytest.approx(10.0)
    row = maps[0, 5, :, 1]
    assert row[30] == pytest.approx(row[31])  # x = 30.5 lies between columns 30 and 31


def test_masked_points_do_not_count():
    target = tf.zeros((1, 8, 8, 2))
    predicted = tf.concat([tf.zeros((1, 8, 8, 1)), tf.ones((1, 8, 8, 1))], axis=-1)
    assert masked_mse(target, predicted, tf.constant([[1.0, 0.0]])).numpy() == pytest.approx(0)
    assert masked_mse(target, predicted, tf.constant([[0.0, 1.0]])).numpy() == pytest.approx(1)
    assert masked_mse(target, predicted, tf.constant([[1.0, 1.0]])).numpy() == pytest.approx(0.5)


def test_maps_of_their_own_width_per_point():
    xy = tf.constant([[[8.0, 8.0], [20.0, 20.0]]])  # (1, K=2, 2)
    maps = render_maps(xy, 32, 32, tf.constant([[1.0, 3.0]]), 1.0).numpy()[0]
    assert maps[8, 8, 0] == pytest.approx(1) and maps[20, 20, 1] == pytest.approx(1)
    assert maps[..., 1].sum() == pytest.approx(9 * maps[..., 0].sum(), rel=1e-3)  # the area goes as sigma^2
    np.testing.assert_allclose(maps[..., 0], render_maps(xy, 32, 32, 1.0, 1.0).numpy()[0, ..., 0], atol=1e-7)
