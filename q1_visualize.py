"""Q1 — Visualization of neurons via input optimization.

Find an input image that drives one neuron of a conv or fc layer to a desired *target activation*
(or as high as it goes), starting from grey noise, while a regularizer keeps the image plausible:
    minimize  ((a(x) - t) / (0.1·max(|t|, 1)))²  [or -a(x)]  +  λ·‖x‖²     (Simonyan et al. 2014)
optionally with the Yosinski et al. (2015) operations after each step: L2 decay, Gaussian blur,
clipping pixels of small norm or small contribution, and random jitter. The report's experiment sets
both beside the method of Olah et al. (2017): a Fourier-preconditioned, decorrelated-colour image that
must keep driving the unit under random shifts, scalings and rotations (cnnvis.param, cnnvis.transforms).
Many neurons are optimized at once, one image per neuron, in one batch; images of class units are shown
to an independent network (cnnvis.judge) to see whether they are recognizable.

    python q1_visualize.py                          # the report's experiment: every layer, three methods, a λ sweep,
                                                    # target activations
    python q1_visualize.py --record-convergence     # the pixel baselines for 256 steps (bench/q1_convergence.json)
    python q1_visualize.py --layer conv3 --unit 5 17 --target 2
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

import hashlib
import json
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt

from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.files import read_json, write_json
from cnnvis.imaging import for_display, network_label, save_figure, save_image
from cnnvis.judge import Judge, recognition_rate
from cnnvis.optimize import GREY, Crops, Method, Neuron, Regularizers, achieved, visualize
from cnnvis.param import listed_photos
from cnnvis.quiet_tensorflow import tf

# The image-norm prior's weight λ: the report's λ sweep (LAMBDAS) shows that from λ = 100 on the starting noise
# the neuron ignores is pulled to grey at no cost in activation (λ = 1 left it in place), until 10^6 costs some.
DEFAULT_L2 = 100.0
# Two of Yosinski et al. 2015's regularizers at their published settings (decay 1e-4, blur σ 1.0 every 4 steps),
# with random jitter as in DeepDream and Olah et al. 2017, on the same image-norm prior; their pixel clipping is
# not used.
YOSINSKI = Regularizers(l2=DEFAULT_L2, jitter=8, decay=1e-4, blur_every=4, blur_sigma=1.0)
# Olah et al. 2017 (lucid): Fourier-preconditioned, decorrelated colour, random transformations; conv units as
# whole channels (the spatial mean), since the transformations move any single position around.
ROBUST = Method("fourier", Regularizers(l2=0.0), robust=True)
# Class units: Q2's default answer, the magnitude-constrained method (MaCo), whose class images a blind viewer
# names. Measured on the conv units it did not help: their channel means reached about a third of ROBUST's and
# the pattern filled only the middle of the canvas, so conv units keep ROBUST.
CLASS_METHOD = Method("magnitude", Regularizers(l2=0.0), magnitude="photos", crops=Crops())
# Steps chosen by measurement within the main command's time budget: the robust conv units show the same
# patterns after 64 steps as after 192 (their channel means reach about 80% of it); the class units take Q2's 64;
# the pixel methods take 24, which leaves them short of convergence (LONG_STEPS below), as the report shows.
STEPS = 64
BASELINE_SHARE = 0.375
# Classes shown for the logits layer in the default experiment: ostrich, flamingo, bell pepper.
LOGIT_UNITS = (9, 130, 945)
# AlexNet's eight layers, and the bundled network's layers that stand in for them by depth. Lite0 has no fully
# connected layers but its classifier (logits, fc8's counterpart): its last two conv stages shown, stage5 and
# stage6, stand in for fc6 and fc7.
ALEXNET_LAYERS = ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8")
BUNDLED_LAYERS = ("stem", "stage1", "stage2", "stage3", "stage4", "stage5", "stage6", "logits")
# The image-norm prior's weight λ swept on one unit (0 turns the prior off).
LAMBDAS = (0.0, 1.0, 100.0, 10000.0, 1000000.0)
# Target activations: a mid-network conv neuron (the centre of this channel) and the first class unit.
TARGET_CONV_UNIT = 3
CONV_TARGETS = (2.0, 5.0, 10.0, 20.0)
CLASS_TARGETS = (5.0, 10.0, 20.0, 30.0)
# The baselines run to convergence by --record-convergence (too slow for the main command; recorded in
# CONVERGENCE and used by the report's run when its settings match): 256 steps, over whose last quarter the mean
# activation of the units rose by 1% (L2) or only fluctuated (Yosinski).
LONG_STEPS = 256
CONVERGENCE = Path(__file__).resolve().parent / "bench" / "q1_convergence.json"
TEXT_WIDTH_IN = 6.69  # the report's text width, 17 cm: figures are drawn at the size they are printed


def receptive_field_boxes(net, neurons):
    """{(layer, position): (top, bottom, left, right)} of the input pixels that can influence each neuron's
    position: where the gradient of all channels there, with respect to a random image, is non-zero (the whole
    image for fc units). One random image per (layer, position), all in one pass. Used to crop figures."""
    keys = list(dict.fromkeys((n.layer, n.position) for n in neurons))
    x = tf.random.stateless_normal([len(keys), net.input_size, net.input_size, 3], seed=[0, 0])
    whole = (0, net.input_size, 0, net.input_size)
    with tf.GradientTape() as tape:
        tape.watch(x)
        acts = net.activations(x, list(dict.fromkeys(layer for layer, _ in keys)))
        spatial = [i for i, (layer, _) in enumerate(keys) if acts[layer].shape.rank == 4]
        total = tf.add_n([Neuron(keys[i][0], 0, keys[i][1]).value(tf.reduce_sum(acts[keys[i][0]][i], -1, keepdims=True))
                          for i in spatial]) if spatial else None
    gradient = np.abs(tape.gradient(total, x).numpy()).sum(axis=-1) if spatial else None
    boxes = {}
    for i, key in enumerate(keys):
        rows, cols = np.nonzero(gradient[i]) if i in spatial else ((), ())
        boxes[key] = (rows.min(), rows.max() + 1, cols.min(), cols.max() + 1) if len(rows) else whole
    return boxes


def at_least(box, side, size):
    """Grow a (top, bottom, left, right) box about its centre to at least side×side pixels, within the image,
    so that a neuron with a tiny receptive field is shown with some of its surroundings."""
    top, bottom, left, right = box
    grown = []
    for lo, hi in ((top, bottom), (left, right)):
        extra = max(0, side - (hi - lo))
        lo = min(max(0, lo - extra // 2), size - max(side, hi - lo))
        grown += [lo, lo + max(side, hi - lo)]
    return tuple(grown)


def default_layers(net):
    """AlexNet's eight layers conv1..fc8, or a comparable spread of the bundled network's layers."""
    if net.name == "alexnet":
        return net.layers[:-1]
    return list(BUNDLED_LAYERS[:-1]) + [net.logits_layer]


def stands_for(net, layer):
    """How figures and tables name a layer: "stage3 (conv4)", with the AlexNet layer it stands in for."""
    if net.name == "alexnet" or layer not in default_layers(net):
        return layer
    return f"{layer} ({ALEXNET_LAYERS[default_layers(net).index(layer)]})"


def default_neurons(net, per_layer=2):
    """Several units of each layer: evenly spaced channels among those active on grey noise (a ReLU unit
    that is off there has no gradient to follow), and well-known classes for the logits."""
    neurons = []
    noise = net.rgb_to_x(127.5 + np.random.default_rng(0).normal(0, 8, (1, net.input_size, net.input_size, 3)))
    acts = net.activations(noise, default_layers(net))
    for layer, a in acts.items():
        if layer == net.logits_layer:
            neurons += [Neuron(layer, u) for u in LOGIT_UNITS[:per_layer]]
            continue
        a = a.numpy()[0]
        centre = a[a.shape[0] // 2, a.shape[1] // 2] if a.ndim == 3 else a
        active = np.flatnonzero(centre > 0)
        pick = np.unique(active[np.linspace(0, len(active) - 1, per_layer).round().astype(int)]) if len(active) \
            else range(per_layer)
        neurons += [Neuron(layer, int(u)) for u in pick]
    return neurons


def target_neurons(net):
    """The target-activation experiment: a mid-network conv neuron and a class unit, each driven to several
    target activations (one image per target, all in one batch)."""
    conv = Neuron(default_layers(net)[len(default_layers(net)) // 2], TARGET_CONV_UNIT)
    klass = Neuron(net.logits_layer, LOGIT_UNITS[0])
    return [conv] * len(CONV_TARGETS) + [klass] * len(CLASS_TARGETS), list(CONV_TARGETS + CLASS_TARGETS)


def sweep_neuron(net, neurons):
    """The unit of the λ sweep: the first of `neurons` in the third layer shown (AlexNet's conv3)."""
    return next(n for n in neurons if n.layer == default_layers(net)[2])


def shown_as(variant, method):
    """How figures name a method: the variant, or what the class units of the robust variant really use."""
    return "magnitude-constrained" if method.param == "magnitude" else variant


def run_variant(net, args, neurons, targets, method, variant, judge, result_set):
    """Optimize, save each image as a lossless 8-bit file, and measure its activation as saved; images of
    logits units are also shown to the sibling judge; contrast: the image's mean distance from grey, in grey
    levels. Returns the images, one row per image, and the
    activation at every step [steps, N] (for maximized neurons; on the image the network saw at that step)."""
    history = []
    rgb_uint8 = np.clip(np.round(visualize(net, neurons, targets, method, args.steps, args.seed,
                                           desc=f"Q1 {shown_as(variant, method)}", history=history)),
                        0, 255).astype(np.uint8)
    steps = method.steps(args.steps)
    values = achieved(net, rgb_uint8, neurons)
    l2 = method.reg.l2 if isinstance(method.reg.l2, tuple) else [method.reg.l2] * len(neurons)
    rows, seen = [], set()
    for n, t, img, value, lam in zip(neurons, targets, rgb_uint8, values, l2):
        name = f"{variant}_{n.layer}_{n.unit}" + (f"_{len(rows)}" if (n.layer, n.unit) in seen else "")
        seen.add((n.layer, n.unit))
        path = save_image(result_set.path(f"images/{name.replace(' ', '-')}.png"), img)
        verdict = judge([img], [n.unit])[0] if n.layer == net.logits_layer else {}
        rows.append({"layer": n.layer, "unit": n.unit, "position": n.position, "label": n.label(net),
                     "stands_for": stands_for(net, n.layer), "target": t, "achieved": float(value), "steps": steps,
                     "variant": variant, "shown_as": shown_as(variant, method), **method.describe(), "l2": lam,
                     "contrast": float(np.abs(img - GREY).mean()), "seed": args.seed, **verdict,
                     "image_file": result_set.relative(path)})
    return rgb_uint8, rows, -np.array(history)


FONT = 9  # points at the figure's own size, which is the report's text width (17 cm): at least 6 pt when printed


def image_box(net, neuron, boxes, side=48):
    """The part of an image a figure shows: a conv neuron's receptive field (at least `side` pixels a side), or
    the whole image for fc units and whole channels."""
    if neuron.position == "mean":
        return 0, net.input_size, 0, net.input_size
    return at_least(boxes[(neuron.layer, neuron.position)], side, net.input_size)


def shown(net, img, box):
    """An image cropped to `box`; a canvas larger than the network's input is shown whole."""
    top, bottom, left, right = box
    return img if len(img) != net.input_size else img[top:bottom, left:right]


def plot_layers(net, neurons, images_by_variant, headers, stem):
    """One row per layer, named at its left with the AlexNet layer it stands for; per row, each of its two units
    under each method (column headers at the top only). images_by_variant: variant -> one image per neuron."""
    layers = list(dict.fromkeys(n.layer for n in neurons))
    variants = list(images_by_variant)
    per_layer = max(sum(n.layer == layer for n in neurons) for layer in layers)
    cols = per_layer * len(variants)
    cell = TEXT_WIDTH_IN / (cols + 1.0)
    fig, axes = plt.subplots(len(layers), cols, figsize=(TEXT_WIDTH_IN, cell * len(layers) + 0.45), squeeze=False,
                             gridspec_kw={"wspace": 0.05, "hspace": 0.05})
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
        ax.spines[:].set_visible(False)
    boxes = receptive_field_boxes(net, neurons)  # they depend only on the layer and the position, not the unit
    for c in range(cols):
        axes[0, c].set_title(headers[variants[c % len(variants)]], fontsize=FONT)
    for r, layer in enumerate(layers):
        members = [i for i, n in enumerate(neurons) if n.layer == layer]
        axes[r, 0].set_ylabel(stands_for(net, layer).replace(" ", "\n") + "\n" + ", ".join(
            f"#{neurons[i].unit}" for i in members), fontsize=FONT, rotation=0, ha="right", va="center")
        for k, i in enumerate(members):
            for v, variant in enumerate(variants):
                img = images_by_variant[variant][i]
                axes[r, k * len(variants) + v].imshow(for_display(shown(net, img, image_box(net, neurons[i], boxes))))
    fig.suptitle(f"Q1, {network_label(net)}", fontsize=FONT)
    return save_figure(fig, stem)


def plot_row(net, rows, stem, side=48):
    """Images with one line under each: rows is a list of (row label, neuron, [(image, text under it)]), each
    cropped like the layer figures (at least `side` pixels) and contrast-stretched by one scale per row, so that
    a stronger image of the row looks stronger."""
    cols = max(len(images) for _, _, images in rows)
    cell = TEXT_WIDTH_IN / (cols + 0.4)
    fig, axes = plt.subplots(len(rows), cols, figsize=(TEXT_WIDTH_IN, (cell + 0.3) * len(rows) + 0.3),
                             squeeze=False, gridspec_kw={"wspace": 0.06, "hspace": 0.25})
    boxes = receptive_field_boxes(net, [neuron for _, neuron, _ in rows])
    for ax in axes.flat:
        ax.set_xticks([]), ax.set_yticks([])
        ax.spines[:].set_visible(False)
    for r, (label, neuron, images) in enumerate(rows):
        axes[r, 0].set_ylabel(label, fontsize=FONT)
        crops = for_display(np.stack([shown(net, img, image_box(net, neuron, boxes, side)) for img, _ in images]))
        for c, (crop, (_, text)) in enumerate(zip(crops, images)):
            axes[r, c].imshow(crop)
            axes[r, c].set_xlabel(text, fontsize=FONT)
    fig.suptitle(f"Q1, {network_label(net)}", fontsize=FONT)
    return save_figure(fig, stem)


def plot_curves(curves, long, stem, net):
    """Activation against step, the mean over units, one line per method: curves {method: [steps, units]} of this
    run (dashed where a long run of the method is drawn solid), long {method: [LONG_STEPS, units]} of the
    recorded long runs."""
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN * 0.75, 2.7))
    for k, (method, values) in enumerate(curves.items()):
        if method in long:
            ax.plot(np.arange(1, len(long[method]) + 1), np.mean(long[method], axis=1), color=f"C{k}", lw=1.2,
                    label=f"{method}, {len(long[method])} steps")
        mean = np.mean(values, axis=1)
        ax.plot(np.arange(1, len(values) + 1), mean, color=f"C{k}", lw=1.5, ls="--" if method in long else "-",
                label=f"{method}, {len(values)} steps")
        ax.plot([len(values)], [mean[-1]], "o", color=f"C{k}", ms=5)  # where the run shown in the figures ends
    ax.set_xlabel("step", fontsize=FONT)
    ax.set_ylabel("activation,\nmean over units", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    ax.set_xscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=FONT - 1, frameon=False, loc="upper left")
    ax.set_title(f"Q1, {network_label(net)}", fontsize=FONT)
    return save_figure(fig, stem)


def rise(values, last=0.25):
    """How much the mean activation over units changed over the last `last` of the steps, as a share of its
    end value (0.01: rose by 1%; negative: fell): whether a run has stopped rising. Each point is the mean of
    the 1/16 of the steps up to it, since with jitter every step sees a differently shifted image."""
    curve = np.asarray(values, np.float64).mean(axis=1)
    window = max(1, len(curve) // 16)
    smooth = np.convolve(curve, np.ones(window) / window, mode="valid")
    before = smooth[max(0, int(round((1 - last) * len(curve))) - window)]
    return float((smooth[-1] - before) / abs(smooth[-1]))


def baselines(net, args):
    """The two pixel baselines of the report's experiment: {method: Method}."""
    return {"L2": Method("pixels", Regularizers(l2=args.l2), lr=args.lr, share=BASELINE_SHARE),
            "Yosinski": Method("pixels", YOSINSKI, lr=args.lr, share=BASELINE_SHARE)}


def fingerprint(net, args, neurons):
    """SHA-256 of everything a long baseline run depends on: the network's weights as loaded, the units, the
    methods and the seed. A record made with any of them different does not describe this run."""
    digest = hashlib.sha256()
    for weight in net.model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    settings = {"network": net.name, "seed": args.seed, "units": [[n.layer, n.unit, n.position] for n in neurons],
                "methods": {m: [method.describe(), method.lr] for m, method in baselines(net, args).items()}}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    return digest.hexdigest()


def record_convergence(net, args):
    """Run the L2 and Yosinski baselines on the report's units for LONG_STEPS steps and record, per method, the
    activation of every unit at every step and on the saved 8-bit image, in CONVERGENCE."""
    neurons = default_neurons(net)
    record = {"network": net.name, "fingerprint": fingerprint(net, args, neurons), "steps": LONG_STEPS,
              "units": [n.label(net) for n in neurons], "methods": {}}
    for name, method in baselines(net, args).items():
        long = Method(method.param, method.reg, lr=method.lr)
        history = []
        rgb = visualize(net, neurons, None, long, LONG_STEPS, args.seed, desc=f"Q1 {name}, {LONG_STEPS} steps",
                        history=history)
        values = achieved(net, np.clip(np.round(rgb), 0, 255).astype(np.uint8), neurons)
        history = -np.array(history)
        record["methods"][name] = {"achieved": [round(float(v), 3) for v in values],
                                   "activation": np.round(history, 3).tolist()}
    write_json(CONVERGENCE, record)
    print(f"wrote {CONVERGENCE.name}: " + ", ".join(f"{m}: the mean activation changed by "
                                                     f"{rise(r['activation']):+.1%} over the last quarter"
                                                     for m, r in record["methods"].items()))
    return 0


def recorded_convergence(net, args, neurons):
    """The long baseline runs of CONVERGENCE if they were made for exactly this run's settings (fingerprint),
    else None."""
    try:
        record = read_json(CONVERGENCE)
    except (OSError, ValueError):
        return None
    return record if record.get("fingerprint") == fingerprint(net, args, neurons) else None


def parse_position(text):
    if text in ("centre", "mean"):
        return text
    try:
        row, col = (int(v) for v in text.split(","))
        return row, col
    except ValueError:
        raise UserError(f"--position '{text}' is not understood; use centre, mean, or ROW,COL.") from None


MAX_UNITS = 64  # units of one run, all optimized in one batch (memory: about 30 MB each)


def main():
    p = cli.parser(__doc__.split("\n\n")[0])
    p.add_argument("--layer", help="layer to visualize; without it, the report's experiment over all layers runs")
    p.add_argument("--unit", type=cli.number(int, 0, 10 ** 6), nargs="+", default=[0],
                   help="unit (channel) indices in --layer")
    p.add_argument("--position", default="centre",
                   help="for conv layers: the neuron's place in the feature map, centre, mean (channel mean) "
                        "or ROW,COL")
    p.add_argument("--target", type=cli.number(float, -1e6, 1e6),
                   help="desired target activation; without it the neuron is maximized")
    p.add_argument("--steps", type=cli.number(int, 1, 100000), default=STEPS,
                   help="optimization steps (the L2, Yosinski and target runs of the report's experiment take a "
                        "quarter of them)")
    p.add_argument("--lr", type=cli.number(float, 0, 255, low_open=True), default=4.0,
                   help="Adam step size, in 0..255 pixel units")
    p.add_argument("--l2", type=cli.number(float, 0, 1e6), default=DEFAULT_L2,
                   help="weight λ of the image-norm regularizer")
    p.add_argument("--jitter", type=cli.number(int, 0, 64), default=0, help="Yosinski: random translation, pixels")
    p.add_argument("--decay", type=cli.number(float, 0, 1), default=0.0, help="Yosinski: L2 decay per step")
    p.add_argument("--blur-every", type=cli.number(int, 0, 100000), default=0,
                   help="Yosinski: blur every k steps (0: never)")
    p.add_argument("--blur-sigma", type=cli.number(float, 0.1, 20), default=1.0, help="Yosinski: blur width, pixels")
    p.add_argument("--norm-pct", type=cli.number(float, 0, 99), default=0.0,
                   help="Yosinski: grey out pixels of small norm (percentile)")
    p.add_argument("--contrib-pct", type=cli.number(float, 0, 99), default=0.0,
                   help="Yosinski: grey out pixels of small contribution (percentile)")
    p.add_argument("--record-convergence", action="store_true",
                   help=f"instead of the experiment: run the L2 and Yosinski baselines of the report's experiment "
                        f"for {LONG_STEPS} steps and record their activation at every step in bench/{CONVERGENCE.name} "
                        f"(2 × {LONG_STEPS} steps of 16 images: minutes), which the report's run then shows")
    args = p.parse_args()
    single = ("unit", "position", "jitter", "decay", "blur_every", "blur_sigma", "norm_pct", "contrib_pct")
    given = [f"--{k.replace('_', '-')}" for k in single if getattr(args, k) != p.get_default(k)]
    if args.layer is None and given:
        raise UserError(f"{', '.join(given)} only apply to one layer's neurons; add --layer (e.g. --layer "
                        f"stage3), or leave {'them' if len(given) > 1 else 'it'} out for the report's experiment.")
    if args.record_convergence and args.layer is not None:
        raise UserError("--record-convergence records the report's experiment; leave out --layer.")
    units = len(dict.fromkeys(args.unit))
    if units > MAX_UNITS:  # as Q2 caps its classes: all units are optimized in one batch
        raise UserError(f"--unit names {units} units; give at most {MAX_UNITS} (they are optimized in one batch, "
                        f"about 30 MB of memory each), or run the rest in further runs.")
    if args.layer is None:
        listed_photos()  # the class units' magnitude comes from these photos: a broken list is named now
    net = cli.load_network(args)
    if args.record_convergence:
        return record_convergence(net, args)

    runs = []  # (variant, neurons, targets, method)
    if args.layer is None:  # the report's experiment: every layer by three methods, the λ sweep, set targets
        neurons = default_neurons(net)
        channels = [Neuron(n.layer, n.unit, "mean") for n in neurons if n.layer != net.logits_layer]
        classes = [n for n in neurons if n.layer == net.logits_layer]
        pixels = baselines(net, args)["L2"]
        runs = [("L2", neurons, pixels), ("Yosinski", neurons, baselines(net, args)["Yosinski"]),
                ("robust", channels, ROBUST), ("robust", classes, CLASS_METHOD),
                ("lambda sweep", [sweep_neuron(net, neurons)] * len(LAMBDAS),
                 Method("pixels", Regularizers(l2=LAMBDAS), lr=args.lr, share=BASELINE_SHARE))]
        runs = [(variant, run, [args.target] * len(run), method) for variant, run, method in runs]
        runs.append(("target", *target_neurons(net), pixels))
    else:
        position = parse_position(args.position)
        neurons = [Neuron(args.layer, u, position) for u in dict.fromkeys(args.unit)]  # a unit named twice once
        runs = [("custom", neurons, [args.target] * len(neurons),
                 Method("pixels", Regularizers(args.l2, args.jitter, args.decay, args.blur_every, args.blur_sigma,
                                               args.norm_pct, args.contrib_pct), lr=args.lr))]

    judge = Judge()
    with cli.result_set(p, args, "q1", net) as result_set:
        images, rows, curves = {}, [], {}  # images: variant -> {(layer, unit): image}; curves: method -> [steps, N]
        by_run = []
        for variant, run_neurons, targets, method in runs:
            rgb_uint8, variant_rows, history = run_variant(net, args, run_neurons, targets, method, variant, judge,
                                                           result_set)
            images.setdefault(variant, {}).update({(n.layer, n.unit): img for n, img in zip(run_neurons, rgb_uint8)})
            # MaCo's crops shrink over its run, so its values at different steps measure different things
            if variant in ("L2", "Yosinski", "robust") and method.crops is None and all(t is None for t in targets):
                curves[shown_as(variant, method)] = history
            rows += variant_rows
            by_run.append((variant, run_neurons, rgb_uint8, variant_rows))
        figures, record = [], None
        if args.layer is None:
            record = recorded_convergence(net, args, neurons)
            long = {m: r["activation"] for m, r in record["methods"].items()} if record else {}
            figures = report_figures(net, neurons, images, by_run, curves, long, result_set)
        else:
            figures = [plot_row(net, [(stands_for(net, args.layer), neurons[0],
                                       [(images["custom"][(n.layer, n.unit)], f"#{r['unit']}: {r['achieved']:.2f}")
                                        for n, r in zip(neurons, rows)])], result_set.path("figures/q1"))]
        rates = {v: recognition_rate(r for r in rows if r["variant"] == v and "recognized" in r)
                 for v in ("L2", "Yosinski", "robust") if v in images}
        path = result_set.write_results({
            **cli.header(args, net, result_set.final.name), "units": rows, "recognition_rate": rates,
            "class_method": CLASS_METHOD.describe(), "figures": [result_set.relative(f) for f in figures],
            "curves": {m: {"steps": len(h), "units": len(h[0]), "rise_last_quarter": rise(h),
                           "mean_activation": np.round(np.mean(h, axis=1), 3).tolist()} for m, h in curves.items()},
            "convergence": {"recorded": record is not None, "file": f"bench/{CONVERGENCE.name}",
                            **({"steps": record["steps"], "units": record["units"],
                                "methods": {m: {"achieved": r["achieved"], "rise_last_quarter": rise(r["activation"])}
                                            for m, r in record["methods"].items()}} if record else {})}})
    for row in rows:
        goal = "max" if row["target"] is None else f"target {row['target']:g}"
        print(f"{row['variant']:>12}  {row['label']:<28} {goal:<12} achieved {row['achieved']:.3f}")
    print(f"wrote {result_set.final}/: {path.name}, {len(figures)} figure(s), {len(rows)} images")
    return 0


def report_figures(net, neurons, images, by_run, curves, long, result_set):
    """The report's figures: the layers by the three methods (two figures of four layers, each fits half a
    page), activation against step, the λ sweep, and the target activations."""
    layers = list(dict.fromkeys(n.layer for n in neurons))
    headers = {"L2": "L2", "Yosinski": "Yosinski", "robust": "robust"}
    figures = []
    for start in range(0, len(layers), 4):
        chunk = [n for n in neurons if n.layer in layers[start:start + 4]]
        marked = dict(headers, robust="robust*") if net.logits_layer in layers[start:start + 4] else headers
        figures.append(plot_layers(net, chunk, {v: [images[v][(n.layer, n.unit)] for n in chunk] for v in headers},
                                   marked, result_set.path(f"figures/q1_layers_{start // 4 + 1}")))
    figures.append(plot_curves(curves, long, result_set.path("figures/q1_curves"), net))
    for variant, run_neurons, rgb_uint8, variant_rows in by_run:
        if variant == "lambda sweep":
            figures.append(plot_row(net, [(run_neurons[0].label(net), run_neurons[0],
                                           [(img, f"λ = {r['l2']:g}: ".replace("e+0", "e") + f"{r['achieved']:.1f}")
                                            for img, r in zip(rgb_uint8, variant_rows)])],
                                    result_set.path("figures/q1_lambda"), side=72))
        if variant == "target":
            units = list(dict.fromkeys(run_neurons))
            figures.append(plot_row(net, [(f"{stands_for(net, u.layer)}\n#{u.unit}" + (
                f" {net.classes[u.unit]}" if u.layer == net.logits_layer else ""), u,
                [(img, f"target {r['target']:g}: {r['achieved']:.2f}")
                 for n, img, r in zip(run_neurons, rgb_uint8, variant_rows) if n == u]) for u in units],
                result_set.path("figures/q1_targets")))
    return figures

if __name__ == "__main__":
    cli.run(main)
