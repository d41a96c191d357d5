"""Q1 — Visualization of neurons via input optimization.

Find an input image that drives one neuron of a conv or fc layer to a desired *target activation*
(or as high as it goes), starting from grey noise, while a regularizer keeps the image plausible:
    minimize  ((a(x) - t) / max(|t|, 1))²  [or -a(x)]  +  λ·‖x‖²           (Simonyan et al. 2014)
optionally with the Yosinski et al. (2015) operations after each step: L2 decay, Gaussian blur,
clipping pixels of small norm or small contribution, and random jitter. The report's experiment sets
both beside the method of Olah et al. (2017): a Fourier-preconditioned, decorrelated-colour image that
must keep driving the unit under random shifts, scalings and rotations (cnnvis.param, cnnvis.transforms).
Many neurons are optimized at once, one image per neuron, in one batch; images of class units are shown
to an independent network (cnnvis.judge) to see whether they are recognizable.

    python q1_visualize.py                                   # the report's experiment: every layer, three methods
    python q1_visualize.py --layer conv3 --unit 5 17 --target 2
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

import numpy as np
from matplotlib import pyplot as plt

from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.imaging import for_display, network_label, save_figure, save_image
from cnnvis.judge import Judge, recognition_rate
from cnnvis.optimize import Crops, Method, Neuron, Regularizers, achieved, visualize
from cnnvis.param import listed_photos
from cnnvis.quiet_tensorflow import tf

# Yosinski et al. 2015's best published settings (decay 1e-4, blur σ 1.0 every 4 steps), with their jitter.
YOSINSKI = Regularizers(l2=1.0, jitter=8, decay=1e-4, blur_every=4, blur_sigma=1.0)
# Olah et al. 2017 (lucid): Fourier-preconditioned, decorrelated colour, random transformations; conv units as
# whole channels (the spatial mean), since the transformations move any single position around.
ROBUST = Method("fourier", Regularizers(l2=0.0), robust=True)
# Class units: Q2's default answer, the magnitude-constrained method (MaCo), whose class images a blind viewer
# names. Measured on the conv units it did not help: their channel means reached about a third of ROBUST's and
# the pattern filled only the middle of the canvas, so conv units keep ROBUST.
CLASS_METHOD = Method("magnitude", Regularizers(l2=0.0), magnitude="photos", crops=Crops())
# Steps chosen by measurement within the main command's time budget: the robust conv units show the same
# patterns after 64 steps as after 192 (their channel means reach about 80% of it); the pixel methods without
# transformations settle within 24; the class units take Q2's 64.
STEPS = 64
BASELINE_SHARE = 0.375
# Classes shown for the logits layer in the default experiment: ostrich, flamingo, bell pepper.
LOGIT_UNITS = (9, 130, 945)


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
    return ["stem", "stage1", "stage2", "stage3", "stage4", "stage5", "stage6", net.logits_layer]


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
    """The target-activation experiment: two logits and two mid-network channels, each driven to a set value."""
    middle = default_layers(net)[len(default_layers(net)) // 2]
    return [Neuron(net.logits_layer, 9), Neuron(net.logits_layer, 130), Neuron(middle, 3), Neuron(middle, 7)], \
        [10.0, 20.0, 2.0, 5.0]


def shown_as(variant, method):
    """How figures name a method: the variant, or what the class units of the robust variant really use."""
    return "magnitude-constrained" if method.param == "magnitude" else variant


def run_variant(net, args, neurons, targets, method, variant, judge, result_set):
    """Optimize, save each image as a lossless 8-bit file, and measure its activation as saved; images of
    logits units are also shown to the sibling judge."""
    rgb_uint8 = np.clip(np.round(visualize(net, neurons, targets, method, args.steps, args.seed,
                                           desc=f"Q1 {shown_as(variant, method)}")), 0, 255).astype(np.uint8)
    steps = method.steps(args.steps)
    values = achieved(net, rgb_uint8, neurons)
    rows = []
    for n, t, img, value in zip(neurons, targets, rgb_uint8, values):
        path = save_image(result_set.path(f"images/{variant}_{n.layer}_{n.unit}.png"), img)
        verdict = judge([img], [n.unit])[0] if n.layer == net.logits_layer else {}
        rows.append({"layer": n.layer, "unit": n.unit, "position": n.position, "label": n.label(net),
                     "target": t, "achieved": float(value), "steps": steps, "variant": variant,
                     "shown_as": shown_as(variant, method), **method.describe(), "seed": args.seed, **verdict,
                     "image_file": result_set.relative(path)})
    return rgb_uint8, rows


def plot_layers(net, neurons, images_by_variant, stem):
    """One row per layer: each unit's image under each regularizer, cropped to its receptive field (at least
    48 pixels a side). images_by_variant: variant -> one (image, title) per neuron."""
    layers = list(dict.fromkeys(n.layer for n in neurons))
    variants = list(images_by_variant)
    per_layer = max(sum(n.layer == layer for n in neurons) for layer in layers)
    cols = per_layer * len(variants)
    fig, axes = plt.subplots(len(layers), cols, figsize=(1.6 * cols, 1.95 * len(layers)), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    boxes = receptive_field_boxes(net, neurons)  # they depend only on the layer and the position, not the unit
    for r, layer in enumerate(layers):
        members = [i for i, n in enumerate(neurons) if n.layer == layer]
        for k, i in enumerate(members):
            top, bottom, left, right = at_least(boxes[(layer, neurons[i].position)], 48, net.input_size)
            whole = (top, bottom, left, right) == (0, net.input_size, 0, net.input_size)
            for v, variant in enumerate(variants):
                ax = axes[r, k * len(variants) + v]
                img, title = images_by_variant[variant][i]
                ax.imshow(for_display(img if whole else img[top:bottom, left:right]))  # a canvas is shown whole
                ax.set_title(f"{neurons[i].label(net)}\n{title}", fontsize=8)
    fig.suptitle(f"Q1: neuron visualizations\n{network_label(net)}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, stem)


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
    p.add_argument("--l2", type=cli.number(float, 0, 1e6), default=1.0, help="weight λ of the image-norm regularizer")
    p.add_argument("--jitter", type=cli.number(int, 0, 64), default=0, help="Yosinski: random translation, pixels")
    p.add_argument("--decay", type=cli.number(float, 0, 1), default=0.0, help="Yosinski: L2 decay per step")
    p.add_argument("--blur-every", type=cli.number(int, 0, 100000), default=0,
                   help="Yosinski: blur every k steps (0: never)")
    p.add_argument("--blur-sigma", type=cli.number(float, 0.1, 20), default=1.0, help="Yosinski: blur width, pixels")
    p.add_argument("--norm-pct", type=cli.number(float, 0, 99), default=0.0,
                   help="Yosinski: grey out pixels of small norm (percentile)")
    p.add_argument("--contrib-pct", type=cli.number(float, 0, 99), default=0.0,
                   help="Yosinski: grey out pixels of small contribution (percentile)")
    args = p.parse_args()
    single = ("unit", "position", "jitter", "decay", "blur_every", "blur_sigma", "norm_pct", "contrib_pct")
    given = [f"--{k.replace('_', '-')}" for k in single if getattr(args, k) != p.get_default(k)]
    if args.layer is None and given:
        raise UserError(f"{', '.join(given)} only apply to one layer's neurons; add --layer (e.g. --layer "
                        f"stage3), or leave {'them' if len(given) > 1 else 'it'} out for the report's experiment.")
    units = len(dict.fromkeys(args.unit))
    if units > MAX_UNITS:  # as Q2 caps its classes: all units are optimized in one batch
        raise UserError(f"--unit names {units} units; give at most {MAX_UNITS} (they are optimized in one batch, "
                        f"about 30 MB of memory each), or run the rest in further runs.")
    if args.layer is None:
        listed_photos()  # the class units' magnitude comes from these photos: a broken list is named now
    net = cli.load_network(args)

    if args.layer is None:  # the report's experiment: every layer by three methods, then set targets
        neurons = default_neurons(net)
        channels = [Neuron(n.layer, n.unit, "mean") for n in neurons if n.layer != net.logits_layer]
        classes = [n for n in neurons if n.layer == net.logits_layer]
        pixels = Method("pixels", Regularizers(l2=args.l2), lr=args.lr, share=BASELINE_SHARE)
        runs = [("L2", neurons, pixels), ("Yosinski", neurons, Method("pixels", YOSINSKI, lr=args.lr,
                                                                      share=BASELINE_SHARE)),
                ("robust", channels, ROBUST), ("robust", classes, CLASS_METHOD)]
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
        images, rows = {}, []  # images: variant -> {(layer, unit): (image, title)}
        for variant, run_neurons, targets, method in runs:
            rgb_uint8, variant_rows = run_variant(net, args, run_neurons, targets, method, variant, judge,
                                                  result_set)
            images.setdefault(variant, {}).update({(n.layer, n.unit): (img, shown_as(variant, method))
                                                   for n, img in zip(run_neurons, rgb_uint8)})
            rows += variant_rows
        images.pop("target", None)  # its neurons differ; its numbers go to the table, not the layer figures
        layers = list(dict.fromkeys(n.layer for n in neurons))
        figures = []
        for start in range(0, len(layers), 4):  # at most four layers a figure, so each fits half a page
            chunk = [n for n in neurons if n.layer in layers[start:start + 4]]
            figures.append(plot_layers(net, chunk, {v: [imgs[(n.layer, n.unit)] for n in chunk]
                                                    for v, imgs in images.items()},
                                       result_set.path(f"figures/q1_layers_{start // 4 + 1}")))
        rates = {v: recognition_rate(r for r in rows if r["variant"] == v and "recognized" in r) for v in images}
        path = result_set.write_results({**cli.header(args, net, result_set.final.name), "units": rows,
                                         "recognition_rate": rates, "class_method": CLASS_METHOD.describe(),
                                         "figures": [result_set.relative(f) for f in figures]})
    for row in rows:
        goal = "max" if row["target"] is None else f"target {row['target']:g}"
        print(f"{row['variant']:>8}  {row['label']:<28} {goal:<12} achieved {row['achieved']:.3f}")
    print(f"wrote {result_set.final}/: {path.name}, {len(figures)} figure(s), {len(rows)} images")
    return 0


if __name__ == "__main__":
    cli.run(main)
