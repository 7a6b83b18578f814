"""The student networks: the seed paper's LEAP and its recurrent ConvLSTM-LEAP variant.

    layers.py     padding, the normalisation layer, LEAP's convolution, frame dropout
    leap.py       LEAP: encoder, decoder, the whole single-frame network
    recurrent.py  ConvLSTM-LEAP (and its memory of maps), the bidirectional student, the warm start
    registry.py   the builder of each registered kind (dlc_recurrent.kinds), build_model, build_student

Both networks map video frames to one confidence map per keypoint at the input resolution.
LEAP (Pereira et al.) is a small fully convolutional network of 15 layers::

    3x conv(16) · pool · 3x conv(32) · pool · 3x conv(64) · deconv(32) · 2x conv(32) · deconv(K)

with 3x3 kernels, ReLU, "same" padding, stride-2 transposed convolutions ("deconv") and a linear
last layer. The recurrent student of the seed paper wraps those layers in ``TimeDistributed`` and
inserts ``ConvLSTM2D(32, 3, padding="same")`` right after the second pooling layer, where the
features are 4x smaller than the image and the LSTM is cheap.

Every network here is therefore built from two halves:

- the **encoder**: normalisation, conv1_x, pool1, conv2_x, pool2 (frame -> features at 1/4 size);
- the **decoder**: conv3_x (64 filters), deconv1, conv4_x, deconv2 (features -> confidence maps).

LEAP is ``decoder(encoder(frame))``; ConvLSTM-LEAP is
``TimeDistributed(decoder)(ConvLSTM2D(TimeDistributed(encoder)(window)))``. The conv(64) block sits
in the decoder because the seed paper places the ConvLSTM immediately after the second pool, i.e.
before the 64-filter convolutions. Keeping the halves as separate models lets inference on a long
video run the encoder once per frame and carry the ConvLSTM state from one chunk of frames to the
next (:mod:`dlc_recurrent.inference.recurrence`) instead of recomputing a whole window for every frame.

The normalisation ``(x / 255 - mean) / std`` is the first layer of the model, so training and
inference cannot normalise differently. Images go in with their 0-255 pixel values (uint8 or
float). Height and width can be left open (``None``): any size that is a multiple of 4 works, as
the two pooling layers halve it twice and the two deconvolutions double it back. Other sizes are
rejected with an error; pad them first with :func:`pad_images` (bottom and right, so pixel
coordinates are unchanged and the maps are cropped back with ``maps[:height, :width]``).

The last layer computes in float32 even under a mixed-precision policy, so the maps are float32.
"""

from dlc_recurrent.models.layers import SIZE_MULTIPLE, FrameDropout, Normalize, pad_images, pad_to_multiple
from dlc_recurrent.models.leap import build_decoder, build_encoder, build_leap
from dlc_recurrent.models.recurrent import (
    build_bidirectional_leap,
    build_convlstm_leap,
    build_map_memory,
    has_map_memory,
    has_skip_connection,
    leap_weights,
    warm_start_from_leap,
)
from dlc_recurrent.models.registry import BUILDERS, build_model, build_student

__all__ = [
    "build_model",
    "build_student",
    "BUILDERS",
    "build_leap",
    "build_encoder",
    "build_decoder",
    "build_convlstm_leap",
    "build_bidirectional_leap",
    "build_map_memory",
    "warm_start_from_leap",
    "leap_weights",
    "has_map_memory",
    "has_skip_connection",
    "pad_images",
    "pad_to_multiple",
    "SIZE_MULTIPLE",
    "Normalize",
    "FrameDropout",
]
