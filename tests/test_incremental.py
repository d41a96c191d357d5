"""Incremental occlusion (cnnvis.incremental) gives the plain occlusion map, on every kind of layer it meets."""
import numpy as np
import pytest

import alexnet
from cnnvis.incremental import IncrementalOcclusion, plan
from cnnvis.occlusion import grid, occlusion_map
from cnnvis.quiet_tensorflow import keras
from conftest import read_rgb


def both_maps(model, layer, x, index, block, stride, fill):
    """(plain map, incremental map) of model output `layer` (the name of the layer making it)."""
    def out(batch):
        return model(batch, training=False)[layer]
    plain = occlusion_map(out, x, index, block, stride, fill, batch_size=7, progress=False)
    return plain, IncrementalOcclusion(model, layer).map(x, index, block, stride, fill, batch_size=7, progress=False)


def tiny_model():
    """Odd sizes and every awkward case: a stride-2 'same' convolution (TensorFlow pads more at the end), batch
    norm, a depthwise convolution, a residual sum, 'same' and 'valid' max pooling, channel slices joined
    again, and a dense head."""
    L = keras.layers
    x = L.Input((28, 28, 3))
    h = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)  # 14×14, padding 0 before and 1 after
    r = L.DepthwiseConv2D(5, padding="same", activation="relu")(L.BatchNormalization()(h))
    h = L.MaxPooling2D(3, 2, padding="same")(L.Add()([h, L.Conv2D(8, 1)(r)]))  # 7×7, padding 0 before and 1 after
    h = L.Concatenate()([L.Conv2D(4, 3, padding="same")(h[..., :4]), L.Conv2D(4, 3, padding="same")(h[..., 4:])])
    h = L.MaxPooling2D(2, 2)(L.ReLU()(h))  # 3×3
    out = L.Dense(5, name="logits")(L.Flatten()(h))
    model = keras.Model(x, {"logits": out})
    rng = np.random.default_rng(1)
    for v in model.weights:
        v.assign(np.abs(rng.normal(0, 0.5, v.shape)).astype(np.float32) if "variance" in v.path
                 else rng.normal(0, 0.5, v.shape).astype(np.float32))
    return model


@pytest.mark.parametrize("block, stride", [(1, 1), (4, 3), (7, 5), (13, 4)])
def test_incremental_map_equals_plain_map_on_every_layer_kind(block, stride):
    model = tiny_model()
    x = np.random.default_rng(2).normal(0, 1, (28, 28, 3)).astype(np.float32)
    fill = np.array([0.5, -1.0, 2.0], np.float32)
    plain, incremental = both_maps(model, "logits", x, 3, block, stride, fill)
    assert plain.std() > 0.1  # the blocks really change the output
    np.testing.assert_allclose(incremental, plain, atol=1e-4 * np.abs(plain).max())


def test_plan_recomputes_only_a_window_in_the_first_layers():
    """The point of the method: a block changes a window of the first layers, not the whole map."""
    model = tiny_model()
    inc = IncrementalOcclusion(model, "logits")
    windows, crops = plan(inc.nodes, inc.input_id, grid(28, 4, 3)[1], 4)
    first = id(inc.nodes[0].output_tensors[0])  # the stride-2 convolution: (4 + 3 - 1) / 2 -> 3 or 4 rows
    assert windows[first][1] in ((3, 3), (4, 4)) and 0 in crops


def test_incremental_map_equals_plain_map_on_the_bundled_network(lite0):
    x = lite0.preprocess(read_rgb("coffee.jpg"))
    plain, incremental = both_maps(lite0.model, "prob", x, 967, 48, 80, np.zeros(3, np.float32))  # 3×3 places
    assert plain.max() - plain.min() > 0.01
    np.testing.assert_allclose(incremental, plain, atol=1e-5)


def test_incremental_map_equals_plain_map_on_alexnet(synthetic_params):
    """AlexNet with random weights: its logits (the probabilities of random weights are nearly one-hot)."""
    net = alexnet.alexnet_from_params(synthetic_params, "synthetic weights for a test")
    x = net.preprocess(read_rgb("coffee.jpg"))
    plain, incremental = both_maps(net.model, "fc8", x, 5, 48, 80, np.zeros(3, np.float32))
    assert plain.max() - plain.min() > 1e-3
    np.testing.assert_allclose(incremental, plain, atol=1e-4 * np.abs(plain).max())
