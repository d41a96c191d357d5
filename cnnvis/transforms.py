"""Random transformations applied to the image before every optimization step (transformation robustness).

A pattern that still drives the neuron after being shifted, scaled and rotated a little cannot rely on
pixel-exact high-frequency noise, so the optimizer is pushed towards structure a person can see
(Olah et al. 2017, lucid's `transform.py`). Each transform is a small function `t(rgb, seed) -> rgb`:
rgb [N,H,W,3] in 0..255, seed a [2] int32 tensor for TensorFlow's stateless random ops, so every step is
reproducible and the whole chain runs inside the traced step. `compose` chains them; the loop fits the
result back to the network's input size with `fit`. Areas uncovered by a transform are mid-grey.
"""
import numpy as np

from cnnvis.quiet_tensorflow import tf

GREY = 127.5


def compose(*transforms):
    """One transform that applies `transforms` in order, each with its own seed drawn from the step's seed."""
    def composed(rgb, seed):
        seeds = tf.random.experimental.stateless_split(seed, num=max(len(transforms), 1))
        for i, transform in enumerate(transforms):
            rgb = transform(rgb, seeds[i])
        return rgb
    return composed


def pad(width):
    """Grow the canvas by `width` grey pixels on every side, so later jitter can move the image's edge inwards."""
    def transform(rgb, seed):
        return tf.pad(rgb - GREY, [[0, 0], [width, width], [width, width], [0, 0]]) + GREY
    return transform


def jitter(d):
    """Crop a random (H-d)×(W-d) window: a random translation by 0..d pixels, the same for the whole batch."""
    def transform(rgb, seed):
        if d == 0:
            return rgb
        shape = tf.shape(rgb)
        return tf.image.stateless_random_crop(rgb, [shape[0], shape[1] - d, shape[2] - d, 3], seed)
    return transform


def affine(rgb, scale, angle):
    """rgb [N,H,W,3] scaled by scale [N] and rotated by angle [N] (radians, counter-clockwise as displayed)
    about its centre, bilinear, uncovered area grey. The size stays H×W."""
    height, width = tf.shape(rgb)[1], tf.shape(rgb)[2]
    cy, cx = (tf.cast(height, tf.float32) - 1) / 2, (tf.cast(width, tf.float32) - 1) / 2
    # The op maps each output pixel (x, y) to the input pixel it samples: the inverse of the wanted motion.
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    a0, a1, b0, b1 = cos, -sin, sin, cos
    zeros = tf.zeros_like(scale)
    matrix = tf.stack([a0, a1, cx - a0 * cx - a1 * cy, b0, b1, cy - b0 * cx - b1 * cy, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(images=rgb, transforms=matrix, output_shape=tf.shape(rgb)[1:3],
                                                 fill_value=tf.constant(GREY), interpolation="BILINEAR",
                                                 fill_mode="CONSTANT")


def random_scale(low, high):
    """Zoom each image by a random factor in [low, high] about its centre."""
    def transform(rgb, seed):
        n = tf.shape(rgb)[0]
        scale = tf.random.stateless_uniform([n], seed, low, high)
        return affine(rgb, scale, tf.zeros([n]))
    return transform


def random_rotate(degrees):
    """Rotate each image by a random angle in [-degrees, degrees] about its centre."""
    def transform(rgb, seed):
        n = tf.shape(rgb)[0]
        angle = tf.random.stateless_uniform([n], seed, -degrees, degrees) * (np.pi / 180)
        return affine(rgb, tf.ones([n]), angle)
    return transform


def fit(rgb, size):
    """Centre-crop, or pad with grey, to size×size: what the network is shown after the transforms."""
    return tf.image.resize_with_crop_or_pad(rgb - GREY, size, size) + GREY


def robust():
    """Lucid's standard set: pad 12, jitter 8, scale 0.90-1.10, rotate ±10°, jitter 4."""
    return compose(pad(12), jitter(8), random_scale(0.9, 1.1), random_rotate(10.0), jitter(4))
