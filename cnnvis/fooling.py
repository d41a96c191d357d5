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
# The L∞ search (smallest_linf): steps at each budget of the quick climb, and the starts × steps of each hard
# search. The benchmark checks that 3× as many of each does not fool at the answer's ε−1 either.
CLIMB_STEPS, RESTARTS, CONFIRM_STEPS = 10, 4, 30


def fooled(prob, target, min_prob):
    return prob.argmax() == target and prob[target] > min_prob


@functools.lru_cache(maxsize=4)
def loss_and_gradient(net):
    """(rgb [N,S,S,3] float, target) -> (gradient of -log p_target of each image rounded to 8 bits [N,S,S,3], p of
    the rounded images [N,classes]). The rounding is passed straight through (the forward pass rounds, the
    backward pass treats the rounding as the identity), so what is optimized is what is saved. Traced once per
    network and batch size, whatever the photo, target or norm."""
    @tf.function
    def evaluate(rgb, target):
        with tf.GradientTape() as tape:
            tape.watch(rgb)
            seen = rgb + tf.stop_gradient(quantize(rgb) - rgb)
            logits = net.logits(net.rgb_to_x(seen))
            labels = tf.fill(tf.shape(rgb)[:1], target)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        return tape.gradient(loss, rgb), tf.nn.softmax(logits)

    return evaluate


def search_budget(net, rgb_uint8, target, epsilon, restarts, steps, min_prob=0.98, step=0.5, seed=0, start=None):
    """Projected sign-gradient steps inside the L∞ ball of radius `epsilon` grey levels around the photo, from
    `restarts` starts at once (the photo itself, or `start`, then uniformly random points of the ball), each for at
    most `steps` steps; the step starts at step·ε and decays (cosine) to a tenth, so the iterates settle inside the
    ball instead of bouncing between its corners. Stops at the first fooled 8-bit image.
    -> (that image or None, {"budget", "restarts", "steps" (taken), "fooled", "best_p_target" (over every start
    and step)}, the last iterates [restarts,S,S,3] float)."""
    rgb0 = tf.constant(np.repeat(rgb_uint8[None].astype(np.float32), restarts, axis=0))
    noise = np.random.default_rng(seed).uniform(-epsilon, epsilon, rgb0.shape).astype(np.float32)
    noise[0] = 0.0 if start is None else start[0] - rgb0[0]
    rgb = tf.clip_by_value(rgb0 + noise, 0.0, 255.0)
    evaluate, label, best_p = loss_and_gradient(net), tf.constant(target), 0.0
    for k in ProgressBar(range(steps + 1), desc=f"fooling -> {net.classes[target]} (L∞ {epsilon}, {restarts} starts)",
                         unit="step", leave=False):  # k: steps taken so far
        grad, prob = evaluate(rgb, label)
        prob = prob.numpy()
        best_p = max(best_p, float(prob[:, target].max()))
        for i in np.argsort(-prob[:, target]):
            if fooled(prob[i], target, min_prob):
                image = quantize(rgb[i]).numpy().astype(np.uint8)
                if fooled(probabilities(net, image), target, min_prob):  # as one image, as it will be judged
                    return image, {"budget": epsilon, "restarts": restarts, "steps": k, "fooled": True,
                                   "best_p_target": best_p}, rgb
        if k == steps:
            break
        alpha = step * epsilon * (0.1 + 0.45 * (1 + np.cos(np.pi * k / steps)))
        delta = tf.clip_by_value(rgb - alpha * tf.sign(grad) - rgb0, -epsilon, epsilon)
        rgb = tf.clip_by_value(rgb0 + delta, 0.0, 255.0)
    return None, {"budget": epsilon, "restarts": restarts, "steps": steps, "fooled": False,
                  "best_p_target": best_p}, rgb


def smallest_linf(net, rgb_uint8, target, min_prob=0.98, step=0.5, rung=CLIMB_STEPS, restarts=RESTARTS,
                  confirm_steps=CONFIRM_STEPS, max_budget=64, seed=0):
    """S×S×3 uint8 photo -> (fooled S×S×3 uint8, search): the smallest integer L∞ budget ε (grey levels) whose
    8-bit image has `target` as top class with p_target > min_prob, found in two phases.
    Climb: one start, `rung` steps at each budget 1, 2, ..., each budget starting where the last one ended, until
    one fools: an upper bound, cheaply.
    Confirm: bisection between the largest budget known to fail (at first 0, the photo itself) and the smallest
    known to fool, each budget searched hard (`restarts` starts × `confirm_steps` steps). It ends when the two are
    one grey level apart: the answer's ε−1 has failed the hard search, and so, as far as a search can tell, has
    every smaller budget (its ball lies inside ε−1's).
    search: one record per budget tried (search_budget's, with "phase": "climb" or "confirm")."""
    search, image, rgb = [], None, None
    for epsilon in range(1, max_budget + 1):
        image, record, rgb = search_budget(net, rgb_uint8, target, epsilon, 1, rung, min_prob, step, seed, rgb)
        search.append({"phase": "climb", **record})
        if image is not None:
            break
    if image is None:
        raise UserError(f"no change of at most {max_budget} grey levels per pixel made {net.classes[target]} the top "
                        f"class with p > {min_prob}; choose another target.")
    fails, fools = 0, epsilon
    while fools - fails > 1:
        middle = (fails + fools) // 2
        found, record, _ = search_budget(net, rgb_uint8, target, middle, restarts, confirm_steps, min_prob, step,
                                         seed + middle)
        search.append({"phase": "confirm", **record})
        if found is None:
            fails = middle
        else:
            image, fools = found, middle
    return image, search


def smallest_l2(net, rgb_uint8, target, min_prob=0.98, steps=100):
    """S×S×3 uint8 photo -> (fooled S×S×3 uint8, steps): the smallest L2 change found by decoupled direction and
    norm (DDN, Rony et al. 2019): a step along the normalized gradient, then the change is rescaled to length ε,
    which shrinks by 5% after every fooled step and grows by 5% after every other; all `steps` steps are taken and
    the fooled 8-bit image with the smallest L2 change is returned."""
    rgb0 = tf.constant(rgb_uint8[None].astype(np.float32))
    evaluate, label = loss_and_gradient(net), tf.constant(target)
    rgb, best, best_norm, epsilon = rgb0, None, np.inf, 0.5 * 255.0
    for k in ProgressBar(range(steps + 1), desc=f"fooling -> {net.classes[target]} (l2)", unit="step",
                         leave=False):  # k: gradient steps taken so far
        grad, prob = evaluate(rgb, label)
        is_fooled = k > 0 and fooled(prob.numpy()[0], target, min_prob)
        if is_fooled:
            size = float(tf.norm(quantize(rgb) - rgb0))
            if size < best_norm:
                best, best_norm = quantize(rgb).numpy()[0].astype(np.uint8), size
        if k == steps:
            break
        alpha = 0.5 * 255.0 * (0.01 + 0.495 * (1 + np.cos(np.pi * k / steps)))
        epsilon *= 0.95 if is_fooled else 1.05
        delta = rgb - alpha * grad / (tf.norm(grad) + 1e-12) - rgb0
        delta *= epsilon / (tf.norm(delta) + 1e-12)
        rgb = tf.clip_by_value(rgb0 + delta, 0.0, 255.0)
    if best is None:
        raise UserError(f"{steps} steps were not enough to make {net.classes[target]} the top class with "
                        f"p > {min_prob}; raise --max-steps.")
    return best, steps


def fool(net, rgb_uint8, target, min_prob=0.98, max_steps=None, norm="linf", step=0.5, rung=CLIMB_STEPS,
         restarts=RESTARTS, seed=0):
    """The smallest change in `norm` ("linf" or "l2") -> (fooled uint8 image, record): for linf the search
    (smallest_linf; max_steps: steps of each hard search, default CONFIRM_STEPS), for l2 the steps taken."""
    if norm == "linf":
        return smallest_linf(net, rgb_uint8, target, min_prob, step, rung, restarts, max_steps or CONFIRM_STEPS,
                             seed=seed)
    return smallest_l2(net, rgb_uint8, target, min_prob, max_steps or 100)


def change_metrics(original, fooled):
    """L2 and L∞ of the change in 0..255 pixel units, and the PSNR in dB."""
    delta = fooled.astype(np.float64) - original.astype(np.float64)
    mse = np.mean(delta ** 2)
    return {"l2": float(np.sqrt(np.sum(delta ** 2))), "linf": float(np.abs(delta).max()),
            "psnr": float(10 * np.log10(255.0 ** 2 / mse)) if mse > 0 else float("inf")}


def probabilities(net, rgb_uint8):
    return net.activations(net.rgb_to_x(rgb_uint8[None].astype(np.float32)), ["prob"])["prob"][0].numpy()
