"""Optimizing an input image through the network: one loop, with composable regularizers and transforms.

Shared by Q1 (neuron visualization) and Q2 (the 1/w term is passed in as an extra prior); Q3 uses its
8-bit rounding. What is optimized is a parameterization (cnnvis.param) whose image `rgb` is float RGB
in 0..255 of shape [N,S,S,3]; the network sees `net.rgb_to_x(rgb)`, after random transformations
(cnnvis.transforms) when the method asks for them.
Regularizers act on the image centred on mid-grey, so "zero" means grey for every network.
"""
from dataclasses import asdict, dataclass

import numpy as np

from cnnvis import param, transforms
from cnnvis.errors import UserError
from cnnvis.progress import ProgressBar
from cnnvis.quiet_tensorflow import keras, tf

GREY = 127.5


# ---------------------------------------------------------------------------------------------
# Regularizers (Simonyan et al. 2014; Yosinski et al. 2015) and the jitter transform
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Regularizers:
    """Weights and switches of the priors; zero turns one off.

    l2: λ of the image-norm penalty λ·mean(((rgb-127.5)/127.5)²), always part of the loss (Simonyan); a number,
    or a tuple of one λ per image (a sweep of λ in one batch).
    jitter: random translation of up to this many pixels before every step (Yosinski/lucid).
    decay: L2 decay, the centred image is multiplied by (1 - decay) after every step (Yosinski θ_decay).
    blur_every, blur_sigma: Gaussian blur of width blur_sigma pixels every blur_every steps (Yosinski).
    norm_pct: pixels whose colour norm is below this percentile are set to grey (Yosinski).
    contrib_pct: pixels whose contribution |x·∇| is below this percentile are set to grey (Yosinski).
    """
    l2: float = 1.0
    jitter: int = 0
    decay: float = 0.0
    blur_every: int = 0
    blur_sigma: float = 0.5
    norm_pct: float = 0.0
    contrib_pct: float = 0.0

    def describe(self):
        return {k: v for k, v in asdict(self).items() if v and not (k == "blur_sigma" and not self.blur_every)}


def image_norm(rgb):
    """Per-image mean squared value of the grey-centred image in [-1, 1] units: [N]."""
    return tf.reduce_mean(tf.square((rgb - GREY) / GREY), axis=[1, 2, 3])


def jitter(rgb, shift):
    """Translate the whole batch by `shift` = (dy, dx) pixels, wrapping around the border."""
    return tf.roll(rgb, shift=shift, axis=[1, 2])


def gaussian_blur(centred, sigma):
    radius = max(1, int(np.ceil(2 * sigma)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = tf.constant(taps / taps.sum(), tf.float32)
    kernel = tf.tile((taps[:, None] * taps[None, :])[:, :, None, None], [1, 1, 3, 1])
    return tf.nn.depthwise_conv2d(centred, kernel, [1, 1, 1, 1], "SAME")


def below_percentile(values, pct):
    """Mask [N,S,S,1] of the pixels whose value [N,S,S] lies below each image's `pct` percentile."""
    flat = tf.reshape(values, [tf.shape(values)[0], -1])
    k = int(round(pct / 100 * (flat.shape[1] - 1)))
    threshold = tf.sort(flat, axis=1)[:, k]
    return (values < threshold[:, None, None])[..., None]


def yosinski_step(rgb, grad, reg, step):
    """The Yosinski et al. post-step operations, applied to the grey-centred image."""
    centred = (rgb - GREY) * (1.0 - reg.decay)
    if reg.blur_every:
        blurred = gaussian_blur(centred, reg.blur_sigma)
        centred = tf.where(step % reg.blur_every == 0, blurred, centred)
    if reg.norm_pct:
        centred = tf.where(below_percentile(tf.norm(centred, axis=-1), reg.norm_pct), 0.0, centred)
    if reg.contrib_pct:
        contribution = tf.reduce_sum(tf.abs(centred * grad), axis=-1)
        centred = tf.where(below_percentile(contribution, reg.contrib_pct), 0.0, centred)
    return centred + GREY


# ---------------------------------------------------------------------------------------------
# The optimization loop
# ---------------------------------------------------------------------------------------------
def quantize(rgb):
    """What saving as an 8-bit image does: round and clip to 0..255 (still float)."""
    return tf.clip_by_value(tf.round(rgb), 0.0, 255.0)


@dataclass(frozen=True)
class Crops:
    """MaCo's robustness (Fel et al. 2023): the image is a canvas×canvas picture, and every step scores
    `count` random square crops of it, resized to resolution×resolution, their mean side shrinking over the
    run from `start` to `end` of the canvas, plus noise of `noise` grey levels. The picture made is the whole
    canvas. The defaults were chosen by blind naming against seconds on the bundled network (README): a
    network that takes any input side sees the crops at 128 pixels, a third of the cost of its 224."""
    count: int = 8
    canvas: int = 320
    resolution: int = 128
    start: float = 0.5
    end: float = 0.05
    noise: float = 10.0

    @staticmethod
    def side(net, resolution):
        """The side the network sees crops at: `resolution` if it takes any side, else its input side."""
        return resolution if net.any_size else net.input_size

    def transform(self, net):
        return transforms.compose(
            transforms.random_crops(self.count, self.side(net, self.resolution), self.start, self.end),
            transforms.noise(self.noise))

    def describe(self):
        return (f"{self.count} random crops a step of a {self.canvas}-pixel canvas, their side shrinking "
                f"{self.start:.0%} → {self.end:.0%} of it, resized to {self.resolution} pixels (to the input side "
                f"for a fixed-size network), noise {self.noise:g} grey levels")


@dataclass(frozen=True)
class Method:
    """One way of making a visualization: the parameterization (see cnnvis.param), the priors, and which
    random transformations are applied before every step.

    param: pixels, decorrelated, fourier, or magnitude (phase only; `magnitude` names the fixed spectrum:
    "1/w", the law itself, or "photos", the mean spectrum of the bundled photos).
    robust: lucid's pad, jitter, scale and rotation (cnnvis.transforms.robust).
    crops: MaCo's random crops of a larger canvas (Crops), or None.
    lr: Adam's first step size; None takes the parameterization's own (4 grey levels for pixels).
    share: the fraction of a run's steps this method takes (pixel methods without transformations settle
    in far fewer steps than robust ones, and the main command has a time budget)."""
    param: str = "pixels"
    reg: Regularizers = Regularizers()
    robust: bool = False
    lr: float = None
    share: float = 1.0
    magnitude: str = None
    crops: Crops = None

    def steps(self, steps):
        return max(1, round(steps * self.share))

    def size(self, net):
        """The side of the image being optimized."""
        return self.crops.canvas if self.crops else net.input_size

    def parameterization(self, n, size, seed):
        rng = np.random.default_rng(seed)
        lr = {"lr": self.lr} if self.lr else {}
        if self.param == "pixels":
            init = GREY + np.repeat(rng.normal(0, 8, (n, size, size, 1)), 3, axis=-1)
            return param.pixels(init, self.lr or 4.0)
        if self.param == "magnitude":
            magnitude = {"1/w": param.one_over_w_magnitude, "photos": param.photo_magnitude}[self.magnitude](size)
            return param.magnitude_constrained(n, magnitude, rng, **lr)
        make = {"decorrelated": param.decorrelated, "fourier": param.fourier}[self.param]
        return make(n, size, rng, **lr)

    def transform(self, net):
        """What the network sees of the image at each step: rgb [N,S,S,3] -> rgb [N·views,s,s,3], or None
        for the image itself."""
        if self.crops:
            return self.crops.transform(net)
        if self.robust:
            robust = transforms.robust()
            return lambda rgb, seed, progress: transforms.fit(robust(rgb, seed, progress), net.input_size)
        return None

    def views(self):
        """How many views of each image the network scores at every step."""
        return self.crops.count if self.crops else 1

    def describe(self):
        return {"parameterization": self.param + (f" ({self.magnitude})" if self.magnitude else ""),
                "regularizers": self.reg.describe(),
                "transforms": (self.crops.describe() if self.crops else
                               "pad 12, jitter 8, scale 0.9-1.1, rotate ±10°, jitter 4" if self.robust else None)}


def optimize(net, parameterization, task_loss, reg=Regularizers(), transform=None, steps=200, seed=0, prior=None,
             desc="optimizing", history=None):
    """Adam on the variables of `parameterization` (cnnvis.param), minimizing per image
    task_loss(x) + reg.l2·image_norm(rgb) + prior(rgb), where x is the network's view of the image after
    `transform` (cnnvis.transforms, ending at a side the network takes; None: the image as it is). With
    pixel variables the Yosinski operations follow each step.

    task_loss: x [N·V,s,s,3] in input space (V views of each image, image-major) -> [N];
    prior: rgb -> [N] or None; history: None, or a list that receives each step's task loss [N] (numpy, on the
    image the network saw at that step, before the step's update). Returns the optimized rgb [N,S,S,3] as
    float32 numpy."""
    variables = tf.Variable(tf.convert_to_tensor(parameterization.init, tf.float32))
    # The step size decays (cosine) to 5% by the last step, so the image settles instead of oscillating.
    optimizer = keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(parameterization.lr, steps, alpha=0.05))
    optimizer.build([variables])  # its slots exist before tracing, so the step is traced once, not again
    shifts = np.random.default_rng(seed).integers(-reg.jitter, reg.jitter + 1, size=(steps, 2))
    l2 = tf.constant(reg.l2, tf.float32)  # a scalar, or one λ per image

    @tf.function(autograph=False)  # no tensor-dependent Python control flow here; tracing is 1-2 s quicker
    def step(shift, i):
        with tf.GradientTape() as tape:
            rgb = parameterization.to_rgb(variables)
            # The network sees the image rounded to 8 bits, as it will be saved; the gradient passes the
            # rounding unchanged (straight-through), so what is optimized is what is measured on the file.
            seen = rgb + tf.stop_gradient(quantize(rgb) - rgb)
            seen = jitter(seen, shift) if reg.jitter else seen
            if transform is not None:
                seen = transform(seen, tf.stack([seed, i]), tf.cast(i - 1, tf.float32) / max(steps - 1, 1))
            task = task_loss(net.rgb_to_x(seen))
            loss = task + l2 * image_norm(rgb)
            if prior is not None:
                loss += prior(rgb)
        grad = tape.gradient(loss, variables)
        optimizer.apply_gradients([(grad, variables)])
        if parameterization.pixels:
            variables.assign(tf.clip_by_value(yosinski_step(variables, grad, reg, i), 0.0, 255.0))
        return tf.reduce_sum(loss), task

    with ProgressBar(total=steps, desc=desc, unit="step", leave=False) as bar:
        for i in range(1, steps + 1):
            total, task = step(tf.constant(shifts[i - 1], tf.int32), tf.constant(i, tf.int32))
            total = total.numpy()
            if history is not None:
                history.append(task.numpy())
            if not np.isfinite(total):
                raise UserError(f"the optimization diverged (the loss became {total} at step {i}); try a "
                                f"smaller --lr or a smaller regularizer weight, no image was saved.")
            bar.update(1)
            bar.set_postfix(loss=f"{total / len(parameterization.init):.4g}", refresh=False)
    return parameterization.to_rgb(variables).numpy()


# ---------------------------------------------------------------------------------------------
# Neurons and their target activations (Q1, Q2)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Neuron:
    """One unit of a layer: a channel at a spatial position (conv), or a unit of an fc/logits layer.

    position: (row, col) in the layer's feature map, "centre" or "mean" (the channel's spatial mean)."""
    layer: str
    unit: int
    position: object = "centre"

    def value(self, activation):
        """activation: one image's [H,W,C] or [C] -> this neuron's scalar value."""
        if activation.shape.rank == 1:
            return activation[self.unit]
        if self.position == "mean":
            return tf.reduce_mean(activation[..., self.unit])
        row, col = ((activation.shape[0] // 2, activation.shape[1] // 2) if self.position == "centre"
                    else self.position)
        return activation[row, col, self.unit]

    def label(self, net):
        name = f"{self.layer} #{self.unit}"
        if self.layer in (net.logits_layer, "prob"):
            name += f" ({net.classes[self.unit]})"
        return name


def check_neurons(net, neurons):
    """Validate layer names and unit ranges with one clear sentence each."""
    for n in neurons:
        shape = net.output_shape(n.layer)
        units = shape[-1]
        if not 0 <= n.unit < units:
            raise UserError(f"unit {n.unit} is out of range for layer {n.layer}, which has units 0..{units - 1}.")
        if isinstance(n.position, tuple):
            h, w = shape[1:3] if len(shape) == 4 else (None, None)
            if h is None or not (0 <= n.position[0] < h and 0 <= n.position[1] < w):
                raise UserError(f"position {n.position} is outside layer {n.layer}'s feature map "
                                f"({'no spatial map' if h is None else f'{h}x{w}'}).")
    return neurons


def neuron_values(net, x, neurons):
    """x [N,S,S,3] with one image per neuron -> [N] values of neuron i on image i. Each image goes only as
    deep as its own neuron's layer (an image for conv1 never runs conv2…fc8), which makes Q1's step across
    all layers about a third cheaper than one pass of the whole batch to the deepest layer."""
    indices, values = [], []
    for layer in dict.fromkeys(n.layer for n in neurons):
        members = [i for i, n in enumerate(neurons) if n.layer == layer]
        batch = x if len(members) == len(neurons) else tf.gather(x, members)
        activation = net.activations(batch, [layer])[layer]
        indices.append(members)
        if activation.shape.rank == 2:  # fc units: one gather, not one op per image (MaCo scores many crops)
            values.append(tf.gather(activation, [neurons[i].unit for i in members], batch_dims=1))
        else:
            values.append(tf.stack([neurons[i].value(activation[k]) for k, i in enumerate(members)]))
    return tf.dynamic_stitch(indices, values)


def visualize(net, neurons, targets=None, method=Method(), steps=200, seed=0, prior=None, desc=None, history=None):
    """Images [N,S,S,3] (float 0..255) that drive neuron i to targets[i] (None: maximize it), made by `method`.
    history: see optimize; for a maximized neuron its entries are minus the activation (mean over views).

    The target term is ((a - t) / (10% of max(|t|, 1)))²: a miss of 10% costs as much as the image-norm
    penalty of a strongly coloured image, so a reachable target is reached rather than traded away, while
    the priors still shape the image. Without a target, -a is minimized."""
    check_neurons(net, neurons)
    targets = [None] * len(neurons) if targets is None else list(targets)
    views = method.views()
    has_target = tf.constant([t is not None for t in targets for _ in range(views)])
    target = tf.constant([0.0 if t is None else float(t) for t in targets for _ in range(views)])
    scale = 0.1 * tf.maximum(tf.abs(target), 1.0)
    each_view = [n for n in neurons for _ in range(views)]

    def task_loss(x):
        a = neuron_values(net, x, each_view)
        loss = tf.where(has_target, tf.square((a - target) / scale), -a)
        return tf.reduce_mean(tf.reshape(loss, [len(neurons), views]), axis=1)  # each image: mean of its views

    return optimize(net, method.parameterization(len(neurons), method.size(net), seed), task_loss, method.reg,
                    method.transform(net), method.steps(steps), seed, prior,
                    desc=desc or f"visualizing {len(neurons)} neurons", history=history)


def seen_whole(net, rgb_uint8):
    """Images as saved (8-bit, any square side) -> x [N,S,S,3]: each seen whole at the network's input size
    (a canvas larger than the input is resized to it)."""
    seen = np.stack([net.resize_to_input(np.asarray(img, np.uint8)) for img in rgb_uint8])
    return net.rgb_to_x(seen.astype(np.float32))


def achieved(net, rgb_uint8, neurons):
    """The neurons' values on images as saved, each seen whole (seen_whole): [N] numpy."""
    return neuron_values(net, seen_whole(net, rgb_uint8), neurons).numpy()
