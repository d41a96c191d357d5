"""Exact incremental occlusion: recompute only what an occlusion block can change (Krypton, Nakandala et al. 2019).

An occlusion block changes a small window of the input. A convolution or pooling layer changes only the
outputs whose receptive field meets that window, and a layer that acts on each position alone (batch norm,
ReLU, LRN, a residual sum, a channel concatenation or slice) changes exactly the window it is given. So
every layer's output for the occluded image equals its output for the whole image (computed once, cached)
except in a window that can be computed from the previous window plus a border of cached values.

The geometry (each tensor's window for each block position) is worked out in NumPy before anything runs;
the windows of one layer share one size, so a batch of block positions is one traced TensorFlow call of
gathers and VALID convolutions. Where a window grows to the whole map, or a layer mixes all positions
(flatten, global pooling, dense), the cached map is completed with the window and the rest of the network
runs as usual. The result equals the plain occlusion map (cnnvis.occlusion) up to float rounding.
"""
import math

import numpy as np

from cnnvis.occlusion import grid
from cnnvis.progress import ProgressBar
from cnnvis.quiet_tensorflow import keras, tf

L = keras.layers
WINDOWED = (L.Conv2D, L.DepthwiseConv2D, L.MaxPooling2D)
PER_POSITION = (L.BatchNormalization, L.ReLU, L.Activation, L.Add, L.Concatenate, L.Multiply)


# ---------------------------------------------------------------------------------------------
# The network as a list of nodes, and what each layer does to a window
# ---------------------------------------------------------------------------------------------
def graph(model):
    """The functional model's nodes, ordered so that every input is computed before it is used."""
    return [node for depth in sorted(model._nodes_by_depth, reverse=True) for node in model._nodes_by_depth[depth]
            if not node.is_input]


def acts_per_position(node):
    """True for layers whose output at a position depends only on their inputs at that position."""
    op = node.operation
    if isinstance(op, PER_POSITION) or getattr(op, "acts_per_position", False):
        return not isinstance(op, L.Concatenate) or op.axis in (-1, 3)
    if type(op).__name__ == "GetItem":  # a channel slice such as h[..., :half]
        key = node.arguments.args[1]
        key = key if isinstance(key, tuple) else (key,)
        return key[0] is Ellipsis and len(key) == 2
    if isinstance(op, L.Conv2D) and not isinstance(op, L.DepthwiseConv2D):
        return op.kernel_size == (1, 1) and op.strides == (1, 1)
    return False


def windowed_geometry(op, size_in):
    """(kernel, stride, padding before, output size) per axis of a convolution or max pooling on a size_in map."""
    kernel = op.pool_size if isinstance(op, L.MaxPooling2D) else op.kernel_size
    if getattr(op, "dilation_rate", (1, 1)) != (1, 1) or getattr(op, "groups", 1) != 1:
        raise ValueError(f"{op.name}: dilated or grouped layers are not supported by incremental occlusion")
    geometry = []
    for k, s, n in zip(kernel, op.strides, size_in):
        n_out = math.ceil(n / s) if op.padding == "same" else (n - k) // s + 1
        pad = max((n_out - 1) * s + k - n, 0) // 2 if op.padding == "same" else 0
        geometry.append((k, s, pad, n_out))
    return geometry


# ---------------------------------------------------------------------------------------------
# Geometry (NumPy): each tensor's window for every block position
# ---------------------------------------------------------------------------------------------
def plan(nodes, input_id, corners, block):
    """The windows that change, for P block positions with top-left corners [P,2].

    Returns ({tensor id: (offsets [P,2], window size (h, w))}, {node index: (crop starts [P,2], crop size)}):
    tensors missing from the first are computed whole; nodes in the second run VALID on a crop of their
    input (window plus cached border and padding)."""
    windows = {input_id: (np.asarray(corners), (block, block))}
    crops = {}
    for i, node in enumerate(nodes):
        ins = [windows.get(id(t)) for t in node.input_tensors]
        out = None
        if None in ins:
            pass
        elif acts_per_position(node):
            out = ins[0] if len(ins) == 1 else union(ins, node.input_tensors[0].shape[1:3])
        elif isinstance(node.operation, WINDOWED):
            offsets, size = ins[0]
            geometry = windowed_geometry(node.operation, node.input_tensors[0].shape[1:3])
            out_offsets, out_size, starts, lengths = [], [], [], []
            for lo, h, (k, s, pad, n_out) in zip(offsets.T, size, geometry):
                first = np.maximum(0, -((k - 1 - lo - pad) // s))  # ceil((lo + pad - k + 1) / s)
                last = np.minimum(n_out - 1, (lo + h - 1 + pad) // s)
                extent = int((last - first).max()) + 1
                start = np.clip(first, 0, n_out - extent)
                out_offsets.append(start), out_size.append(extent)
                starts.append(start * s - pad), lengths.append((extent - 1) * s + k)
            if out_size != [n_out for *_, n_out in geometry]:  # else the whole map changes
                out = (np.stack(out_offsets, 1), tuple(out_size))
                crops[i] = (np.stack(starts, 1), tuple(lengths))
        if out is not None:
            windows[id(node.output_tensors[0])] = out
    return windows, crops


def union(windows, shape):
    """The smallest common window (one size for all positions, inside the map) holding every given window."""
    lo = np.min([offsets for offsets, _ in windows], axis=0)
    hi = np.max([offsets + np.asarray(size) for offsets, size in windows], axis=0)
    size = tuple(int(v) for v in (hi - lo).max(axis=0))
    return np.clip(lo, 0, np.asarray(shape) - size), size


def same(a, b):
    return a[1] == b[1] and np.array_equal(a[0], b[0])


# ---------------------------------------------------------------------------------------------
# Running a batch of block positions (TensorFlow)
# ---------------------------------------------------------------------------------------------
def crop(cached, window, offsets, starts, lengths, outside=0.0):
    """Rows starts[:,0] + 0..lengths[0]-1 and columns likewise of every occluded map: the window's values
    where it lies, the cached map of the whole image elsewhere, `outside` beyond the map (padding).
    cached [H,W,C]; window [B,h,w,C] at offsets [B,2]; starts [B,2] -> [B,lengths[0],lengths[1],C]."""
    rows = starts[:, :1] + tf.range(lengths[0])  # [B, Lh]
    cols = starts[:, 1:] + tf.range(lengths[1])
    height, width = cached.shape[0], cached.shape[1]
    base = tf.gather(tf.gather(cached, tf.clip_by_value(rows, 0, height - 1), axis=0),
                     tf.clip_by_value(cols, 0, width - 1), axis=2, batch_dims=1)
    r, c = rows - offsets[:, :1], cols - offsets[:, 1:]
    h, w = window.shape[1], window.shape[2]
    inner = tf.gather(tf.gather(window, tf.clip_by_value(r, 0, h - 1), axis=1, batch_dims=1),
                      tf.clip_by_value(c, 0, w - 1), axis=2, batch_dims=1)
    inside = ((r >= 0) & (r < h))[:, :, None, None] & ((c >= 0) & (c < w))[:, None, :, None]
    values = tf.where(inside, inner, base)
    on_map = ((rows >= 0) & (rows < height))[:, :, None, None] & ((cols >= 0) & (cols < width))[:, None, :, None]
    return tf.where(on_map, values, outside)


def windowed_call(op, x):
    """The layer on an already padded crop (VALID), with its own weights and activation."""
    strides = (1, *op.strides, 1)
    if isinstance(op, L.MaxPooling2D):
        return tf.nn.max_pool2d(x, op.pool_size, strides, "VALID")
    if isinstance(op, L.DepthwiseConv2D):
        y = tf.nn.depthwise_conv2d(x, op.kernel, strides, "VALID")
    else:
        y = tf.nn.conv2d(x, op.kernel, strides, "VALID")
    return op.activation(y + op.bias if op.use_bias else y)


def forward(nodes, values, windows, crops, cached, offsets, starts):
    """Run the graph. values starts with the input: a full tensor, or (window data, offsets) when only a window
    of it differs from cached. windows/crops: from plan() (empty: everything whole); cached: {tensor id: the
    unoccluded image's [H,W,C]}; offsets/starts: this batch's rows of plan()'s arrays, as tensors.
    Returns values with every tensor's value."""
    def whole(t):
        v = values[id(t)]
        if not isinstance(v, tuple):
            return v
        shape = cached[id(t)].shape
        return crop(cached[id(t)], v[0], v[1], tf.zeros_like(v[1]), shape[:2])

    def in_window(t, out):
        data, at = values[id(t)]
        if same(windows[id(t)], windows[out]):
            return data
        return crop(cached[id(t)], data, at, offsets[out], windows[out][1])

    for i, node in enumerate(nodes):
        out, op = id(node.output_tensors[0]), node.operation
        if out not in windows:
            args, kwargs = node.arguments.fill_in({id(t): whole(t) for t in node.input_tensors})
            values[out] = op(*args, **kwargs)
        elif i in crops:
            t = id(node.input_tensors[0])
            padding = -np.inf if isinstance(op, L.MaxPooling2D) else 0.0
            x = crop(cached[t], *values[t], starts[i], crops[i][1], padding)
            values[out] = (windowed_call(op, x), offsets[out])
        else:
            args, kwargs = node.arguments.fill_in({id(t): in_window(t, out) for t in node.input_tensors})
            values[out] = (op(*args, **kwargs), offsets[out])
    return values


class IncrementalOcclusion:
    """Occlusion maps of one layer's output (by default "prob") by incremental recomputation; one instance
    per network, one traced function per (block, stride)."""

    def __init__(self, model, layer="prob"):
        self.nodes = graph(model)
        self.input_id = id(model.inputs[0])
        self.output_id = id(model.get_layer(layer).output)
        self.traced = {}

    @tf.function(reduce_retracing=True)
    def cache(self, x):
        """Every tensor of the network for the unoccluded image x [S,S,3], batch axis dropped (one traced pass)."""
        values = forward(self.nodes, {self.input_id: x[None]}, {}, {}, {}, {}, {})
        return {tid: v[0] for tid, v in values.items()}

    def batch_function(self, corners, block):
        """The traced function for one geometry: (cached, fill, offsets, starts, class) -> p(class) [B]."""
        windows, crops = plan(self.nodes, self.input_id, corners, block)

        @tf.function(reduce_retracing=True)
        def probabilities(cached, fill, offsets, starts, class_index):
            first = offsets[self.input_id]
            window = tf.broadcast_to(fill, [tf.shape(first)[0], block, block, fill.shape[-1]])
            values = forward(self.nodes, {self.input_id: (window, first)}, windows, crops, cached, offsets, starts)
            return tf.gather(values[self.output_id], class_index, axis=1)

        return windows, crops, probabilities

    def map(self, x, class_index, block, stride, fill, batch_size=64, progress=True):
        """Like cnnvis.occlusion.occlusion_map(prob_fn, x, ...), computed incrementally."""
        n, corners = grid(x.shape[0], block, stride)
        key = (x.shape[0], block, stride)
        if key not in self.traced:
            self.traced[key] = self.batch_function(corners, block)
        windows, crops, probabilities = self.traced[key]
        cached = self.cache(tf.constant(x, tf.float32))
        cached = {tid: cached[tid] for tid in windows}
        fill, class_index = tf.constant(fill, tf.float32), tf.constant(class_index)
        out = []
        for start in ProgressBar(range(0, len(corners), batch_size), desc=f"occluding {block}px", unit="batch",
                                 leave=False, disable=not progress):
            rows = slice(start, start + batch_size)
            offsets = {tid: tf.constant(w[0][rows], tf.int32) for tid, w in windows.items()}
            starts = {i: tf.constant(c[0][rows], tf.int32) for i, c in crops.items()}
            out.append(probabilities(cached, fill, offsets, starts, class_index).numpy())
        return np.concatenate(out).reshape(n, n)
