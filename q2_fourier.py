"""Q2 — Natural image statistics: visualizing the logits layer (fc8) with a 1/w Fourier-spectrum prior.

The Fourier magnitude spectrum of natural images falls off as 1/w. Q1's optimization is kept, and its
image-norm prior is joined by a term that pulls the image's spectrum towards that law (the 1/w *term*):
    prior(x) = β · Σ_w ρ(w) · (log|F(w)| + log w - c)²,   c = the weighted mean of log|F(w)| + log w
where F is the 2-D FFT (tf.signal.fft2d) of each colour channel of a reduced-size (64×64, box-averaged)
copy of the image, and ρ(w) ∝ w⁻³ leans on the low frequencies, where an image's layout is decided. (With w⁻², equal
weight per octave, the fine detail the network's gradient keeps adding near the reduced image's Nyquist
limit flattened the measured slope to about -0.9; with w⁻³ it is about -1.0 to -1.1. The reduced copy is
box-averaged, the filter the measurement uses: with a smoother filter the optimizer hid detail near that
limit which the term did not see and the measurement did, and one image in ten measured -0.88.)
The term alone still lets the optimizer hide the class in pixel-exact texture; random transformations
before every step (cnnvis.transforms) take that away, and the images become recognizable. Every image is
judged by an independent network (cnnvis.judge), and compared with the image-norm prior alone and with
the 1/w law built into the variables (a Fourier parameterization) instead of penalized.

    python q2_fourier.py                                 # the report's experiment
    python q2_fourier.py --target ostrich 130 --value 30
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

import re

import numpy as np
from matplotlib import pyplot as plt
from PIL import Image

from alexnet import ROOT, shown
from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.imaging import for_display, network_label, read_image, save_figure, save_image
from cnnvis.judge import JUDGE, Judge, recognition_rate
from cnnvis.optimize import Method, Neuron, Regularizers, visualize
from cnnvis.quiet_tensorflow import tf

# Ten classes of different kinds: birds, a fish, an insect, food, fruit, a landscape, a vehicle, a building, a flower.
DEFAULT_CLASSES = ("ostrich", "flamingo", "goldfish", "monarch", "pizza", "strawberry", "volcano", "school bus", "beacon",
                   "daisy")
FOURIER_WEIGHT = 20.0  # β: enough for the spectrum to follow 1/w while the class logit still rises
STEPS = 128
BASELINE_SHARE = 0.25  # the pixel methods without transformations settle within 32 of the 128 steps


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
# The experiment: four methods side by side, each image judged by an independent network
# ---------------------------------------------------------------------------------------------
def methods(args):
    """name -> (Method, prior). The image-norm prior alone (Simonyan), the 1/w term alone, the 1/w term with
    random transformations and decorrelated colour (the default answer to Q2), and the 1/w law built into a
    Fourier parameterization instead of penalized."""
    prior = fourier_prior(args.fourier_weight, args.fourier_size)
    pixels = Regularizers(l2=args.l2)
    return {"image-norm prior": (Method("pixels", pixels, share=BASELINE_SHARE), None),
            "1/w term": (Method("pixels", pixels, share=BASELINE_SHARE), prior),
            "1/w term + robustness": (Method("decorrelated", Regularizers(l2=0.0), robust=True), prior),
            "Fourier parameterization": (Method("fourier", Regularizers(l2=0.0), robust=True), None)}


def plot_classes(net, classes, images, rows, stem):
    """Rows: methods; columns: classes. Under each image, the judge's top-1 class (green when it is the
    intended one). Images are contrast-stretched for display; the judge saw them as saved."""
    fig, axes = plt.subplots(len(images), len(classes), figsize=(1.75 * len(classes), 2.1 * len(images)),
                             squeeze=False)
    for r, (method, imgs) in enumerate(images.items()):
        mine = [row for row in rows if row["method"] == method]
        for c, (index, img, row) in enumerate(zip(classes, imgs, mine)):
            ax = axes[r, c]
            ax.imshow(for_display(img))
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{net.classes[index]}", fontsize=7)
            ax.set_xlabel(f"judge: {row['judge_top1'][:18]}\np {row['judge_prob_of_class']:.2f}", fontsize=6,
                          color="tab:green" if row["recognized"] else "tab:red")
            if c == 0:
                ax.set_ylabel(f"{method}\n{sum(r['recognized'] for r in mine)} of {len(mine)} recognized", fontsize=7)
    fig.suptitle(f"Q2: class visualizations — {network_label(net)}\njudge: EfficientNet-Lite1 (independent)",
                 fontsize=9)
    fig.tight_layout()
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


def experiment(net, args, classes, reference, judge, result_set):
    """Every method on every class; each image saved, measured and judged. Returns rows, images by method,
    recognition rates by method, and the figures."""
    neurons = [Neuron(net.logits_layer, c) for c in classes]
    rows, images = [], {}
    for name, (method, prior) in methods(args).items():
        rgb = visualize(net, neurons, [args.value] * len(neurons), method, args.steps, args.seed, prior,
                        desc=f"Q2 {name}")
        images[name] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
        acts = net.activations(net.rgb_to_x(images[name].astype(np.float32)), [net.logits_layer, "prob"])
        logits = np.diagonal(acts[net.logits_layer].numpy()[:, classes])  # image i's own class logit
        prob = acts["prob"].numpy()
        tag = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")  # "1/w term + robustness" -> 1_w_term_robustness
        for i, (index, img, verdict) in enumerate(zip(classes, images[name], judge(images[name], classes))):
            path = save_image(result_set.path(f"images/{tag}_{index}.png"), img)
            rows.append({"class_index": index, "class_name": net.classes[index], "method": name,
                         **method.describe(), "steps": method.steps(args.steps),
                         "fourier_weight": args.fourier_weight if prior else 0.0,
                         "target_logit": args.value, "logit": float(logits[i]), "prob": float(prob[i, index]),
                         "top_class": net.classes[int(prob[i].argmax())], **verdict,
                         "spectral_slope": spectral_slope(img, args.fourier_size),
                         "image_file": result_set.relative(path)})
    rates = {name: recognition_rate(r for r in rows if r["method"] == name) for name in images}
    figures = [plot_classes(net, classes[start:start + 5], {m: imgs[start:start + 5] for m, imgs in images.items()},
                            [r for r in rows if r["class_index"] in classes[start:start + 5]],
                            result_set.path(f"figures/q2_classes_{start // 5 + 1}"))
               for start in range(0, len(classes), 5)]  # five classes a figure, so the images are large enough
    figures += [plot_spectra(rows, images, (shown(args.reference), reference), result_set.path("figures/q2_spectra"),
                            args.fourier_size)]
    return rows, images, rates, figures


def main():
    p = cli.parser("Q2: visualize logits-layer (fc8) classes with a 1/w Fourier-spectrum prior.")
    p.add_argument("--target", nargs="+", default=list(DEFAULT_CLASSES), type=cli.class_name,
                   help="classes to visualize, by index or (partial) name")
    p.add_argument("--value", type=cli.number(float, -1e6, 1e6),
                   help="target activation of each class logit; without it, maximized")
    p.add_argument("--steps", type=cli.number(int, 1, 100000), default=STEPS, help="optimization steps")
    p.add_argument("--l2", type=cli.number(float, 0, 1e6), default=1.0, help="weight λ of the image-norm regularizer")
    p.add_argument("--fourier-weight", type=cli.number(float, 0, 1e6), default=FOURIER_WEIGHT,
                   help="weight β of the 1/w term")
    p.add_argument("--fourier-size", type=cli.number(int, 8, 1024), default=64,
                   help="side of the reduced image the term is computed on")
    p.add_argument("--reference", type=cli.existing_file, default=ROOT / "images" / "chelsea.jpg",
                   help="a natural photo whose spectrum is shown")
    args = p.parse_args()
    if len(args.target) > 64:
        raise UserError(f"--target names {len(args.target)} classes; give at most 64 (they form one batch).")
    net = cli.load_network(args)
    if not 8 <= args.fourier_size <= net.input_size:
        raise UserError(f"--fourier-size must be between 8 and the input size {net.input_size}.")
    classes = list(dict.fromkeys(net.classes.find(t) for t in args.target))  # a class named twice is shown once
    reference = read_image(args.reference)
    judge = Judge()
    with cli.result_set(p, args, "q2", net) as result_set:
        rows, images, rates, figures = experiment(net, args, classes, reference, judge, result_set)
        path = result_set.write_results({
            **cli.header(args, net, result_set.final.name), "fourier_weight": args.fourier_weight,
            "fourier_size": args.fourier_size, "l2": args.l2, "steps": args.steps,
            "reference_slope": spectral_slope(reference, args.fourier_size), "judge": JUDGE,
            "recognition_rate": rates, "classes": rows, "figures": [result_set.relative(f) for f in figures]})
    for row in rows:
        print(f"{row['method']:>26}  {row['class_name']:<16} logit {row['logit']:6.2f}  judge: {row['judge_top1']:<16} "
              f"p(class) {row['judge_prob_of_class']:.2f}  slope {row['spectral_slope']:+.2f}")
    for name, rate in rates.items():
        print(f"recognized by the judge ({JUDGE}): {name}: {rate:.0%}")
    print(f"wrote {result_set.final}/: {path.name}, {len(figures)} figures, {len(rows)} images")
    return 0


if __name__ == "__main__":
    cli.run(main)
