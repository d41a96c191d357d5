"""Q2 — Natural image statistics: visualizing the logits layer (fc8) with the 1/w law of natural images.

The Fourier magnitude spectrum of natural images falls off as 1/w. This script uses that fact in two ways
and compares them on the same classes:
- as a *penalty* (the assignment's term): Q1's optimization plus a term that pulls the image's spectrum
  towards the law,
      prior(x) = β · Σ_w ρ(w) · (log|F(w)| + log w - c)²,   c = the weighted mean of log|F(w)| + log w,
  where F is the 2-D FFT (tf.signal.fft2d) of each colour channel of a reduced-size (64×64, box-averaged)
  copy of the image, and ρ(w) ∝ w⁻³ leans on the low frequencies, where an image's layout is decided;
  alone, with random transformations (lucid), and beside lucid's Fourier parameterization;
- as a *constraint* (the default answer, MaCo, Fel et al. 2023): the image's magnitude spectrum is fixed —
  to the 1/w law itself, or to the mean spectrum of the bundled photos — and only its phase is optimized,
  so the law holds exactly whatever the optimizer does; every step scores random crops of a larger canvas,
  large ones first, small ones later, with a little noise (cnnvis.param, cnnvis.transforms).
A penalty is a price the optimizer may pay: it spends it on fine texture that drives this network and that
a person does not see. A constraint cannot be paid; the optimizer can only decide where things are.

Every image is shown to a sibling network (cnnvis.judge), whole and, for a canvas, on its central crop, and
its spectrum is measured independently (NumPy). Whether a *person* sees the class was measured by blind
naming (bench/blind_naming.json; the report quotes it).

    python q2_fourier.py                                 # the report's experiment
    python q2_fourier.py --target ostrich 130 --value 30
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

import re
import textwrap

import numpy as np
from matplotlib import pyplot as plt
from PIL import Image

from alexnet import ROOT, shown
from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.imaging import for_display, network_label, read_image, save_figure, save_image
from cnnvis.judge import JUDGE, Judge, recognition_rate
from cnnvis.optimize import Crops, Method, Neuron, Regularizers, seen_whole, visualize
from cnnvis.quiet_tensorflow import tf

# Ten classes of different kinds: birds, a fish, an insect, food, fruit, a landscape, a vehicle, a building, a flower.
DEFAULT_CLASSES = ("ostrich", "flamingo", "goldfish", "monarch", "pizza", "strawberry", "volcano", "school bus", "beacon",
                   "daisy")
FOURIER_WEIGHT = 20.0  # β: enough for the spectrum to follow 1/w while the class logit still rises
# Chosen by blind naming against seconds (README): the magnitude-constrained method's steps. The penalty
# methods take half as many (the main command has a time budget; at 128 steps viewers named 2 of 10 Fourier
# images and none of the 1/w term's with robustness) and the pixel ones settle within a quarter.
STEPS = 64
ROBUST_SHARE, PIXEL_SHARE = 0.5, 0.25
CROPS = Crops()  # cnnvis.optimize.Crops: its defaults are the report's settings
DEFAULT = "magnitude-constrained"  # the default answer: the photos' mean spectrum, fixed
LAW = "magnitude-constrained, 1/w law"  # the other source of the magnitude, compared on the first classes
COMPARED = 5  # classes the two sources are compared on
FIGURE_SIDE = 224  # a canvas is shown at this side in the figures (about 2 cm in the report)
MAX_CROPS = 512  # crops of all classes in one step (memory: about 4 MB each at 128 pixels)


# ---------------------------------------------------------------------------------------------
# The 1/w prior (TensorFlow, differentiable) and the spectrum as measured (NumPy, independent)
# ---------------------------------------------------------------------------------------------
def radial_frequency(size):
    """|w| in cycles per image for each bin of a size×size FFT."""
    f = np.fft.fftfreq(size) * size
    return np.hypot(*np.meshgrid(f, f, indexing="ij"))


def fourier_prior(weight, size=64):
    """rgb [N,S,S,3] (0..255) -> [N] penalty on the deviation of each channel's log-magnitude spectrum,
    on a size×size copy of the image, from c/w."""
    w = radial_frequency(size)
    w[0, 0] = 1.0  # the mean (DC) is removed and carries no weight
    rho = np.where(radial_frequency(size) > 0, 1.0 / w ** 3, 0.0)
    rho = tf.constant(rho / rho.sum(), tf.float32)
    log_w = tf.constant(np.log(w), tf.float32)

    def prior(rgb):
        # Box-averaged like the measurement (radial_spectrum), so the term sees the detail that is measured.
        small = tf.nn.avg_pool2d(tf.image.resize(rgb, (4 * size, 4 * size), method="bilinear"), 4, 4, "VALID")
        small -= tf.reduce_mean(small, axis=[1, 2], keepdims=True)
        channels = tf.transpose(small, [0, 3, 1, 2])  # fft2d transforms the last two axes: each channel alone
        magnitude = tf.abs(tf.signal.fft2d(tf.complex(channels, tf.zeros_like(channels))))
        deviation = tf.math.log(magnitude + 1e-3) + log_w
        level = tf.reduce_sum(rho * deviation, axis=[2, 3], keepdims=True)
        return weight * tf.reduce_mean(tf.reduce_sum(rho * tf.square(deviation - level), axis=[2, 3]), axis=1)

    return prior


def radial_spectrum(rgb_uint8, size=64):
    """Radially averaged Fourier magnitude of the box-downsampled, mean-removed image, for radii 2..size/2-1.
    Returns (radii, magnitude), both 1-D numpy arrays."""
    small = np.asarray(Image.fromarray(np.asarray(rgb_uint8, np.uint8)).resize((size, size), Image.Resampling.BOX),
                       np.float64)
    small -= small.mean(axis=(0, 1))
    magnitude = np.abs(np.fft.fft2(small, axes=(0, 1))).mean(axis=2)
    ring = np.rint(radial_frequency(size)).astype(int)
    radii = np.arange(2, size // 2)
    return radii, np.array([magnitude[ring == r].mean() for r in radii])


def spectral_slope(rgb_uint8, size=64):
    """Slope of the log-log fit of radial_spectrum: about -1 for natural photos, 0 for white noise."""
    radii, magnitude = radial_spectrum(rgb_uint8, size)
    return float(np.polyfit(np.log(radii), np.log(magnitude), 1)[0])


# ---------------------------------------------------------------------------------------------
# The experiment: the 1/w law as a penalty and as a constraint, side by side, on the same classes
# ---------------------------------------------------------------------------------------------
def methods(args):
    """name -> (Method, prior). The image-norm prior alone (Simonyan); the 1/w term alone; the 1/w term with
    lucid's random transformations and decorrelated colour; the 1/w law built into a Fourier
    parameterization's step sizes (lucid); and the default: the magnitude held fixed to the photos' mean
    spectrum, only the phase optimized, over random crops (MaCo). LAW, the same with the 1/w law itself as the
    magnitude, runs on the first COMPARED classes only (the main command's time budget)."""
    prior = fourier_prior(args.fourier_weight, args.fourier_size)
    pixels, free = Regularizers(l2=args.l2), Regularizers(l2=0.0)
    crops = Crops(args.crops, args.canvas, args.crop_resolution)
    return {"image-norm prior": (Method("pixels", pixels, share=PIXEL_SHARE), None),
            "1/w term": (Method("pixels", pixels, share=PIXEL_SHARE), prior),
            "1/w term + robustness": (Method("decorrelated", free, robust=True, share=ROBUST_SHARE), prior),
            "Fourier parameterization": (Method("fourier", free, robust=True, share=ROBUST_SHARE), None),
            DEFAULT: (Method("magnitude", free, magnitude="photos", crops=crops), None),
            LAW: (Method("magnitude", free, magnitude="1/w", crops=crops), None)}


def central(rgb_uint8, fraction):
    """The central square of an image, `fraction` of its side: where a canvas's crops were centred."""
    side = rgb_uint8.shape[0]
    start = round(side * (1 - fraction) / 2)
    return rgb_uint8[start:side - start, start:side - start]


def verdict_text(row, prefix=""):
    if prefix + "judge_top1" not in row:  # the judge's weights are absent (cnnvis.judge)
        return f"{'centre' if prefix else 'judge'}: absent"
    return (f"{'centre' if prefix else 'judge'}: {row[prefix + 'judge_top1'][:16]} "
            f"{row[prefix + 'judge_prob_of_class']:.2f} {'✓' if row[prefix + 'recognized'] else '✗'}")


def plot_classes(net, classes, images, rows, stem):
    """Rows: methods; columns: classes. Under each image, the sibling judge's top-1 class and its p of the
    intended class (✓ when they agree), on the whole image and, for a canvas, on its central crop. Images are
    contrast-stretched for display; the judge saw them as saved."""
    fig, axes = plt.subplots(len(images), len(classes), figsize=(1.75 * len(classes), 2.3 * len(images)),
                             squeeze=False)
    for r, (method, imgs) in enumerate(images.items()):
        mine = [row for row in rows if row["method"] == method]
        for c, (index, img, row) in enumerate(zip(classes, imgs, mine)):
            ax = axes[r, c]
            ax.imshow(for_display(np.asarray(Image.fromarray(img).resize((FIGURE_SIDE,) * 2, Image.Resampling.BOX))
                                  if img.shape[0] > FIGURE_SIDE else img))
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{net.classes[index]}", fontsize=7)
            ax.set_xlabel("\n".join([verdict_text(row)] + ([verdict_text(row, "centre_")] if "centre_recognized" in row
                                                         else [])), fontsize=5.5)
            if c == 0:
                ax.set_ylabel(textwrap.fill(method, 18), fontsize=7)
    fig.suptitle(f"Q2: class visualizations — {network_label(net)}\njudge: EfficientNet-Lite1, a sibling network "
                 f"(recognition by it is not recognition by a person)", fontsize=8)
    fig.tight_layout(h_pad=1.0)  # room for two lines of verdicts above the next row's titles
    return save_figure(fig, stem)


def plot_spectra(rows, images, reference, stem, size):
    """Log-log radially averaged spectra, averaged over the classes of each method, beside a natural photo
    and the 1/w line."""
    fig, ax = plt.subplots(figsize=(7.0, 3.2))
    for (method, imgs), colour in zip(images.items(), plt.cm.tab10(np.arange(10))):
        radii, _ = radial_spectrum(imgs[0], size)
        magnitude = np.mean([radial_spectrum(img, size)[1] for img in imgs], axis=0)
        slopes = [r["spectral_slope"] for r in rows if r["method"] == method]
        ax.loglog(radii, magnitude, "-", color=colour, lw=1.4,
                  label=f"{method} (slopes {min(slopes):+.2f} … {max(slopes):+.2f})")
    name, photo = reference
    radii, magnitude = radial_spectrum(photo, size)
    ax.loglog(radii, magnitude, "-", color="black", lw=2, label=f"photo {name} (slope {spectral_slope(photo):.2f})")
    ax.loglog(radii, magnitude[0] * radii[0] / radii, "--", color="grey", lw=1.5, label="1/w")
    ticks = [2, 4, 8, 16, size // 2 - 1]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    ax.set_xlabel(f"frequency w (cycles per {size}-pixel image)")
    ax.set_ylabel("mean |F(w)|")
    ax.set_title("Radially averaged Fourier magnitude, mean over the classes of each method", fontsize=9)
    ax.legend(fontsize=6.5, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return save_figure(fig, stem)


def judged(judge, prefix, images, classes):
    """The judge's verdicts on images, its keys prefixed (prefix "centre_" for central crops)."""
    return [{prefix + k: v for k, v in verdict.items()} for verdict in judge(images, classes)]


def run_method(net, args, name, method, prior, classes, judge, result_set):
    """One method on its classes: each image saved, measured on the network, judged and its spectrum measured.
    Returns the images (uint8) and one row per class."""
    neurons = [Neuron(net.logits_layer, c) for c in classes]
    rgb = visualize(net, neurons, [args.value] * len(neurons), method, args.steps, args.seed, prior, desc=f"Q2 {name}")
    images = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    acts = net.activations(seen_whole(net, images), [net.logits_layer, "prob"])
    logits = np.diagonal(acts[net.logits_layer].numpy()[:, classes])  # image i's own class logit
    prob = acts["prob"].numpy()
    verdicts = judged(judge, "", images, classes)
    if method.crops:  # judged also the way it was made: on the centre, where the crops were
        centres = [central(img, method.crops.start) for img in images]
        verdicts = [{**v, **c} for v, c in zip(verdicts, judged(judge, "centre_", centres, classes))]
    tag = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")  # "1/w term + robustness" -> 1_w_term_robustness
    rows = []
    for i, (index, img, verdict) in enumerate(zip(classes, images, verdicts)):
        path = save_image(result_set.path(f"images/{tag}_{index}.png"), img)
        rows.append({"class_index": index, "class_name": net.classes[index], "method": name,
                     **method.describe(), "steps": method.steps(args.steps), "image_side": int(img.shape[0]),
                     "fourier_weight": args.fourier_weight if prior else 0.0,
                     "target_logit": args.value, "logit": float(logits[i]), "prob": float(prob[i, index]),
                     "top_class": net.classes[int(prob[i].argmax())], **verdict,
                     "spectral_slope": spectral_slope(img, args.fourier_size),
                     "image_file": result_set.relative(path)})
    return images, rows


def experiment(net, args, classes, reference, judge, result_set):
    """Every method on every class (LAW on the first COMPARED); returns rows, images by method, the sibling
    judge's recognition rates by method (whole images, and central halves of canvases), and the figures."""
    rows, images = [], {}
    for name, (method, prior) in methods(args).items():
        images[name], method_rows = run_method(net, args, name, method, prior,
                                               classes[:COMPARED] if name == LAW else classes, judge, result_set)
        rows += method_rows
    rates = {name: recognition_rate(r for r in rows if r["method"] == name) for name in images}
    centre_rates = {name: recognition_rate({"recognized": r["centre_recognized"]} for r in rows if r["method"] == name)
                    for name in images if any("centre_recognized" in r for r in rows if r["method"] == name)}
    shown_methods = [m for m in images if m != LAW]
    figures = [plot_classes(net, classes[start:start + 5], {m: images[m][start:start + 5] for m in shown_methods},
                            [r for r in rows if r["class_index"] in classes[start:start + 5] and r["method"] != LAW],
                            result_set.path(f"figures/q2_classes_{start // 5 + 1}"))
               for start in range(0, len(classes), 5)]  # five classes a figure, so the images are large enough
    compared = classes[:COMPARED]
    figures += [plot_classes(net, compared, {LAW: images[LAW], DEFAULT: images[DEFAULT][:COMPARED]},
                             [r for r in rows if r["method"] in (LAW, DEFAULT) and r["class_index"] in compared],
                             result_set.path("figures/q2_sources")),
                plot_spectra(rows, images, (shown(args.reference), reference), result_set.path("figures/q2_spectra"),
                             args.fourier_size)]
    return rows, images, rates, centre_rates, figures


def main():
    p = cli.parser("Q2: visualize logits-layer (fc8) classes with the 1/w law of natural images, as a penalty "
                   "and as a constraint.")
    p.add_argument("--target", nargs="+", default=list(DEFAULT_CLASSES), type=cli.class_name,
                   help="classes to visualize, by index or (partial) name")
    p.add_argument("--value", type=cli.number(float, -1e6, 1e6),
                   help="target activation of each class logit; without it, maximized")
    p.add_argument("--steps", type=cli.number(int, 1, 100000), default=STEPS,
                   help="optimization steps (the pixel methods take half of them)")
    p.add_argument("--l2", type=cli.number(float, 0, 1e6), default=1.0, help="weight λ of the image-norm regularizer")
    p.add_argument("--fourier-weight", type=cli.number(float, 0, 1e6), default=FOURIER_WEIGHT,
                   help="weight β of the 1/w term")
    p.add_argument("--fourier-size", type=cli.number(int, 8, 1024), default=64,
                   help="side of the reduced image the term is computed on")
    p.add_argument("--crops", type=cli.number(int, 1, 64), default=CROPS.count,
                   help="magnitude-constrained: random crops scored at every step, per class")
    p.add_argument("--canvas", type=cli.number(int, 64, 1024), default=CROPS.canvas,
                   help="magnitude-constrained: side of the image made, in pixels")
    p.add_argument("--crop-resolution", type=cli.number(int, 32, 512), default=CROPS.resolution,
                   help="magnitude-constrained: side each crop is resized to before the network sees it "
                        "(AlexNet always sees 227)")
    p.add_argument("--reference", type=cli.existing_file, default=ROOT / "images" / "chelsea.jpg",
                   help="a natural photo whose spectrum is shown")
    args = p.parse_args()
    if len(args.target) > 64:
        raise UserError(f"--target names {len(args.target)} classes; give at most 64 (they form one batch).")
    if len(args.target) * args.crops > MAX_CROPS:
        raise UserError(f"--target names {len(args.target)} classes and --crops is {args.crops}: "
                        f"{len(args.target) * args.crops} crops a step, more than the {MAX_CROPS} that fit in memory; "
                        f"name fewer classes or give fewer crops.")
    net = cli.load_network(args)
    if not 8 <= args.fourier_size <= net.input_size:
        raise UserError(f"--fourier-size must be between 8 and the input size {net.input_size}.")
    if not net.any_size and args.crop_resolution not in (CROPS.resolution, net.input_size):
        raise UserError(f"--crop-resolution {args.crop_resolution}: {net.name} takes only {net.input_size}x"
                        f"{net.input_size} inputs; give --crop-resolution {net.input_size} or leave it out.")
    classes = list(dict.fromkeys(net.classes.find(t) for t in args.target))  # a class named twice is shown once
    reference = read_image(args.reference)
    judge = Judge()
    with cli.result_set(p, args, "q2", net) as result_set:
        rows, images, rates, centre_rates, figures = experiment(net, args, classes, reference, judge, result_set)
        path = result_set.write_results({
            **cli.header(args, net, result_set.final.name), "fourier_weight": args.fourier_weight,
            "fourier_size": args.fourier_size, "l2": args.l2, "steps": args.steps, "default_method": DEFAULT,
            "compared_method": LAW,
            "crops": {"count": args.crops, "canvas": args.canvas, "resolution": CROPS.side(net, args.crop_resolution),
                      "start": CROPS.start, "end": CROPS.end, "noise": CROPS.noise},
            "reference_slope": spectral_slope(reference, args.fourier_size), "judge": judge.name,
            "recognition_rate": rates, "centre_recognition_rate": centre_rates, "classes": rows,
            "figures": [result_set.relative(f) for f in figures]})
    for row in rows:
        verdict = (f"judge: {row['judge_top1']:<16} p(class) {row['judge_prob_of_class']:.2f}" if "judge_top1" in row
                   else "judge: absent")
        print(f"{row['method']:>30}  {row['class_name']:<16} logit {row['logit']:6.2f}  {verdict}  "
              f"slope {row['spectral_slope']:+.2f}")
    for name, rate in ((n, r) for n, r in rates.items() if r is not None):
        centre = f" (central crop: {centre_rates[name]:.0%})" if name in centre_rates else ""
        print(f"recognized by the sibling judge ({JUDGE}): {name}: {rate:.0%}{centre}")
    print(f"wrote {result_set.final}/: {path.name}, {len(figures)} figures, {len(rows)} images")
    return 0


if __name__ == "__main__":
    cli.run(main)
