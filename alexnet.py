"""The pretrained network every question stands on, behind one interface.

The assignment's network is BVLC AlexNet (Caffe weights, ~233 MB). Those weights cannot ship with this
repository, so `load()` builds AlexNet whenever they are in weights/ and otherwise the bundled,
genuinely ImageNet-pretrained EfficientNet-Lite0 (cnnvis/efficientnet_lite.py), and says which and why.

    net = alexnet.load()            # AlexNet if weights/ holds its weights, else EfficientNet-Lite0
    net = alexnet.load(PATH)        # a per-layer weights folder or a bvlc_alexnet.npy file
    net = alexnet.load("efficientnet-lite0")

Value spaces: `rgb` is float RGB in 0..255, `rgb_uint8` its 8-bit form, `x` the network's input space.

Run `python alexnet.py --fetch` to download bvlc_alexnet.npy into weights/ (where a network is reachable).
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)
from cnnvis import __version__

import argparse
import copy
import difflib
import functools
import hashlib
import pickle
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from cnnvis.errors import UserError
from cnnvis.files import atomic_path
from cnnvis.quiet_tensorflow import keras, tf

try:  # numpy's own array reconstructor, the one callable a pickled array needs
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

ROOT = Path(__file__).resolve().parent
WEIGHTS_DIR = ROOT / "weights"
CLASSES_FILE = WEIGHTS_DIR / "imagenet_classes.txt"

BVLC_FILE = "bvlc_alexnet.npy"
BVLC_URL = "http://www.cs.toronto.edu/~guerzhoy/tf_alexnet/bvlc_alexnet.npy"
BVLC_SHA256 = "1294ef51496c52f2e4879ee3b5e1da22c35d61f3240937491b4469403d5428cc"
CAFFE_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)

# Layer -> (kernel shape, bias shape), as in the BVLC Caffe definition (grouped convs hold both groups).
ALEXNET_SHAPES = {
    "conv1": ((11, 11, 3, 96), (96,)),
    "conv2": ((5, 5, 48, 256), (256,)),
    "conv3": ((3, 3, 256, 384), (384,)),
    "conv4": ((3, 3, 192, 384), (384,)),
    "conv5": ((3, 3, 192, 256), (256,)),
    "fc6": ((9216, 4096), (4096,)),
    "fc7": ((4096, 4096), (4096,)),
    "fc8": ((4096, 1000), (1000,)),
}
GROUPED = ("conv2", "conv4", "conv5")  # Caffe's two-group convolutions
# The course's per-layer files: layer -> (file stem, bias file stem, number of groups stored as _a/_b).
PER_LAYER_FILES = {
    "conv1": ("conv1", "conv1b", 1), "conv2": ("conv2", "conv2b", 2), "conv3": ("conv3", "conv3b", 1),
    "conv4": ("conv4", "conv4b", 2), "conv5": ("conv5", "conv5b", 2),
    "fc6": ("dense1", "dense1b", 1), "fc7": ("dense2", "dense2b", 1), "fc8": ("dense3", "dense3b", 1),
}


# ---------------------------------------------------------------------------------------------
# Class names
# ---------------------------------------------------------------------------------------------
class ClassNames(tuple):
    """The 1000 ImageNet class names (short form) in the standard Caffe/torchvision order."""

    def __new__(cls, path=CLASSES_FILE):
        lines = Path(path).read_text().splitlines()
        self = super().__new__(cls, (line.split("\t")[1].split(",")[0].strip() for line in lines))
        self.lemmas = [line.split("\t")[1].lower() for line in lines]
        return self

    def _several(self, text, matches, shown=8):
        """The sentence for a name that matches several classes: each match with its index; classes that share
        one name ("crane": the bird and the machine) told apart by their neighbours in the class list."""
        same = len({self[i].lower() for i in matches}) < len(matches)

        def entry(i):
            if not same:
                return f"{self[i]} ({i})"
            return f"{self[i]} ({i}, between {self[i - 1] if i else 'the start'} and " \
                   f"{self[i + 1] if i + 1 < len(self) else 'the end'})"

        listed = ", ".join(entry(i) for i in matches[:shown])
        more = f" and {len(matches) - shown} more" if len(matches) > shown else ""
        if len({self[i].lower() for i in matches}) == 1:
            advice = "give its index"
        else:
            advice = "give its index or a name only one of them has"
        return f"class name '{text}' matches {len(matches)} classes: {listed}{more}; {advice}."

    def find(self, query):
        """Class index from an index ("281", 281) or a (partial) name ("tabby", "ostrich")."""
        text = str(query).strip()
        if not text:
            raise UserError("an empty class name was given; give a class index 0..999 or an ImageNet class name.")
        if re.fullmatch(r"-?[0-9]+", text):  # not str.isdigit(): "²" is a digit to it, but no number to int()
            index = int(text)
            if not 0 <= index < len(self):
                raise UserError(f"class index {index} is out of range; valid indices are 0..{len(self) - 1}.")
            return index
        low = text.lower()
        exact = [i for i, name in enumerate(self) if name.lower() == low]
        exact = exact or [i for i, lem in enumerate(self.lemmas) if low in (s.strip() for s in lem.split(","))]
        if len(exact) == 1:
            return exact[0]
        partial = exact or [i for i, lem in enumerate(self.lemmas) if low in lem]
        if len(partial) == 1:
            return partial[0]
        if partial:
            raise UserError(self._several(text, partial))
        lowered = [n.lower() for n in self]
        near = difflib.get_close_matches(low, lowered, n=5, cutoff=0.6)
        hint = ", ".join(f"{self[lowered.index(m)]} ({lowered.index(m)})" for m in near)
        raise UserError(f"unknown class name '{text}'" + (f"; nearest matches: {hint}." if hint else
                                                          "; give a class index 0..999 or an ImageNet class name."))


# ---------------------------------------------------------------------------------------------
# The network interface shared by AlexNet and the embedded network
# ---------------------------------------------------------------------------------------------
class Network:
    """A pretrained ImageNet classifier with named layer activations, in one interface for both networks.

    Attributes: name, input_size (S), layers (ordered, ending with the logits layer then "prob"),
    logits_layer, classes (ClassNames), model (tf.keras.Model whose outputs are {layer: activation}),
    reason (why this network was chosen).
    """

    def __init__(self, name, model, outputs, logits_layer, rgb_to_x, x_to_rgb, reason="", any_size=None):
        self.name = name
        self.model = model
        self.layers = list(outputs)
        self.logits_layer = logits_layer
        self.input_size = int(model.input.shape[1])
        self.classes = ClassNames()
        self.reason = reason
        self.weights = f"the bundled, ImageNet-pretrained {name} weights"
        self.rgb_to_x = rgb_to_x  # float RGB 0..255, [..., 3] -> x (tensor op, differentiable)
        self.x_to_rgb = x_to_rgb  # the inverse
        self._outputs = outputs
        self._submodels = {}
        self._any_size = any_size  # () -> (model, outputs) for inputs of any side; None: only S×S

    def __repr__(self):
        return f"<Network {self.name}: {self.input_size}x{self.input_size}x3, layers {', '.join(self.layers)}>"

    def check_layer(self, layer):
        if layer not in self._outputs:
            raise UserError(f"unknown layer '{layer}' for {self.name}; valid layers are: {', '.join(self.layers)}.")
        return layer

    def output_shape(self, layer):
        """Shape of a layer's activation, batch dimension first (None)."""
        return tuple(self._outputs[self.check_layer(layer)].shape)

    def preprocess(self, rgb_uint8):
        """H×W×3 uint8 RGB of any size -> float32 S×S×3 in input space (centre square, resized)."""
        rgb_uint8 = np.asarray(rgb_uint8)
        if rgb_uint8.ndim != 3 or rgb_uint8.shape[2] != 3 or rgb_uint8.dtype != np.uint8:
            raise UserError(f"preprocess expects an H×W×3 uint8 RGB array, got shape {rgb_uint8.shape} "
                            f"and dtype {rgb_uint8.dtype}.")
        return np.asarray(self.rgb_to_x(self.resize_to_input(rgb_uint8).astype(np.float32)), np.float32)

    def resize_to_input(self, rgb_uint8):
        """The network's view of a photo: its centre square, resized to S×S (bicubic); uint8 RGB.
        An S×S image is returned unchanged."""
        size = (self.input_size, self.input_size)
        return np.asarray(ImageOps.fit(Image.fromarray(rgb_uint8), size, Image.Resampling.BICUBIC))

    def deprocess(self, x):
        """x in input space (S×S×3 or N×S×S×3) -> uint8 RGB, rounded and clipped."""
        return np.clip(np.round(np.asarray(self.x_to_rgb(np.asarray(x, np.float32)))), 0, 255).astype(np.uint8)

    @property
    def any_size(self):
        """Whether the network also takes square inputs of other sides than S (a fully convolutional network
        with a global pool does; AlexNet's fc6 needs exactly 6×6×256, so 227×227)."""
        return self._any_size is not None

    def activations(self, x, layers=None):
        """x: [N,S,S,3] in input space (or [N,s,s,3] of another side when `any_size`) -> {layer: activation};
        one forward pass, differentiable. Only the part of the graph the requested layers need is run."""
        layers = tuple(self.layers if layers is None else [self.check_layer(l) for l in layers])
        side = x.shape[1]
        key = (layers, side == self.input_size)
        if key not in self._submodels:
            if key[1]:
                model, outputs = self.model, self._outputs
            elif self.any_size:
                with tf.init_scope():  # built eagerly even when first asked for inside a traced step
                    model, outputs = self._any_size()
            else:
                raise UserError(f"{self.name} takes only {self.input_size}x{self.input_size} inputs, not {side}x{side}.")
            submodel = keras.Model(model.input, {l: outputs[l] for l in layers})
            side = self.input_size if key[1] else None
            # Called eagerly (judging, measuring saved images), a Keras model runs op by op from Python; traced
            # once per layer set, each such call is one graph call.
            traced = tf.function(lambda x: submodel(x, training=False), autograph=False,
                                 input_signature=[tf.TensorSpec([None, side, side, 3], tf.float32)])
            self._submodels[key] = (submodel, traced)
        submodel, traced = self._submodels[key]
        return submodel(x, training=False) if tf.inside_function() else traced(tf.convert_to_tensor(x, tf.float32))

    def logits(self, x):
        return self.activations(x, [self.logits_layer])[self.logits_layer]


# ---------------------------------------------------------------------------------------------
# AlexNet (BVLC Caffe definition)
# ---------------------------------------------------------------------------------------------
def block_input_gradient(dy, kernel, stride, height, width):
    """The gradient with respect to the input of a VALID convolution with `kernel` [k,k,C,O] and `stride`,
    computed as the gradient of the same sum written over stride×stride blocks of the input
    (space-to-depth): a stride-1 convolution with a ceil(k/stride)² kernel on stride²·C channels.
    dy [N,h,w,O] -> [N,height,width,C]."""
    k, channels, outputs = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    kb = -(-k // stride)
    padded = tf.pad(kernel, [[0, kb * stride - k], [0, kb * stride - k], [0, 0], [0, 0]])  # zero taps add nothing
    blocks = tf.reshape(tf.transpose(tf.reshape(padded, [kb, stride, kb, stride, channels, outputs]),
                                     [0, 2, 1, 3, 4, 5]), [kb, kb, stride * stride * channels, outputs])
    rows, cols = dy.shape[1] + kb - 1, dy.shape[2] + kb - 1
    shape = tf.stack([tf.shape(dy)[0], rows, cols, stride * stride * channels])
    grad = tf.nn.depth_to_space(tf.compat.v1.nn.conv2d_backprop_input(shape, blocks, dy, [1, 1, 1, 1], "VALID"), stride)
    grad = grad[:, :height, :width]  # rows past the last window get no gradient
    return tf.pad(grad, [[0, 0], [0, max(0, height - rows * stride)], [0, max(0, width - cols * stride)], [0, 0]])


class BlockGradientConv2D(keras.layers.Conv2D):
    """A VALID strided Conv2D (AlexNet's conv1: 11×11, stride 4, 3 input channels) with the same forward pass
    and a faster gradient with respect to its input: TensorFlow's CPU gradient of a stride-4 convolution into
    3 channels takes about 3.5× as long as the same numbers computed by block_input_gradient."""

    def call(self, x):
        stride = self.strides[0]

        @tf.custom_gradient
        def conv(x, kernel):
            def grad(dy):
                kernel_grad = tf.compat.v1.nn.conv2d_backprop_filter(x, tf.shape(kernel), dy, [1, stride, stride, 1],
                                                                     "VALID")
                return block_input_gradient(dy, kernel, stride, x.shape[1], x.shape[2]), kernel_grad
            return tf.nn.conv2d(x, kernel, stride, "VALID"), grad

        return self.activation(tf.nn.bias_add(conv(x, tf.convert_to_tensor(self.kernel)), self.bias))


def build_alexnet(params):
    """AlexNet as a Keras model from {layer: (kernel, bias)} in Keras layouts; returns (model, outputs).

    Input 227×227×3 BGR minus the Caffe mean. conv1..conv5, fc6, fc7 are reported after their ReLU.
    Caffe's two-group convolutions (conv2, conv4, conv5) are built as two convolutions on the channel halves,
    joined: the same function as Conv2D(groups=2), but TensorFlow's CPU gradient of a grouped convolution
    is several times slower than that of two plain ones, and conv1's gradient is computed on 4×4 blocks
    (BlockGradientConv2D); bench/bench.py measures both."""
    L = keras.layers

    class LRN(L.Layer):
        """Caffe's local response normalization across 5 channels."""
        acts_per_position = True  # mixes channels, never positions (cnnvis.incremental relies on it)

        def call(self, x):
            return tf.nn.local_response_normalization(x, depth_radius=2, bias=1.0, alpha=2e-5, beta=0.75)

    def grouped_conv(h, filters, kernel, name):
        half = h.shape[-1] // 2
        groups = [L.Conv2D(filters // 2, kernel, padding="same", activation="relu", name=f"{name}_{g}")(part)
                  for g, part in zip("ab", (h[..., :half], h[..., half:]))]
        return L.Concatenate(name=name)(groups)

    x = L.Input((227, 227, 3), name="x")
    out = {}
    out["conv1"] = BlockGradientConv2D(96, 11, strides=4, padding="valid", activation="relu", name="conv1")(x)
    h = L.MaxPool2D(3, 2, name="pool1")(LRN(name="norm1")(out["conv1"]))
    out["conv2"] = grouped_conv(h, 256, 5, "conv2")
    h = L.MaxPool2D(3, 2, name="pool2")(LRN(name="norm2")(out["conv2"]))
    out["conv3"] = L.Conv2D(384, 3, padding="same", activation="relu", name="conv3")(h)
    out["conv4"] = grouped_conv(out["conv3"], 384, 3, "conv4")
    out["conv5"] = grouped_conv(out["conv4"], 256, 3, "conv5")
    h = L.Flatten(name="flatten")(L.MaxPool2D(3, 2, name="pool5")(out["conv5"]))  # NHWC order
    out["fc6"] = L.Dense(4096, activation="relu", name="fc6")(h)
    out["fc7"] = L.Dense(4096, activation="relu", name="fc7")(out["fc6"])
    out["fc8"] = L.Dense(1000, name="fc8")(out["fc7"])
    out["prob"] = L.Softmax(name="prob")(out["fc8"])
    model = keras.Model(x, out, name="alexnet")
    for layer, (kernel, bias) in params.items():
        if layer in GROUPED:  # the first half of the output channels belongs to group a, the second to group b
            half = kernel.shape[-1] // 2
            model.get_layer(f"{layer}_a").set_weights([kernel[..., :half], bias[:half]])
            model.get_layer(f"{layer}_b").set_weights([kernel[..., half:], bias[half:]])
        else:
            model.get_layer(layer).set_weights([kernel, bias])
    return model, out


def alexnet_from_params(params, reason):
    mean_bgr = tf.constant(CAFFE_MEAN_BGR, tf.float32)

    def rgb_to_x(rgb):
        return tf.reverse(tf.convert_to_tensor(rgb, tf.float32), [-1]) - mean_bgr

    def x_to_rgb(x):
        return tf.reverse(tf.convert_to_tensor(x, tf.float32) + mean_bgr, [-1])

    model, outputs = build_alexnet(params)
    return Network("alexnet", model, outputs, "fc8", rgb_to_x, x_to_rgb, reason)


# ---------------------------------------------------------------------------------------------
# Reading AlexNet weights safely, in both formats
# ---------------------------------------------------------------------------------------------
class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits only what numpy needs to rebuild plain arrays; anything else (os.system, eval, ...) is refused."""

    def find_class(self, module, name):
        allowed = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _reconstruct
        if (module, name) in allowed:
            return allowed[(module, name)]
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


def _check_shape(path, what, array, shape):
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        found = type(array).__name__ if not isinstance(array, np.ndarray) else f"dtype {array.dtype}"
        raise UserError(f"{path}: {what} should be a float array of shape {shape}, found {found}.")
    if array.shape != tuple(shape):
        raise UserError(f"{path}: {what} should have shape {tuple(shape)}, found {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise UserError(f"{path}: {what} contains NaN or infinite values; the file is corrupt.")
    return array.astype(np.float32)


def _npy_header(f):
    """(shape, fortran_order, dtype) from an open .npy file, read without touching its data. A header numpy
    refuses is a ValueError in this project's words: numpy's own advises allow_pickle=True, which would run
    any code an untrusted file holds."""
    try:
        version = np.lib.format.read_magic(f)
    except ValueError:
        raise ValueError("it does not start as a numpy .npy file does") from None
    try:
        return (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                np.lib.format.read_array_header_2_0)(f)
    except ValueError:
        raise ValueError("its numpy header is damaged or longer than a real weights file's") from None


class _HashingReader:
    """A binary file that adds every byte read from it to `digest`: the SHA-256 of exactly what was loaded."""

    def __init__(self, f, digest):
        self.f, self.digest = f, digest

    def read(self, size=-1):
        data = self.f.read(size)
        self.digest.update(data)
        return data

    def readline(self, size=-1):
        data = self.f.readline(size)
        self.digest.update(data)
        return data

    def rest(self):
        while self.read(1 << 22):
            pass


def read_bvlc_npy(path, digest=None):
    """bvlc_alexnet.npy (a pickled {layer: [W, b]}) -> {layer: (kernel, bias)}, without running any code;
    every byte of the file is added to `digest` (a hashlib object) when one is given."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            f = _HashingReader(raw, digest or hashlib.sha256())
            header = _npy_header(f)
            if header[2] != np.dtype(object):
                raise UserError(f"{path}: expected a pickled dict of AlexNet layers (object .npy), "
                                f"found a plain {header[2]} array of shape {header[0]}.")
            obj = _ArraysOnlyUnpickler(f, encoding="latin1").load()
            f.rest()
    except UserError:
        raise
    except pickle.UnpicklingError as e:
        if "not allowed" not in str(e):  # a cut-off or damaged pickle, not a forbidden one
            raise UserError(f"{path}: not a readable bvlc_alexnet.npy (truncated or damaged: {e}).") from None
        raise UserError(f"{path}: refused to load, it contains something other than numpy arrays ({e}).") from None
    except MemoryError:
        raise UserError(f"{path}: an array in it claims more memory than this machine has; the file is corrupt "
                        f"(the real bvlc_alexnet.npy is 233 MB).") from None
    except (ValueError, EOFError, OSError, TypeError, AttributeError, IndexError) as e:
        raise UserError(f"{path}: not a readable bvlc_alexnet.npy (truncated or foreign file: {e}).") from None
    layers = obj.item() if isinstance(obj, np.ndarray) and obj.shape == () else obj
    if not isinstance(layers, dict):
        raise UserError(f"{path}: expected a dict of AlexNet layers conv1..fc8, found {type(layers).__name__}.")
    missing = [name for name in ALEXNET_SHAPES if name not in layers]
    if missing:
        raise UserError(f"{path}: missing layers {', '.join(missing)}; expected conv1..conv5, fc6, fc7, fc8.")
    params = {}
    for name, (kshape, bshape) in ALEXNET_SHAPES.items():
        entry = layers[name]
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise UserError(f"{path}: layer {name} should be a pair [weights, biases].")
        params[name] = (_check_shape(path, f"{name} weights", entry[0], kshape),
                        _check_shape(path, f"{name} biases", entry[1], bshape))
    return params


def _read_plain_npy(path, what, shape):
    if not path.is_file():
        if path.exists():  # a named pipe or a device: reading it could wait forever
            raise UserError(f"{path} is not a regular file; the per-layer AlexNet weights folder needs a .npy "
                            f"file there for {what}.")
        raise UserError(f"{path}: missing; the per-layer AlexNet weights folder needs it for {what}.")
    try:
        with open(path, "rb") as f:  # the header's shape is checked before any data is allocated
            found, _, dtype = _npy_header(f)
        if dtype.hasobject:
            raise UserError(f"{path}: not a plain numpy array file (it holds pickled Python objects); expected "
                            f"{what} of shape {shape}.")
        if tuple(found) != tuple(shape):
            raise UserError(f"{path}: {what} should have shape {tuple(shape)}, found {tuple(found)}.")
        array = np.load(path, allow_pickle=False)
    except UserError:
        raise
    except ValueError as e:
        raise UserError(f"{path}: not a plain numpy array file ({e}); expected {what} of shape {shape}.") from None
    except (OSError, EOFError) as e:
        raise UserError(f"{path}: unreadable or truncated ({e}); expected {what} of shape {shape}.") from None
    return _check_shape(path, what, array, shape)


def read_per_layer_folder(folder):
    """The course's folder of per-layer .npy files -> {layer: (kernel, bias)}; _a/_b halves are the two groups."""
    folder = Path(folder)
    params = {}
    for layer, (stem, bias_stem, groups) in PER_LAYER_FILES.items():
        kshape, bshape = ALEXNET_SHAPES[layer]
        if groups == 1:
            params[layer] = (_read_plain_npy(folder / f"{stem}.npy", f"{layer} weights", kshape),
                             _read_plain_npy(folder / f"{bias_stem}.npy", f"{layer} biases", bshape))
            continue
        half_k, half_b = kshape[:3] + (kshape[3] // 2,), (bshape[0] // 2,)
        kernels = [_read_plain_npy(folder / f"{stem}_{g}.npy", f"{layer} group {g} weights", half_k) for g in "ab"]
        biases = [_read_plain_npy(folder / f"{bias_stem}_{g}.npy", f"{layer} group {g} biases", half_b) for g in "ab"]
        params[layer] = (np.concatenate(kernels, axis=3), np.concatenate(biases))
    return params


def read_alexnet_weights(path, digest=None):
    """{layer: (kernel, bias)} from bvlc_alexnet.npy (its bytes added to `digest`) or a per-layer folder."""
    path = Path(path)
    try:
        if path.is_dir():
            if (path / BVLC_FILE).is_file():
                return read_bvlc_npy(path / BVLC_FILE, digest)
            return read_per_layer_folder(path)
        if path.is_file():
            return read_bvlc_npy(path, digest)
        exists = path.exists()
    except OSError as e:  # a name too long, a loop of links, a folder it may not enter
        raise UserError(f"{path}: cannot be read ({e.strerror or e}); give bvlc_alexnet.npy or a folder of "
                        f"per-layer .npy files.") from None
    if exists:  # a named pipe or a device: reading it could wait forever
        raise UserError(f"{path} is not a regular file; give bvlc_alexnet.npy or a folder of per-layer .npy files.")
    raise UserError(f"{path}: no such file or folder; give bvlc_alexnet.npy or a folder of per-layer .npy files.")


def shown(path):
    """A path as the user should read it: relative to the project when inside it."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def alexnet_weights_in(folder):
    """The AlexNet weights found in `folder` (a file or the folder itself), or None."""
    folder = Path(folder)
    if (folder / BVLC_FILE).is_file():
        return folder / BVLC_FILE
    if any((folder / f"{stem}.npy").exists() or (folder / f"{stem}_a.npy").exists()
           for stem, _, _ in PER_LAYER_FILES.values()):
        return folder
    return None


# ---------------------------------------------------------------------------------------------
# Choosing the network
# ---------------------------------------------------------------------------------------------
NETWORKS = ("auto", "alexnet", "efficientnet-lite0")


def load(source=None, weights_dir=WEIGHTS_DIR, verbose=True):
    """The network: None/"auto" = AlexNet if its weights are in weights_dir, else EfficientNet-Lite0;
    "alexnet" (weights required), "efficientnet-lite0", or a path to AlexNet weights."""
    fetch_hint = "; get AlexNet with: python alexnet.py --fetch"  # said on stderr where AlexNet's weights are absent
    if source in (None, "auto"):
        found = alexnet_weights_in(weights_dir)
        if found is None:
            source = "efficientnet-lite0"
            reason = (f"AlexNet weights not found in {shown(weights_dir)}/ (bvlc_alexnet.npy or the per-layer "
                      f".npy files), so the bundled ImageNet-pretrained EfficientNet-Lite0 was used")
        else:
            source, reason, fetch_hint = found, f"AlexNet weights found at {shown(found)}", ""
    elif source == "alexnet":
        found = alexnet_weights_in(weights_dir)
        if found is None:
            raise UserError(f"AlexNet weights not found in {shown(weights_dir)}/; place bvlc_alexnet.npy (or the per-layer "
                            f".npy files) there, run 'python alexnet.py --fetch', or use --net efficientnet-lite0.")
        source, reason, fetch_hint = found, f"AlexNet requested; weights at {shown(found)}", ""
    elif source == "efficientnet-lite0":
        # Said as it is: a user who has AlexNet's weights and still chose the bundled network must not be told
        # they were missing (the report's title page quotes this reason).
        present = alexnet_weights_in(weights_dir) is not None
        fetch_hint = "" if present else fetch_hint
        present = "AlexNet weights are present in" if present else "AlexNet weights are not present in"
        reason = f"the user chose the bundled network with --net {source} ({present} {shown(weights_dir)}/)"
    else:
        reason, fetch_hint = f"AlexNet weights given as {shown(source)}", ""

    if source == "efficientnet-lite0":
        net = bundled(source, reason)
    else:
        net = copy.copy(alexnet_once(Path(source), weights_fingerprint(source)))
        net.reason = reason
    if verbose:
        print(f"network: {net.name}; {net.reason}{fetch_hint}; weights: {net.weights}", file=sys.stderr)
    return net


def weights_fingerprint(path):
    """What tells AlexNet weights on disk apart without reading them: each .npy file's path, inode, size,
    modification and change times (a file replaced by another, or rewritten with its old times, changes one)."""
    path = Path(path)
    try:
        files = sorted(path.glob("*.npy")) if path.is_dir() else [path] if path.is_file() else []
        stats = [(f, f.stat()) for f in files]
    except OSError as e:
        raise UserError(f"{path}: cannot be read ({e.strerror or e}); give bvlc_alexnet.npy or a folder of "
                        f"per-layer .npy files.") from None
    return tuple((str(f.resolve()), st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns) for f, st in stats)


@functools.lru_cache(maxsize=1)
def alexnet_once(path, fingerprint):
    """AlexNet from the weights at `path`, built and checked once per process while the files stay the same
    (`fingerprint`). make_report runs the four questions in one process, and TensorFlow never frees a network
    that a traced custom gradient (conv1's) has seen, so one network per question would pile up (0.4 GB each)."""
    digest = hashlib.sha256()
    net = alexnet_from_params(read_alexnet_weights(path, digest), "")
    net.weights = judge_alexnet_weights(net, path, digest.hexdigest())
    return net


# ---------------------------------------------------------------------------------------------
# Are these the trained AlexNet weights?
# ---------------------------------------------------------------------------------------------
# Bundled photos and the classes a trained ImageNet network puts in its top 5 for them.
KNOWN_PHOTOS = {"coffee.jpg": {"espresso", "cup", "coffee mug", "eggnog", "consomme"},
                "chelsea.jpg": {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat", "lynx"}}
# How many times more probability each photo's own classes must get on it than on every other known photo: a
# network whose output does not depend on its input gives each class the same on all photos (ratio 1), however
# its constant output is chosen; a trained network gives a photo's classes orders of magnitude more on it.
OWN_CLASS_RATIO = 10.0


def sha256_of(path):
    """SHA-256 of a file's bytes, computed now: never taken from a file a user can edit."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def judge_alexnet_weights(net, source, sha256=None):
    """One sentence on what these AlexNet weights are: the published file (by the SHA-256 of the bytes read,
    `sha256`, or computed now; no checksum is published for the course's per-layer files), and whether they
    behave like the trained network on bundled photos whose class is known: each photo's class in its top 5,
    and each photo's classes OWN_CLASS_RATIO times likelier on it than on the other photos (an output that
    does not depend on the input fails this, whatever it is)."""
    source = Path(source)
    if source.is_dir() and (source / BVLC_FILE).is_file():
        source = source / BVLC_FILE  # what read_alexnet_weights read
    probs, misses = {}, []
    for name, accepted in KNOWN_PHOTOS.items():
        with Image.open(ROOT / "images" / name) as img:
            rgb = net.resize_to_input(np.asarray(img.convert("RGB")))
        probs[name] = prob = net.activations(net.rgb_to_x(rgb[None].astype(np.float32)), ["prob"])["prob"].numpy()[0]
        top5 = [net.classes[i] for i in prob.argsort()[::-1][:5]]
        if not accepted & set(top5):
            misses.append(f"{name} -> {', '.join(top5[:3])}")
    for name, accepted in KNOWN_PHOTOS.items():
        own = [net.classes.index(c) for c in accepted]
        on_own = float(probs[name][own].sum())
        for other in probs.keys() - {name}:
            on_other = float(probs[other][own].sum())
            if not on_own >= OWN_CLASS_RATIO * on_other:  # NaN fails too
                misses.append(f"{name}'s classes get {on_own:.3g} on it and {on_other:.3g} on {other}: the "
                              f"output hardly depends on the input")
    if misses:
        return ("these weights do NOT behave like the trained AlexNet (" + "; ".join(misses) + "): results made with "
                "them are not AlexNet's")
    if source.is_dir():
        return ("the course's per-layer AlexNet weight files, which behave like the trained network on the bundled "
                "photos; no checksum is published for them, so they were not verified byte for byte")
    if sha256 is None:
        sha256 = sha256_of(source)
    return ("the published BVLC AlexNet weights (SHA-256 of the bytes loaded, computed at loading, matches the "
            "published one)" if sha256 == BVLC_SHA256 else
            "AlexNet weights that behave like the trained network on the bundled photos, but not the published "
            "bvlc_alexnet.npy file")


def alexnet_label(weights):
    """How figures and the report name AlexNet with `weights` (a sentence from judge_alexnet_weights)."""
    if weights.startswith("the published"):
        return "AlexNet (BVLC Caffe weights)"
    if "NOT" in weights:
        return "AlexNet architecture with weights that do NOT behave like the trained network"
    if weights.startswith("the course's per-layer"):
        return "AlexNet (the course's per-layer weights, not checksum-verified)"
    return "AlexNet (weights other than the published file)"


@functools.lru_cache(maxsize=None)
def bundled(variant, reason=""):
    """A bundled EfficientNet-Lite network ("efficientnet-lite0" or the judge "efficientnet-lite1"); built
    once per process, so the questions that make_report runs one after another share it."""
    from cnnvis import efficientnet_lite as lite
    if not lite.weights_file(variant).is_file():
        raise UserError(f"{shown(lite.weights_file(variant))}, the weights of the bundled {variant}, is missing; copy "
                        f"weights/ from the project's repository, or put AlexNet's weights in weights/ "
                        f"(python alexnet.py --fetch).")

    def load_weights(model):
        try:
            return lite.load_weights(model, lite.weights_file(variant))
        except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as e:
            # numpy's text for a bad header advises allow_pickle=True: never repeated to a user
            detail = "a damaged numpy header" if "allow_pickle" in str(e) else f"{type(e).__name__}: {e}"
            raise UserError(f"{shown(lite.weights_file(variant))}, the weights of the bundled {variant}, cannot be "
                            f"read ({detail}); copy weights/ from the project's repository.") from None

    @functools.lru_cache(maxsize=1)
    def any_size():  # the same network for inputs of any side, built when first asked for
        model, outputs = lite.build(variant, any_size=True)
        return load_weights(model), outputs

    model, outputs = lite.build(variant)
    load_weights(model)
    return Network(variant, model, outputs, "logits", lite.rgb_to_x, lite.x_to_rgb, reason, any_size)


# ---------------------------------------------------------------------------------------------
# Fetching bvlc_alexnet.npy
# ---------------------------------------------------------------------------------------------
def fetch(url=BVLC_URL, dest=WEIGHTS_DIR / BVLC_FILE, sha256=BVLC_SHA256, timeout=30):
    """Download `url` to `dest` with a progress bar; the file appears only once its SHA-256 is verified."""
    from tqdm import tqdm
    dest = Path(dest)
    try:
        if dest.is_dir():
            raise UserError(f"--dest {dest} is a folder; give the file to save, e.g. {dest / BVLC_FILE}.")
    except OSError as e:
        raise UserError(f"--dest {dest} cannot be used ({e.strerror or e}); give the path of the file to "
                        f"save.") from None
    sha256 = check_sha256(sha256)
    check_url(url)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, atomic_path(dest) as tmp:
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(tmp, "wb") as f, tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
                while chunk := response.read(1 << 20):
                    f.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
            if total is not None and tmp.stat().st_size != total:
                raise UserError(f"download of {url} broke off after {tmp.stat().st_size} of {total} bytes; "
                                f"nothing was saved, try again.")
            if digest.hexdigest() != sha256:
                raise UserError(f"download of {url} has SHA-256 {digest.hexdigest()}, expected {sha256}; "
                                f"the file is corrupt or not the BVLC AlexNet weights, nothing was saved.")
    except urllib.error.HTTPError as e:
        raise UserError(f"could not download {url}: the server answered HTTP {e.code} ({e.reason}).") from None
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise UserError(f"could not download {url} ({reason}); this machine may have no internet access, so "
                        f"download it elsewhere and place it at {dest}.") from None
    except Exception as e:  # http.client.IncompleteRead and friends: a broken transfer
        if isinstance(e, UserError):
            raise
        raise UserError(f"download of {url} broke off ({type(e).__name__}); nothing was saved, try again.") from None
    return dest


def check_sha256(text):
    """The expected SHA-256 as 64 lower-case hex digits: upper case (as some sites print it) is the same hash,
    and a value that is no hash at all is refused before anything is downloaded."""
    sha256 = str(text).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise UserError(f"--sha256 '{text}' is not a SHA-256 hash; give 64 hexadecimal digits, e.g. {BVLC_SHA256}.")
    return sha256


def check_url(url):
    """One sentence for an address that no download could ever use: not http(s) or file, no host, a port that
    is no number, a broken IPv6 host ("http://[::1")."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # a port that is no number 0..65535 raises ValueError only when read
    except ValueError as e:
        raise UserError(f"--url '{url}' is not a valid web address ({e}); give one like {BVLC_URL}.") from None
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.hostname):
        raise UserError(f"--url '{url}' is not a web address; give one starting with https:// or http://.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--fetch", action="store_true", help=f"download {BVLC_FILE} into weights/ and verify it")
    parser.add_argument("--url", default=BVLC_URL, help="where to download from (default: %(default)s)")
    parser.add_argument("--sha256", default=BVLC_SHA256, help="expected SHA-256 of the download")
    parser.add_argument("--dest", default=str(WEIGHTS_DIR / BVLC_FILE), help="where to save (default: %(default)s)")
    parser.add_argument("--net", default="auto", help="with no --fetch: load this network and print a summary")
    args = parser.parse_args(argv)
    try:
        if not args.net.strip():
            raise UserError("--net is empty; give auto, alexnet, efficientnet-lite0 or the path of AlexNet weights.")
        if args.fetch:
            print(f"saved and verified {fetch(args.url, args.dest, args.sha256)}")
        else:
            net = load(args.net)
            print(f"{net.name}: input {net.input_size}x{net.input_size}x3; layers: {', '.join(net.layers)}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
