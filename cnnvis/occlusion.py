"""Q4's method: the class probability with an occlusion block at every place of the image.

Occluded copies are built inside the graph and evaluated in batches, so memory stays bounded.
Shared by q4_heatmap.py (the experiment) and the benchmark.
"""
from pathlib import Path

import numpy as np

from cnnvis.errors import UserError
from cnnvis.progress import ProgressBar
from cnnvis.quiet_tensorflow import tf

# The report's photos: the class is obvious and the bundled network is sure of it (p >= 0.8): an animal, a fruit
# among other fruits, a small object in a scene, a drink (images/SOURCES.txt).
DEFAULT_IMAGES = tuple(Path(__file__).resolve().parent.parent / "images" / name
                       for name in ("squirrel.jpg", "orange.jpg", "soccer_ball.jpg", "coffee.jpg"))


@tf.function(reduce_retracing=True)
def occluded_probabilities(prob_fn, x, fill, corners, block, class_index):
    """p(class_index) for one batch of occluded copies of x [S,S,3]; corners [B,2] are the blocks' top-left
    pixels. The copies are made here, inside the graph, and never all at once."""
    pixels = tf.range(tf.shape(x)[0])
    rows = (pixels >= corners[:, :1]) & (pixels < corners[:, :1] + block)  # [B, S]
    cols = (pixels >= corners[:, 1:]) & (pixels < corners[:, 1:] + block)
    inside = (rows[:, :, None] & cols[:, None, :])[..., None]  # [B, S, S, 1]
    return tf.gather(prob_fn(tf.where(inside, fill, x)), class_index, axis=1)


def grid(size, block, stride):
    """n (cells a side) and the top-left corners [n*n, 2] of the block positions on a size×size image."""
    if not 1 <= block <= size or stride < 1:
        raise UserError(f"the occlusion block must be 1..{size} pixels and the stride at least 1; "
                        f"got block {block}, stride {stride}.")
    n = (size - block) // stride + 1
    return n, np.stack(np.meshgrid(np.arange(n) * stride, np.arange(n) * stride, indexing="ij"), -1).reshape(-1, 2)


def occlusion_map(prob_fn, x, class_index, block, stride, fill, batch_size=64, progress=True):
    """Probability of `class_index` with an occlusion block at every grid position.

    prob_fn: [N,S,S,3] -> [N, classes] probabilities; x: [S,S,3] in input space; fill: [3] value put under
    the block (in input space). Returns an [n, n] numpy map, n = (S - block) // stride + 1."""
    n, corners = grid(x.shape[0], block, stride)
    x, fill = tf.constant(x, tf.float32), tf.constant(fill, tf.float32)
    block, class_index = tf.constant(block), tf.constant(class_index)
    out = []
    for start in ProgressBar(range(0, len(corners), batch_size), desc=f"occluding {int(block)}px", unit="batch",
                             leave=False, disable=not progress):
        batch = tf.constant(corners[start:start + batch_size], tf.int32)
        out.append(occluded_probabilities(prob_fn, x, fill, batch, block, class_index).numpy())
    return np.concatenate(out).reshape(n, n)
