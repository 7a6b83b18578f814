"""A trained student's peaks (dlc_recurrent.inference.student)."""

import numpy as np
import pytest
import tensorflow as tf

import dlc_recurrent  # noqa: F401
from dlc_recurrent.inference.student import find_peaks
from tests.helpers import gaussian_maps


def test_find_peaks_recovers_subpixel_centres():
    centres = [(10.3, 20.7), (40.0, 5.5), (0.0, 31.0), (45.4, 12.25)]
    maps = gaussian_maps(centres, 32, 48, 3.0, 10.0)
    peaks = find_peaks(tf.constant(maps), 10.0).numpy()[0]
    for (x, y), (px, py, likelihood) in zip(centres[:2] + centres[3:], np.delete(peaks, 2, axis=0)):
        assert px == pytest.approx(x, abs=0.02) and py == pytest.approx(y, abs=0.02)
    assert peaks[2, 0] == 0 and peaks[2, 1] == 31  # on the border: the integer position
    assert peaks[0, 2] == pytest.approx(np.exp(-(0.3**2 + 0.3**2) / 18), abs=0.01)


def test_find_peaks_likelihood_is_clipped():
    maps = np.zeros((1, 8, 8, 2), np.float32)
    maps[0, 3, 4, 0] = 25.0
    maps[0, :, :, 1] = -1.0
    peaks = find_peaks(tf.constant(maps), 10.0).numpy()[0]
    assert peaks[0, 2] == 1.0 and peaks[1, 2] == 0.0
    assert (peaks[0, 0], peaks[0, 1]) == (4.0, 3.0)
