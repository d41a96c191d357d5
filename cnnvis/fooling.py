"""Q3's method: the smallest change to a photo that makes the network see a chosen class.

Shared by q3_fool.py (the experiment) and the benchmark.
"""
import functools
from pathlib import Path

import numpy as np

from cnnvis.errors import UserError
from cnnvis.optimize import quantize
from cnnvis.progress import ProgressBar
from cnnvis.quiet_tensorflow import tf

IMAGES = Path(__file__).resolve().parent.parent / "images"
# The report's cases (image, target class): one photo the network is sure of, one it is unsure of.
DEFAULT_CASES = ((IMAGES / "coffee.jpg", "ostrich"), (IMAGES / "chelsea.jpg", "fire engine"))


def fooled(prob, target, min_prob):
    return prob.argmax() == target and prob[target] > min_prob


@functools.lru_cache(maxsize=4)
def loss_and_gradient(net):
    """(rgb [1,S,S,3] float, target) -> (gradient of -log p_target of the image rounded to 8 bits, p of the rounded
    image). The rounding is passed straight through, so what is optimized is what is saved. Traced once per
    network, whatever the photo, target or norm."""
    @tf.function
    def evaluate(rgb, target):
        with tf.GradientTape() as tape:
            tape.watch(rgb)
            seen = rgb + tf.stop_gradient(quantize(rgb) - rgb)
            logits = net.logits(net.rgb_to_x(seen))
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(target[None], logits)
        return tape.gradient(loss, rgb), tf.nn.softmax(logits)[0]

    return evaluate


def fool(net, rgb_uint8, target, min_prob=0.98, max_steps=30, norm="linf", step=0.5, rung=10):
    """S×S×3 uint8 photo -> (fooled S×S×3 uint8, gradient steps taken): the smallest change, in the L∞ or the
    L2 sense, after which the 8-bit image has `target` as top class with p_target > min_prob.

    linf: projected sign-gradient steps inside an L∞ budget ε that starts at one grey level and grows by one
    every `rung` steps while the network is not fooled; within a budget the step starts at step·ε and decays
    (cosine) to a tenth, so the iterate settles inside the budget instead of bouncing between its corners.
    Stops at the first fooled 8-bit image.
    l2: decoupled direction and norm (Rony et al. 2019): a step along the normalized gradient, then the change
    is rescaled to length ε, which shrinks by 5% after every fooled step and grows by 5% after every other; all
    max_steps steps are taken and the fooled 8-bit image with the smallest L2 change is returned."""
    rgb0 = tf.constant(rgb_uint8[None].astype(np.float32))
    evaluate, label = loss_and_gradient(net), tf.constant(target)
    rgb, best, best_norm = rgb0, None, np.inf
    epsilon = 1.0 if norm == "linf" else 0.5 * 255.0
    for k in ProgressBar(range(max_steps + 1), desc=f"fooling -> {net.classes[target]} ({norm})", unit="step",
                         leave=False):  # k: gradient steps taken so far
        grad, prob = evaluate(rgb, label)
        is_fooled = k > 0 and fooled(prob.numpy(), target, min_prob)
        if is_fooled:
            image = quantize(rgb).numpy()[0].astype(np.uint8)
            if norm == "linf":
                return image, k
            size = float(tf.norm(quantize(rgb) - rgb0))
            if size < best_norm:
                best, best_norm = image, size
        if k == max_steps:
            break
        if norm == "linf":
            epsilon = 1.0 + k // rung
            alpha = step * epsilon * (0.1 + 0.45 * (1 + np.cos(np.pi * (k % rung) / rung)))
            delta = tf.clip_by_value(rgb - alpha * tf.sign(grad) - rgb0, -epsilon, epsilon)
        else:
            alpha = 0.5 * 255.0 * (0.01 + 0.495 * (1 + np.cos(np.pi * k / max_steps)))
            epsilon *= 0.95 if is_fooled else 1.05
            delta = rgb - alpha * grad / (tf.norm(grad) + 1e-12) - rgb0
            delta *= epsilon / (tf.norm(delta) + 1e-12)
        rgb = tf.clip_by_value(rgb0 + delta, 0.0, 255.0)
    if best is None:
        raise UserError(f"{max_steps} steps were not enough to make {net.classes[target]} the top class with "
                        f"p > {min_prob}; raise --max-steps or --step.")
    return best, max_steps


def change_metrics(original, fooled):
    """L2 and L∞ of the change in 0..255 pixel units, and the PSNR in dB."""
    delta = fooled.astype(np.float64) - original.astype(np.float64)
    mse = np.mean(delta ** 2)
    return {"l2": float(np.sqrt(np.sum(delta ** 2))), "linf": float(np.abs(delta).max()),
            "psnr": float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")}


def probabilities(net, rgb_uint8):
    return net.activations(net.rgb_to_x(rgb_uint8[None].astype(np.float32)), ["prob"])["prob"][0].numpy()
