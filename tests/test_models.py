"""Tests of dlc_recurrent.models: the seed paper's LEAP and ConvLSTM-LEAP students."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import dlc_recurrent  # noqa: F401  (loads torchvision before TensorFlow, see _import_order.py)
from dlc_recurrent import models
from dlc_recurrent.inference import recurrence as streaming
from dlc_recurrent.kinds import DEFAULT_FILTERS

SIZE = 64
T = 5
K = 3
KINDS = ["leap", "convlstm_leap"]



def leaf_layers(model):
    """All layers of `model` in order, looking inside nested models and TimeDistributed wrappers."""
    leaves = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.TimeDistributed):
            layer = layer.layer
        if isinstance(layer, keras.Model):
            leaves.extend(leaf_layers(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            leaves.append(layer)
    return leaves


def count_layers(model):
    """Count the layer types the seed paper lists: {"conv", "pool", "deconv", "convlstm"}.

    "conv" counts plain Conv2D layers only; transposed convolutions count as "deconv".
    """
    counts = {"conv": 0, "pool": 0, "deconv": 0, "convlstm": 0}
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.Conv2DTranspose):
            counts["deconv"] += 1
        elif isinstance(layer, keras.layers.Conv2D):
            counts["conv"] += 1
        elif isinstance(layer, keras.layers.MaxPooling2D):
            counts["pool"] += 1
        elif isinstance(layer, keras.layers.ConvLSTM2D):
            counts["convlstm"] += 1
        elif isinstance(layer, keras.layers.Bidirectional):
            counts["convlstm"] += 2
    return counts

def _build(kind, n_keypoints=K, **kwargs):
    keras.utils.set_random_seed(0)
    return models.build_model(kind, n_keypoints, window_length=T, **kwargs)


def _input_shape(kind, batch, size=SIZE):
    frame = (size, size, 1)
    return (batch, *frame) if kind == "leap" else (batch, T, *frame)


def _random_frames(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape).astype("float32")


@pytest.mark.parametrize("kind", KINDS)
def test_layers_match_the_paper(kind):
    model = _build(kind)
    expected = {"conv": 11, "pool": 2, "deconv": 2, "convlstm": int(kind == "convlstm_leap")}
    assert count_layers(model) == expected

    convs = [layer for layer in leaf_layers(model)
             if isinstance(layer, keras.layers.Conv2D)]
    assert [layer.name for layer in convs] == [
        "conv1_1", "conv1_2", "conv1_3", "conv2_1", "conv2_2", "conv2_3",
        "conv3_1", "conv3_2", "conv3_3", "deconv1", "conv4_1", "conv4_2", "deconv2"]
    assert [layer.filters for layer in convs] == [16] * 3 + [32] * 3 + [64] * 3 + [32] * 3 + [K]
    assert all(layer.kernel_size == (3, 3) and layer.padding == "same" for layer in convs)
    assert all(layer.activation is keras.activations.relu for layer in convs[:-1])
    last = convs[-1]
    assert isinstance(last, keras.layers.Conv2DTranspose)
    assert last.activation is keras.activations.linear
    assert last.strides == (2, 2) and last.filters == K

    names = [layer.name for layer in leaf_layers(model)]
    if kind == "convlstm_leap":
        assert names.index("convlstm") == names.index("pool2") + 1
        convlstm = model.get_layer("convlstm")
        assert (convlstm.filters, convlstm.kernel_size, convlstm.padding) == (32, (3, 3), "same")
        assert convlstm.return_sequences
    else:
        assert "convlstm" not in names


def test_filters_and_convlstm_width_are_parameters():
    model = models.build_convlstm_leap(2, filters=(8, 12, 20, 10), convlstm_filters=6)
    widths = {layer.name: layer.filters for layer in leaf_layers(model)
              if hasattr(layer, "filters")}
    assert widths["conv1_3"] == 8 and widths["conv2_1"] == 12 and widths["conv3_2"] == 20
    assert widths["deconv1"] == 10 and widths["conv4_2"] == 10 and widths["deconv2"] == 2
    assert widths["convlstm"] == 6


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


@pytest.mark.parametrize("skip_connection, memory", [(False, "features"), (True, "features"), (True, "maps")])
def test_streaming_chunks_match_the_full_sequence(skip_connection, memory):
    """Chunks of T frames with carried ConvLSTM state give the maps of one 2T-frame pass."""
    trained = _build("convlstm_leap", skip_connection=skip_connection, memory=memory)
    assert models.has_skip_connection(trained) == skip_connection
    convlstm = trained.get_layer("convlstm")
    kernel, recurrent_kernel, bias = convlstm.get_weights()
    bias = np.random.default_rng(3).normal(0, 0.5, bias.shape).astype("float32")
    convlstm.set_weights([kernel, recurrent_kernel * 3, bias])  # a recurrence that matters, all gates biased
    if memory == "maps":  # a memory that writes something (its last layer starts at zero)
        written = trained.get_layer("decoder_td").layer.get_layer("memory_maps")
        written.set_weights([np.random.default_rng(4).normal(0, 0.3, w.shape).astype("float32")
                             for w in written.get_weights()])
    any_length = models.build_convlstm_leap(K, window_length=None, skip_connection=skip_connection, memory=memory)
    any_length.set_weights(trained.get_weights())
    video = _random_frames((2 * T, SIZE, SIZE, 1))
    full = any_length(video[np.newaxis])[0].numpy()

    encoder, recurrence, decoder = streaming.split_recurrent_model(trained)
    state = None
    chunks = []
    for start in range(0, 2 * T, T):
        maps, state = streaming.run_recurrent_chunk(encoder, recurrence, decoder,
                                                 video[start:start + T], state)
        chunks.append(maps.numpy())
    streamed = np.concatenate(chunks)

    assert streamed.shape == full.shape == (2 * T, SIZE, SIZE, K)
    assert streamed.dtype == np.float32
    # one convolution over [input, hidden] sums in another order than Keras' two: float32 rounding only
    np.testing.assert_allclose(streamed, full, rtol=1e-4, atol=1e-5 * np.abs(full).max())

    windows = np.stack([video[:T], video[T:]])
    features = encoder(windows.reshape(-1, SIZE, SIZE, 1))
    hiddens, _, _ = recurrence.run(tf.reshape(features, (2, T, *features.shape[1:])))
    decoded = streaming.decoder_input(features, tf.reshape(hiddens, (-1, *hiddens.shape[2:])), skip_connection)
    batched = decoder(decoded).numpy().reshape(2, T, SIZE, SIZE, K)
    np.testing.assert_allclose(batched, any_length(windows).numpy(), rtol=1e-4, atol=1e-6 * np.abs(full).max())

    fresh_start, _ = streaming.run_recurrent_chunk(encoder, recurrence, decoder, video[T:])
    assert not np.allclose(fresh_start.numpy(), full[T:], rtol=1e-4, atol=1e-6 * np.abs(full).max())


def test_the_recurrence_without_xla_gives_the_same_states(monkeypatch):
    """Where TensorFlow cannot XLA-compile, the streamed ConvLSTM runs on plain ops with the same result."""
    trained = _build("convlstm_leap")
    features = tf.random.stateless_normal((2, 5, SIZE // 4, SIZE // 4, trained.get_layer("convlstm").input_shape[-1]),
                                          seed=(1, 2))
    compiled, _, _ = streaming.split_recurrent_model(trained)[1].run(features)
    monkeypatch.setattr(streaming, "xla_available", lambda: False)
    plain = streaming.split_recurrent_model(trained)[1]
    assert plain._update._jit_compile is False and plain._join._jit_compile is False
    np.testing.assert_allclose(plain.run(features)[0].numpy(), compiled.numpy(), rtol=1e-5, atol=1e-6)


def test_a_tensorflow_without_xla_is_found_and_said(monkeypatch, caplog):
    real_function = tf.function

    def function_without_xla(func=None, jit_compile=None, **options):
        if jit_compile:
            raise NotImplementedError("XLA is not in this build")
        return real_function(func, **options)

    monkeypatch.setattr(tf, "function", function_without_xla)
    with caplog.at_level("WARNING"):
        assert streaming.xla_available.__wrapped__() is False
    assert "cannot XLA-compile here (NotImplementedError)" in caplog.text


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


def test_mixed_precision_still_outputs_float32_maps():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = models.build_convlstm_leap(K, window_length=2)
        encoder, recurrence, decoder = streaming.split_recurrent_model(model)
        assert leaf_layers(model)[1].compute_dtype == "float16"
        assert model(np.zeros((1, 2, 16, 16, 1), "float32")).dtype == tf.float32
        maps, _ = streaming.run_recurrent_chunk(encoder, recurrence, decoder,
                                             np.zeros((2, 16, 16, 1), "float32"))
        assert maps.dtype == tf.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("skip_connection", [False, True])
def test_bidirectional_student_layers_and_split(skip_connection):
    model = models.build_bidirectional_leap(K, window_length=None, skip_connection=skip_connection)
    assert count_layers(model) == {"conv": 11, "pool": 2, "deconv": 2, "convlstm": 2}
    video = _random_frames((T, SIZE, SIZE, 1))
    full = model(video[np.newaxis])[0].numpy()
    encoder, forward, backward, decoder = streaming.split_bidirectional_model(model)
    features = encoder(video)
    hidden = tf.concat([forward(features)[0], backward(features[::-1])[0][::-1]], -1)
    hidden = streaming.decoder_input(features, hidden, skip_connection)
    np.testing.assert_allclose(decoder(hidden).numpy(), full, rtol=1e-4, atol=1e-6 * np.abs(full).max())
    assert models.build_model("bidirectional_leap", K).name == "bidirectional_leap"


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
