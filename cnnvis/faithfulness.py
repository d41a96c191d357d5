"""Is a heat map right? Deletion and insertion (Petsiuk et al. 2018, RISE).

Deletion: remove pixels in the map's order of importance (set them to the input-space zero, as Q4's
occlusion block does) and follow the class probability; insertion: put the pixels, in the same order, into
a blurred copy of the image. Each curve is sampled at `steps` equal pixel counts and its area (mean
probability over the fraction of pixels, trapezoid rule) is the score: a faithful map has a low deletion
area and a high insertion area. All curves of all maps are one traced, batched evaluation.
"""
import numpy as np

from cnnvis.optimize import gaussian_blur
from cnnvis.progress import ProgressBar
from cnnvis.quiet_tensorflow import keras, tf

BLUR_SIGMA = 5.0  # RISE's insertion baseline: a Gaussian blur of width 5 pixels
STEPS = 16  # points of each curve after its start, 1/16 of the pixels apart


def occlusion_saliency(drop, block, stride, size):
    """A pixel's importance from an occlusion map: the mean probability drop over the block positions that
    cover it. drop [n,n] (base probability minus the map) -> [size,size]."""
    total, count = np.zeros((size, size)), np.zeros((size, size))
    for (i, j), value in np.ndenumerate(drop):
        total[i * stride:i * stride + block, j * stride:j * stride + block] += value
        count[i * stride:i * stride + block, j * stride:j * stride + block] += 1
    return np.where(count > 0, total / np.maximum(count, 1), drop.min())


def last_conv_layer(net):
    """The Keras layer that makes the network's last spatial activation (AlexNet: conv5; Lite0: head)."""
    name = [layer for layer in net.layers if len(net.output_shape(layer)) == 4][-1]
    return net.model.output[name]._keras_history.operation.name


def gradcam(net, x, class_index):
    """Grad-CAM (Selvaraju et al. 2017) of the class logit on the last conv layer, by tf-keras-vis, at input
    resolution: [S,S]."""
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore
    model = keras.Model(net.model.input, net.model.output[net.logits_layer])
    cam = Gradcam(model, clone=False)(CategoricalScore([class_index]), x[None], penultimate_layer=last_conv_layer(net),
                                      seek_penultimate_conv_layer=False, normalize_cam=False)
    return np.asarray(cam[0])


def ranks(saliency, seed=0):
    """Each pixel's place in the order of decreasing importance (0 = first removed); ties in random order."""
    flat = np.asarray(saliency, np.float64).ravel()
    tie_break = np.random.default_rng(seed).permutation(flat.size)
    order = np.lexsort((tie_break, -flat))
    place = np.empty(flat.size, np.int32)
    place[order] = np.arange(flat.size, dtype=np.int32)
    return place.reshape(np.shape(saliency))


def area(curve):
    """Area under a curve sampled at equal steps of the fraction 0..1 of pixels (trapezoid rule)."""
    curve = np.asarray(curve, np.float64)
    return float((curve[1:] + curve[:-1]).sum() / (2 * (len(curve) - 1)))


@tf.function(reduce_retracing=True)
def curve_points(prob_fn, x, fill, start, place, counts, class_index):
    """p(class) for a batch of (map, pixel count) pairs: deletion images (the first counts[b] pixels of
    place[b]'s order set to fill) and insertion images (those pixels taken from x into start)."""
    chosen = (place < counts[:, None, None])[..., None]  # [B,S,S,1]
    images = tf.concat([tf.where(chosen, fill, x), tf.where(chosen, x, start)], axis=0)
    p = tf.gather(prob_fn(images), class_index, axis=1)
    return tf.split(p, 2)


def deletion_insertion(prob_fn, x, class_index, saliency, fill, steps=STEPS, batch_size=32, seed=0, progress=True):
    """Deletion and insertion curves and areas for each map.

    prob_fn: [N,S,S,3] -> [N, classes]; x [S,S,3] in input space; saliency {name: [S,S] importance};
    fill [3]: the value of a removed pixel. Returns {name: {"deletion": area, "insertion": area,
    "deletion_curve": [...], "insertion_curve": [...]}} with steps + 1 points per curve."""
    size = x.shape[0]
    places = {name: ranks(s, seed) for name, s in saliency.items()}
    counts = np.rint(np.linspace(0, size * size, steps + 1)).astype(np.int32)
    pairs = [(name, k) for name in places for k in range(steps + 1)]
    x_t, fill_t = tf.constant(x, tf.float32), tf.constant(fill, tf.float32)
    start, class_index = gaussian_blur(x_t[None], BLUR_SIGMA)[0], tf.constant(class_index)
    deletion, insertion = [], []
    for first in ProgressBar(range(0, len(pairs), batch_size), desc="deletion/insertion", unit="batch", leave=False,
                             disable=not progress):
        chunk = pairs[first:first + batch_size]
        place = tf.constant(np.stack([places[name] for name, _ in chunk]))
        d, i = curve_points(prob_fn, x_t, fill_t, start, place, tf.constant([counts[k] for _, k in chunk]), class_index)
        deletion.extend(d.numpy()), insertion.extend(i.numpy())
    out = {}
    for index, name in enumerate(places):
        rows = slice(index * (steps + 1), (index + 1) * (steps + 1))
        d, i = [float(v) for v in deletion[rows]], [float(v) for v in insertion[rows]]
        out[name] = {"deletion": area(d), "insertion": area(i), "deletion_curve": d, "insertion_curve": i}
    return out


def compare_maps(net, prob_fn, x, class_index, drops, fill, steps=STEPS, seed=0):
    """Q4's comparison on one photo: deletion/insertion of each occlusion map (drops: {block: per-pixel drop}),
    their multi-scale mean, Grad-CAM and a random order. Returns (scores by map, the Grad-CAM map)."""
    saliency = {f"occlusion {block}": drop for block, drop in drops.items()}
    if len(saliency) > 1:
        saliency["occlusion multi-scale"] = np.mean(list(saliency.values()), axis=0)
    saliency["Grad-CAM"] = gradcam(net, x, class_index)
    saliency["random"] = np.random.default_rng(seed).random(saliency["Grad-CAM"].shape)
    return deletion_insertion(prob_fn, x, class_index, saliency, fill, steps, seed=seed), saliency["Grad-CAM"]
