"""Random transformations applied to the image before every optimization step (transformation robustness).

A pattern that still drives the neuron after being shifted, scaled and rotated a little cannot rely on
pixel-exact high-frequency noise, so the optimizer is pushed towards structure a person can see
(Olah et al. 2017, lucid's `transform.py`). Each transform is a small function
`t(rgb, seed, progress) -> rgb`: rgb [N,H,W,3] in 0..255, seed a [2] int32 tensor for TensorFlow's
stateless random ops, so every step is reproducible and the whole chain runs inside the traced step, and
progress the fraction of the run done (0..1), for transforms that follow a schedule. `compose` chains them;
the loop fits the result back to the network's input size with `fit`. Areas uncovered by a transform are
mid-grey. `random_crops` returns several views of each image (MaCo's robustness, Fel et al. 2023): the
batch grows from N to N·K, image-major.
"""
import numpy as np

from cnnvis.quiet_tensorflow import tf

GREY = 127.5


def compose(*transforms):
    """One transform that applies `transforms` in order, each with its own seed drawn from the step's seed."""
    def composed(rgb, seed, progress=0.0):
        seeds = tf.random.experimental.stateless_split(seed, num=max(len(transforms), 1))
        for i, transform in enumerate(transforms):
            rgb = transform(rgb, seeds[i], progress)
        return rgb
    return composed


def pad(width):
    """Grow the canvas by `width` grey pixels on every side, so later jitter can move the image's edge inwards."""
    def transform(rgb, seed, progress=0.0):
        return tf.pad(rgb - GREY, [[0, 0], [width, width], [width, width], [0, 0]]) + GREY
    return transform


def jitter(d):
    """Crop a random (H-d)×(W-d) window: a random translation by 0..d pixels, the same for the whole batch."""
    def transform(rgb, seed, progress=0.0):
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
    def transform(rgb, seed, progress=0.0):
        n = tf.shape(rgb)[0]
        scale = tf.random.stateless_uniform([n], seed, low, high)
        return affine(rgb, scale, tf.zeros([n]))
    return transform


def random_rotate(degrees):
    """Rotate each image by a random angle in [-degrees, degrees] about its centre."""
    def transform(rgb, seed, progress=0.0):
        n = tf.shape(rgb)[0]
        angle = tf.random.stateless_uniform([n], seed, -degrees, degrees) * (np.pi / 180)
        return affine(rgb, tf.ones([n]), angle)
    return transform


def fit(rgb, size):
    """Centre-crop, or pad with grey, to size×size: what the network is shown after the transforms."""
    return tf.image.resize_with_crop_or_pad(rgb - GREY, size, size) + GREY


def crop_boxes(n, count, seed, size, centre_sd=0.15, size_sd=0.05):
    """count random square boxes for each of n images: [n·count, 4] as (y1, x1, y2, x2) in fractions of the
    image, image-major. Centres scatter around the middle (normal, sd centre_sd); sides are normal about
    `size` (sd size_sd), kept within 5%..100% of the image. Boxes may reach past the border (grey there)."""
    centre_seed, size_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
    centre = 0.5 + centre_sd * tf.random.stateless_normal([n * count, 2], centre_seed)
    side = tf.clip_by_value(size + size_sd * tf.random.stateless_normal([n * count, 1], size_seed), 0.05, 1.0)
    return tf.concat([centre - side / 2, centre + side / 2], axis=1)


def bilinear_taps(coordinates, size):
    """Sampling positions [M,r] (pixels along an axis of `size`) -> the two neighbouring indices, the weight of
    the upper one, and whether the position lies inside the image."""
    inside = (coordinates >= 0) & (coordinates <= size - 1)
    lower = tf.clip_by_value(tf.floor(coordinates), 0, size - 1)
    upper = tf.minimum(lower + 1, size - 1)
    return tf.cast(lower, tf.int32), tf.cast(upper, tf.int32), coordinates - lower, inside


def crop_and_resize(rgb, boxes, count, resolution):
    """What tf.image.crop_and_resize does (bilinear, grey outside the image; boxes [N·count,4] image-major, edges
    at y·(side-1)), written as gathers: TensorFlow's own gradient of it adds into the image from several threads
    in a varying order, so two runs of the same seed drifted apart; a gather's gradient adds in a fixed order.
    rgb [N,H,W,3] -> [N·count, resolution, resolution, 3]."""
    n, height, width = tf.shape(rgb)[0], rgb.shape[1], rgb.shape[2]
    t = tf.linspace(0.0, 1.0, resolution)
    y0, y1, wy, inside_y = bilinear_taps((boxes[:, :1] + (boxes[:, 2:3] - boxes[:, :1]) * t) * (height - 1), height)
    x0, x1, wx, inside_x = bilinear_taps((boxes[:, 1:2] + (boxes[:, 3:] - boxes[:, 1:2]) * t) * (width - 1), width)
    centred = rgb - GREY

    def rows(index):  # each crop's rows of its own image: [N·count, resolution, W, 3]
        picked = tf.gather(centred, tf.reshape(index, [n, count * resolution]), axis=1, batch_dims=1)
        return tf.reshape(picked, [-1, resolution, width, 3])

    top, bottom = rows(y0), rows(y1)
    band = top + (bottom - top) * wy[:, :, None, None]
    left, right = (tf.gather(band, index, axis=2, batch_dims=1) for index in (x0, x1))
    crops = left + (right - left) * wx[:, None, :, None]
    inside = tf.cast(inside_y[:, :, None, None] & inside_x[:, None, :, None], tf.float32)
    return crops * inside + GREY


def random_crops(count, resolution, start=0.5, end=0.05, centre_sd=0.15, size_sd=0.05):
    """count random square crops of each image, resized (bilinear) to resolution×resolution: [N·count,...].
    The crops' mean side shrinks linearly over the run from `start` to `end` of the image's side: large
    crops first lay out the whole object, small ones then work on its parts."""
    def transform(rgb, seed, progress=0.0):
        n = tf.shape(rgb)[0]
        boxes = crop_boxes(n, count, seed, start + (end - start) * progress, centre_sd, size_sd)
        return crop_and_resize(rgb, boxes, count, resolution)
    return transform


def noise(sd):
    """Add Gaussian noise of sd grey levels and uniform noise of ±sd/2: the pattern must not hinge on exact
    pixel values (MaCo's robustness)."""
    def transform(rgb, seed, progress=0.0):
        normal_seed, uniform_seed = tf.unstack(tf.random.experimental.stateless_split(seed, num=2))
        return (rgb + sd * tf.random.stateless_normal(tf.shape(rgb), normal_seed)
                + tf.random.stateless_uniform(tf.shape(rgb), uniform_seed, -sd / 2, sd / 2))
    return transform


def robust():
    """Lucid's standard set: pad 12, jitter 8, scale 0.90-1.10, rotate ±10°, jitter 4."""
    return compose(pad(12), jitter(8), random_scale(0.9, 1.1), random_rotate(10.0), jitter(4))
