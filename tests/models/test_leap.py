"""The seed paper's LEAP (dlc_recurrent.models.leap): its layers."""

import pytest
import tf_keras as keras

import dlc_recurrent  # noqa: F401  (loads torchvision before TensorFlow, see _import_order.py)
from tests.helpers import KINDS, K, count_layers, leaf_layers
from tests.helpers import build_network as _build


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
