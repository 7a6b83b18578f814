"""The streamed ConvLSTM (dlc_recurrent.inference.recurrence): chunks with carried state, XLA or not."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

import dlc_recurrent  # noqa: F401  (loads torchvision before TensorFlow, see _import_order.py)
from dlc_recurrent import models
from dlc_recurrent.inference import recurrence as streaming
from tests.helpers import SIZE, K, T, count_layers, leaf_layers
from tests.helpers import build_network as _build
from tests.helpers import random_frames as _random_frames


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
