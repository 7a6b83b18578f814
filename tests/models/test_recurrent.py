"""ConvLSTM-LEAP, the bidirectional student and the warm start from LEAP (dlc_recurrent.models.recurrent)."""

import numpy as np
import pytest
import tf_keras as keras

import dlc_recurrent  # noqa: F401  (loads torchvision before TensorFlow, see _import_order.py)
from dlc_recurrent import models
from dlc_recurrent.kinds import DEFAULT_FILTERS
from tests.helpers import SIZE, T, count_layers, leaf_layers
from tests.helpers import build_network as _build
from tests.helpers import random_frames as _random_frames


def test_filters_and_convlstm_width_are_parameters():
    model = models.build_convlstm_leap(2, filters=(8, 12, 20, 10), convlstm_filters=6)
    widths = {layer.name: layer.filters for layer in leaf_layers(model)
              if hasattr(layer, "filters")}
    assert widths["conv1_3"] == 8 and widths["conv2_1"] == 12 and widths["conv3_2"] == 20
    assert widths["deconv1"] == 10 and widths["conv4_2"] == 10 and widths["deconv2"] == 2
    assert widths["convlstm"] == 6


def test_skip_connection_feeds_the_frames_own_features_to_the_decoder():
    """With the skip connection the decoder is 32 channels wider, and a frame's maps change with
    its own features even where the ConvLSTM's output is held fixed (its weights zeroed)."""
    plain = _build("convlstm_leap")
    skip = _build("convlstm_leap", skip_connection=True)
    assert plain.get_layer("decoder_td").layer.input_shape[-1] == 32
    assert skip.get_layer("decoder_td").layer.input_shape[-1] == 32 + DEFAULT_FILTERS[1]
    assert count_layers(skip) == count_layers(plain)
    for model in (plain, skip):
        convlstm = model.get_layer("convlstm")
        convlstm.set_weights([np.zeros_like(w) for w in convlstm.get_weights()])
    frames = _random_frames((2, T, SIZE, SIZE, 1))
    changed = frames.copy()
    changed[:, -1] = _random_frames((2, SIZE, SIZE, 1), seed=1)
    assert np.array_equal(plain(frames).numpy()[:, -1], plain(changed).numpy()[:, -1])
    assert not np.allclose(skip(frames).numpy()[:, -1], skip(changed).numpy()[:, -1])


@pytest.mark.parametrize("kind, memory", [("convlstm_leap", "features"), ("bidirectional_leap", "features"),
                                          ("convlstm_leap", "maps")])
def test_a_student_started_from_leap_gives_leaps_maps_on_every_frame(kind, memory):
    keras.utils.set_random_seed(0)
    leap = models.build_leap(3, channels=1)
    rng = np.random.default_rng(0)
    for weight in leap.weights:  # LEAP's weights anything but a fresh network's
        weight.assign(weight.numpy() + rng.normal(0, 0.05, weight.shape).astype(np.float32))
    student = models.build_model(kind, 3, window_length=None, channels=1, skip_connection=True, memory=memory)
    frames = rng.integers(0, 256, (2, 6, 32, 40, 1)).astype(np.float32)
    before = student(frames).numpy()
    models.warm_start_from_leap(student, leap)
    started = student(frames).numpy()
    expected = leap(frames.reshape(-1, 32, 40, 1)).numpy().reshape(started.shape)
    assert np.abs(before - expected).max() > 1e-2, "the student did not start as LEAP by chance"
    np.testing.assert_allclose(started, expected, atol=1e-5)
    if memory == "maps":  # LEAP inside, read by the ConvLSTM; the correction's weights start at zero
        writer = student.get_layer("decoder_td").layer
        assert student.get_layer("convlstm").input_shape[-1] == 32 + 3
        assert not writer.get_layer("memory_maps").kernel.numpy().any()
        return
    # the memory is read by zero weights, not absent: the decoder's first layer is as wide as before
    decoder = student.get_layer("decoder_td").layer
    assert decoder.get_layer("conv3_1").kernel.shape[2] == 32 + (2 if kind == "bidirectional_leap" else 1) * 32
    assert not decoder.get_layer("conv3_1").kernel.numpy()[:, :, 32:].any()


def test_a_memory_of_maps_is_a_convlstm_leap_option():
    with pytest.raises(ValueError, match="convlstm_leap only"):
        models.build_model("bidirectional_leap", 3, memory="maps")
    with pytest.raises(ValueError, match="memory must be"):
        models.build_model("convlstm_leap", 3, memory="pixels")
    maps = models.build_model("convlstm_leap", 3, memory="maps")
    assert models.has_skip_connection(maps) and models.has_map_memory(maps)
    assert not models.has_map_memory(models.build_model("convlstm_leap", 3, skip_connection=True))
    with pytest.raises(ValueError, match="memory='maps'"):
        models.leap_weights(models.build_model("convlstm_leap", 3, skip_connection=True))


def test_a_warm_start_needs_the_skip_connection_and_matching_networks():
    leap = models.build_leap(3)
    with pytest.raises(ValueError, match="skip_connection"):
        models.warm_start_from_leap(models.build_convlstm_leap(3, window_length=None), leap)
    with pytest.raises(ValueError, match="does not match"):
        models.warm_start_from_leap(models.build_convlstm_leap(4, window_length=None, skip_connection=True), leap)
    with pytest.raises(ValueError, match="normalises"):
        models.warm_start_from_leap(models.build_convlstm_leap(3, window_length=None, skip_connection=True, mean=0.5),
                                    leap)
