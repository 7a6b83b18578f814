"""build_model (dlc_recurrent.models.registry): every kind built, run, trained a little, saved and loaded."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import dlc_recurrent  # noqa: F401  (loads torchvision before TensorFlow, see _import_order.py)
from dlc_recurrent import models
from tests.helpers import KINDS, SIZE, K, T, leaf_layers
from tests.helpers import build_network as _build
from tests.helpers import input_shape as _input_shape
from tests.helpers import random_frames as _random_frames


def test_build_model_dispatches_and_rejects_unknown_kinds():
    assert models.build_model("leap", 2, window_length=7).name == "leap"
    recurrent = models.build_model("convlstm_leap", 2, window_length=7)
    assert recurrent.name == "convlstm_leap" and recurrent.input_shape[1] == 7
    with pytest.raises(ValueError, match="convlstm_leap"):
        models.build_model("resnet_50", 2)


@pytest.mark.parametrize("kind", KINDS)
def test_output_shapes_and_dtype(kind):
    model = _build(kind)
    maps = model(_random_frames(_input_shape(kind, batch=2)))
    assert maps.shape == (*_input_shape(kind, batch=2)[:-1], K)
    assert maps.dtype == tf.float32

    uint8_frames = _random_frames(_input_shape(kind, batch=1, size=32)).astype("uint8")
    other_size = model(np.ascontiguousarray(uint8_frames[..., :24, :, :]))
    assert other_size.shape == (*uint8_frames.shape[:-3], 24, 32, K)


def _toy_scene(centres, sigma=4.0, peak=10.0, seed=0):
    """Frames with a dim disc on each keypoint and a brighter bar elsewhere, plus target maps.

    The bar is a distractor: an untrained network's strongest response is not on the disc,
    so a predicted peak can only land on the keypoint by learning.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[:SIZE, :SIZE]
    frames = rng.normal(40, 8, (len(centres), SIZE, SIZE, 1))
    targets = np.zeros((len(centres), SIZE, SIZE, 1), "float32")
    for i, (row, col) in enumerate(centres):
        distance2 = (rows - row) ** 2 + (cols - col) ** 2
        frames[i, ..., 0] += 120 * (distance2 <= 9)
        bar_row, bar_col = (row + 32) % SIZE, (col + 24) % SIZE
        frames[i, max(bar_row - 2, 0):bar_row + 2, max(bar_col - 8, 0):bar_col + 8, 0] += 200
        targets[i, ..., 0] = peak * np.exp(-distance2 / (2 * sigma**2))
    return np.clip(frames, 0, 255).astype("float32"), targets


def _peak_errors(maps, centres):
    maps = maps.reshape(-1, SIZE, SIZE)
    peaks = [np.unravel_index(np.argmax(m), m.shape) for m in maps]
    return np.array([np.hypot(r - row, c - col) for (r, c), (row, col) in zip(peaks, centres)])


@pytest.mark.parametrize("kind", KINDS)
def test_a_few_training_steps_move_the_peaks_onto_the_keypoint(kind):
    """50 Adam steps, MSE on maps of peak 10 and sigma 4 px: the peaks move onto the disc.

    Checking peak positions and heights, not only the loss, rules out the "predict all zeros"
    plateau, where the loss falls a little while the maps stay flat.
    """
    if kind == "leap":
        centres = [(16, 20), (44, 40), (24, 48), (50, 12)]
        frames, targets = _toy_scene(centres)
    else:
        tracks = [[(12 + 6 * t, 16 + 4 * t) for t in range(T)],
                  [(50 - 5 * t, 44 - 6 * t) for t in range(T)]]
        scenes = [_toy_scene(track, seed=i) for i, track in enumerate(tracks)]
        frames = np.stack([f for f, _ in scenes])
        targets = np.stack([t for _, t in scenes])
        centres = [centre for track in tracks for centre in track]
    model = _build(kind, n_keypoints=1)
    model.compile(keras.optimizers.Adam(1e-3), "mse")

    errors_before = _peak_errors(model(frames).numpy(), centres)
    history = model.fit(frames, targets, epochs=50, batch_size=len(frames), verbose=0)
    maps = model(frames).numpy()
    errors_after = _peak_errors(maps, centres)

    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert errors_before.mean() > 20
    assert errors_after.mean() < 3 and errors_after.max() < 5
    assert maps.reshape(len(centres), -1).max(axis=1).min() > 2.5


@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_give_identical_outputs(kind, tmp_path):
    model = _build(kind, mean=0.3, std=0.2)
    frames = _random_frames(_input_shape(kind, batch=1))
    expected = model(frames).numpy()

    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(loaded(frames).numpy(), expected)
    assert leaf_layers(loaded)[0].get_config()["mean"] == 0.3

    model.save_weights(tmp_path / "weights.h5")
    rebuilt = models.build_model(kind, K, window_length=T, mean=0.3, std=0.2)
    rebuilt.load_weights(tmp_path / "weights.h5")
    np.testing.assert_array_equal(rebuilt(frames).numpy(), expected)
