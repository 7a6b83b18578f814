"""A trained recurrent student taken apart for streaming analysis: its per-frame halves and its ConvLSTM
as a function over consecutive feature maps (:class:`ConvLSTMRecurrence`), so a long video runs the
encoder once per frame and carries the ConvLSTM state from one chunk of frames to the next instead
of recomputing a whole window for every frame."""

import functools
import logging

import numpy as np

from dlc_recurrent._tensorflow import tf

logger = logging.getLogger(__name__)


def decoder_input(features, hidden, skip_connection):
    """What the decoder of a split recurrent model takes: the hidden state, after the frame's
    own features with a skip connection (the order the Keras model concatenates them in).

    Args:
        features: (n, h, w, F) tensor, the frames' encoder features.
        hidden: (n, h, w, filters) tensor, the ConvLSTM's hidden states of the same frames.
        skip_connection: whether the decoder also takes the features.

    Returns:
        (n, h, w, F + filters) ``concat([features, hidden])`` in ``hidden``'s dtype with a skip connection;
        ``hidden`` itself otherwise.
    """
    return tf.concat([tf.cast(features, hidden.dtype), hidden], -1) if skip_connection else hidden


def split_recurrent_model(model):
    """Take a trained ConvLSTM-LEAP apart for streaming inference: (encoder, recurrence, decoder).

    `encoder` and `decoder` are the model's own per-frame halves (shared weights); `recurrence`
    is a :class:`ConvLSTMRecurrence` with the trained ConvLSTM weights, so a video can be
    processed chunk by chunk with :func:`run_recurrent_chunk`. Works for any window length the
    model was trained with.

    Args:
        model: the trained Keras ConvLSTM-LEAP (layers "encoder_td", "convlstm", "decoder_td").

    Returns:
        (encoder, recurrence, decoder): the encoder maps frames (n, H, W, C) to features (n, h, w, F); the
        decoder maps :func:`decoder_input` (n, h, w, ...) to maps (n, H, W, K).
    """
    encoder = model.get_layer("encoder_td").layer
    decoder = model.get_layer("decoder_td").layer
    return encoder, ConvLSTMRecurrence(model.get_layer("convlstm")), decoder


def split_bidirectional_model(model):
    """(encoder, forward, backward, decoder) of a bidirectional student, for chunked inference.

    ``backward`` runs on time-reversed features; the decoder takes ``concat([forward, backward])``.

    Args:
        model: the trained Keras bidirectional student (layers "encoder_td", "convlstm", "decoder_td").

    Returns:
        (encoder, forward, backward, decoder): the per-frame halves (shared weights) and a
        :class:`ConvLSTMRecurrence` for each direction of the bidirectional ConvLSTM.
    """
    encoder = model.get_layer("encoder_td").layer
    decoder = model.get_layer("decoder_td").layer
    both = model.get_layer("convlstm")
    return encoder, ConvLSTMRecurrence(both.forward_layer), ConvLSTMRecurrence(both.backward_layer), decoder


@functools.lru_cache(maxsize=None)
def xla_available() -> bool:
    """Whether this TensorFlow build can XLA-compile (``jit_compile=True``) on its default device."""
    try:
        tf.function(lambda x: x + 1, jit_compile=True)(tf.constant(1.0))
        return True
    except Exception as error:  # a build without XLA: the plain ops, a little slower
        logger.warning(f"TensorFlow cannot XLA-compile here ({type(error).__name__}); the ConvLSTM runs "
                       "without it, a little slower, with the same results")
        return False


class ConvLSTMRecurrence:
    """A trained ConvLSTM2D layer as a function over one video's consecutive feature maps.

    The same maths as Keras' layer (gates i, f, c, o; "same" 3x3 convolutions), arranged for
    streaming and speed: each step is one convolution of ``concat([input, hidden])`` with the input and
    recurrent kernels stacked (half the calls of two), in the layer's compute dtype (bfloat16 or
    float16 under a mixed policy, as the rest of the network), between two small XLA-compiled pieces
    that fuse the element-wise work (joining and casting; bias, gates and state update; plain ops
    where TensorFlow has no XLA). The cell state and the returned hidden states stay float32. What
    this arrangement saves on a CPU is measured in benchmarks/RESULTS.md ("analysis speed").

    Args:
        layer: the trained Keras ConvLSTM2D layer (its weights are copied).

    Raises:
        ValueError: a layer with strides or dilation other than 1, or padding other than "same".
    """

    def __init__(self, layer):
        if tuple(layer.strides) != (1, 1) or tuple(layer.dilation_rate) != (1, 1) or layer.padding != "same":
            raise ValueError(f"{layer.name}: streaming supports stride 1, dilation 1, 'same' padding only")
        weights = [np.asarray(w, np.float32) for w in layer.get_weights()]
        self.filters = layer.filters
        self.dtype = tf.as_dtype(getattr(layer, "compute_dtype", None) or "float32")
        # (3, 3, C + filters, 4 filters)
        self.kernel = tf.constant(np.concatenate(weights[:2], axis=2), dtype=self.dtype)
        self.bias = tf.constant(weights[2] if layer.use_bias else np.zeros(4 * layer.filters, np.float32))
        self.activation = layer.activation
        self.recurrent_activation = layer.recurrent_activation
        jit = xla_available()
        self._join = tf.function(self._join_inputs, jit_compile=jit)
        self._update = tf.function(self._update_state, jit_compile=jit)

    def zero_state(self, features):
        """Zero hidden and cell states (H, W, filters) for features of shape (n, H, W, C)."""
        zeros = tf.zeros(tf.concat([tf.shape(features)[1:3], [self.filters]], 0))
        return zeros, zeros

    def __call__(self, sequence, hidden=None, cell=None):
        """(n, H, W, C) features -> (n, H, W, filters) hidden states, last hidden, last cell."""
        if hidden is not None:
            hidden, cell = hidden[tf.newaxis], cell[tf.newaxis]
        hiddens, hidden, cell = self.run(sequence[tf.newaxis], hidden, cell)
        return hiddens[0], hidden[0], cell[0]

    def _join_inputs(self, inputs, hidden):
        return tf.concat([tf.cast(inputs, self.dtype), tf.cast(hidden, self.dtype)], -1)

    def _update_state(self, convolved, cell):
        gates = tf.cast(convolved, tf.float32) + self.bias
        i, f, c, o = tf.split(gates, 4, axis=-1)
        cell = self.recurrent_activation(f) * cell + self.recurrent_activation(i) * self.activation(c)
        return self.recurrent_activation(o) * self.activation(cell), cell

    def run(self, sequences, hidden=None, cell=None):
        """Batched: (N, n, H, W, C) -> (N, n, H, W, filters) hidden states, last hidden, last cell."""
        if hidden is None:
            shape = tf.shape(sequences)
            hidden = cell = tf.zeros(tf.concat([shape[:1], shape[2:4], [self.filters]], 0))

        def step(state, inputs):
            hidden, cell = state
            return self._update(tf.nn.conv2d(self._join(inputs, hidden), self.kernel, 1, "SAME"), cell)

        time_major = tf.transpose(sequences, [1, 0, 2, 3, 4])
        hiddens, cells = tf.scan(step, time_major, initializer=(tf.cast(hidden, tf.float32), tf.cast(cell, tf.float32)))
        return tf.transpose(hiddens, [1, 0, 2, 3, 4]), hiddens[-1], cells[-1]


def run_recurrent_chunk(encoder, recurrence, decoder, frames, state=None):
    """Run consecutive frames of one video through the split recurrent model.

    Each frame goes through the encoder and decoder exactly once, and the result equals running the
    whole video through the Keras model as one sequence.

    Args:
        encoder: the per-frame encoder (:func:`split_recurrent_model`).
        recurrence: the :class:`ConvLSTMRecurrence`.
        decoder: the per-frame decoder; a skip connection is told from its input width.
        frames: (n, H, W, C) uint8, consecutive frames, padded to a multiple of 4.
        state: the ConvLSTM state (hidden, cell) returned for the previous chunk of the same video; None at
            the start.

    Returns:
        (maps, state): maps (n, H, W, K) float32 tf.Tensor, and the (hidden, cell) state, each (h, w, filters)
        float32, to pass with the next chunk.
    """
    features = encoder(frames, training=False)
    sequence, hidden, cell = recurrence(features, *(state or (None, None)))
    skip = decoder.input_shape[-1] != recurrence.filters  # a skip connection widens the decoder's input
    maps = decoder(tf.cast(decoder_input(features, sequence, skip), features.dtype), training=False)
    return maps, (hidden, cell)
