"""Q3's method: the smallest change to a photo that makes the network see a chosen class.

Shared by q3_fool.py (the experiment) and the benchmark.
"""
import numpy as np
from tqdm import tqdm

from cnnvis.errors import UserError
from cnnvis.optimize import quantize
from cnnvis.quiet_tensorflow import tf


def fool(net, rgb_uint8, target, min_prob=0.98, max_steps=50, step=1.0, growth=2 / 3):
    """S×S×3 uint8 photo -> (fooled S×S×3 uint8, steps taken).

    Step k moves every pixel by `step` grey levels against the gradient of -log p_target (its sign: the
    largest first-order gain for a given largest change), rounds to 8 bits, and projects into the L∞ ball of
    radius step·⌈growth·k⌉ around the photo: the budget grows only as long as the network is not yet
    fooled. Stops as soon as the 8-bit image has `target` as top class with p_target > min_prob."""
    rgb0 = tf.constant(rgb_uint8[None].astype(np.float32))
    labels = tf.constant([target])

    @tf.function
    def update(rgb, radius):
        with tf.GradientTape() as tape:
            tape.watch(rgb)
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, net.logits(net.rgb_to_x(rgb)))
        rgb = quantize(rgb - step * tf.sign(tape.gradient(loss, rgb)))
        rgb = tf.clip_by_value(rgb0 + tf.clip_by_value(rgb - rgb0, -radius, radius), 0.0, 255.0)
        return rgb, tf.nn.softmax(net.logits(net.rgb_to_x(rgb)))[0]

    rgb = rgb0
    for k in tqdm(range(1, max_steps + 1), desc=f"fooling -> {net.classes[target]}", unit="step", leave=False):
        rgb, prob = update(rgb, tf.constant(step * np.ceil(growth * k), tf.float32))
        prob = prob.numpy()
        if prob.argmax() == target and prob[target] > min_prob:
            return rgb.numpy()[0].astype(np.uint8), k
    raise UserError(f"{max_steps} steps were not enough to make {net.classes[target]} the top class with "
                    f"p > {min_prob}; raise --max-steps, --step or --growth.")


def change_metrics(original, fooled):
    """L2 and L∞ of the change in 0..255 pixel units, and the PSNR in dB."""
    delta = fooled.astype(np.float64) - original.astype(np.float64)
    mse = np.mean(delta ** 2)
    return {"l2": float(np.sqrt(np.sum(delta ** 2))), "linf": float(np.abs(delta).max()),
            "psnr": float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")}


def probabilities(net, rgb_uint8):
    return net.activations(net.rgb_to_x(rgb_uint8[None].astype(np.float32)), ["prob"])["prob"][0].numpy()
