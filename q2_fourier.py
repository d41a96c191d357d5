"""Q2 — Natural image statistics: visualizing the logits layer (fc8) with a 1/w Fourier-spectrum prior.

The Fourier magnitude spectrum of natural images falls off as 1/w. Q1's optimization is kept, and its
image-norm prior is joined by a term that pulls the image's spectrum towards that law:
    prior(x) = β · Σ_w ρ(w) · (log|F(w)| + log w - c)²,   c = the weighted mean of log|F(w)| + log w
where F is the 2-D FFT (tf.signal.fft2d) of each colour channel of a reduced-size (64×64) copy of the
image, and ρ(w) ∝ w⁻³ leans on the low frequencies, where an image's layout is decided. (With w⁻², equal
weight per octave, the fine detail the network's gradient keeps adding near the reduced image's Nyquist
limit flattened the measured slope to about -0.9; with w⁻³ it is about -1.2, like the bundled photos.)

    python q2_fourier.py                                 # the report's experiment
    python q2_fourier.py --target ostrich 130 --value 30
"""
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt
from PIL import Image

from alexnet import ROOT, shown
from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.imaging import for_display, network_label, read_image, save_figure, save_image
from cnnvis.optimize import Neuron, Regularizers, visualize
from cnnvis.quiet_tensorflow import tf

DEFAULT_CLASSES = ("ostrich", "flamingo", "monarch", "volcano", "pizza")
FOURIER_WEIGHT = 30.0  # β: enough for the spectrum to follow 1/w while the class logit still reaches its target


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
        small = tf.image.resize(rgb, (size, size), method="bilinear", antialias=True)
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
# The experiment
# ---------------------------------------------------------------------------------------------
def plot_classes(net, classes, images, stem):
    """Rows: the L2 prior and the 1/w prior; columns: classes."""
    fig, axes = plt.subplots(len(images), len(classes), figsize=(1.45 * len(classes), 1.8 * len(images)),
                             squeeze=False)
    for r, (regularizer, imgs) in enumerate(images.items()):
        for c, (index, img) in enumerate(zip(classes, imgs)):
            ax = axes[r, c]
            ax.imshow(for_display(img))
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{net.classes[index]} ({index})", fontsize=7)
            if c == 0:
                ax.set_ylabel({"l2": "L2 prior", "fourier": "1/w prior"}[regularizer], fontsize=8)
    fig.suptitle(f"Q2: class visualizations — {network_label(net)}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, stem)


def plot_spectra(rows, images, reference, stem, size):
    """Log-log radially averaged spectra of every result, a natural photo, and the 1/w line."""
    fig, ax = plt.subplots(figsize=(7.0, 3.4))
    colours = plt.cm.tab10(np.arange(10))
    for row, img in zip(rows, images):
        radii, magnitude = radial_spectrum(img, size)
        style = "-" if row["regularizer"] == "fourier" else ":"
        colour = colours[sorted({r["class_index"] for r in rows}).index(row["class_index"]) % 10]
        ax.loglog(radii, magnitude, style, color=colour, lw=1.2,
                  label=f"{row['class_name']}, {row['regularizer']} (slope {row['spectral_slope']:.2f})")
    name, photo = reference
    radii, magnitude = radial_spectrum(photo, size)
    ax.loglog(radii, magnitude, "-", color="black", lw=2, label=f"photo {name} (slope {spectral_slope(photo):.2f})")
    ax.loglog(radii, magnitude[0] * radii[0] / radii, "--", color="grey", lw=1.5, label="1/w")
    ax.set_xlabel(f"frequency w (cycles per {size}-pixel image)")
    ax.set_ylabel("mean |F(w)|")
    ax.set_title("Radially averaged Fourier magnitude (dotted: L2 prior, solid: 1/w prior)", fontsize=9)
    ax.legend(fontsize=6, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return save_figure(fig, stem)


def main():
    p = cli.parser("Q2: visualize logits-layer (fc8) classes with a 1/w Fourier-spectrum prior.")
    p.add_argument("--target", nargs="+", default=list(DEFAULT_CLASSES),
                   help="classes to visualize, by index or (partial) name")
    p.add_argument("--value", type=float, default=30.0, help="target activation of each class logit")
    p.add_argument("--steps", type=int, default=160, help="optimization steps")
    p.add_argument("--lr", type=float, default=4.0, help="Adam step size, in 0..255 pixel units")
    p.add_argument("--l2", type=float, default=1.0, help="weight λ of the image-norm regularizer")
    p.add_argument("--fourier-weight", type=float, default=FOURIER_WEIGHT, help="weight β of the 1/w prior")
    p.add_argument("--fourier-size", type=int, default=64, help="side of the reduced image the prior is computed on")
    p.add_argument("--reference", type=Path, default=ROOT / "images" / "chelsea.jpg", help="a natural photo whose spectrum is shown")
    args = p.parse_args()
    if args.steps < 1 or args.lr <= 0 or args.fourier_weight < 0:
        raise UserError("--steps must be at least 1, --lr positive and --fourier-weight not negative.")
    net = cli.load_network(args)
    if not 8 <= args.fourier_size <= net.input_size:
        raise UserError(f"--fourier-size must be between 8 and the input size {net.input_size}.")
    classes = [net.classes.find(t) for t in args.target]
    neurons = [Neuron(net.logits_layer, c) for c in classes]
    reference = read_image(args.reference)

    priors = {"l2": None, "fourier": fourier_prior(args.fourier_weight, args.fourier_size)}
    rows, images = [], {}
    for regularizer, prior in priors.items():
        rgb = visualize(net, neurons, [args.value] * len(neurons), Regularizers(l2=args.l2), args.steps, args.lr,
                        args.seed, prior=prior, desc=f"Q2 {regularizer}")
        images[regularizer] = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
        acts = net.activations(net.rgb_to_x(images[regularizer].astype(np.float32)), [net.logits_layer, "prob"])
        logits = np.diagonal(acts[net.logits_layer].numpy()[:, classes])  # image i's own class logit
        prob = acts["prob"].numpy()
        for i, (index, img) in enumerate(zip(classes, images[regularizer])):
            path = save_image(args.out / "images" / "q2" / f"{regularizer}_{index}.png", img)
            rows.append({"class_index": index, "class_name": net.classes[index], "regularizer": regularizer,
                         "target_logit": args.value, "logit": float(logits[i]), "prob": float(prob[i, index]),
                         "top_class": net.classes[int(prob[i].argmax())],
                         "spectral_slope": spectral_slope(img, args.fourier_size),
                         "image_file": str(path.relative_to(args.out))})
    figures = [plot_classes(net, classes, images, args.out / "figures" / "q2_classes"),
               plot_spectra(rows, [img for imgs in images.values() for img in imgs],
                            (shown(args.reference), reference), args.out / "figures" / "q2_spectra", args.fourier_size)]
    path = cli.write_results(args, "q2", net, {
        "fourier_weight": args.fourier_weight, "fourier_size": args.fourier_size, "l2": args.l2,
        "steps": args.steps, "reference_slope": spectral_slope(reference, args.fourier_size), "classes": rows,
        "figures": [str(f.relative_to(args.out)) for f in figures]})
    for row in rows:
        print(f"{row['regularizer']:>8}  {row['class_name']:<16} logit {row['logit']:6.2f}  p {row['prob']:.3f}  "
              f"spectral slope {row['spectral_slope']:+.2f}")
    print(f"wrote {path} and {len(figures)} figures in {args.out / 'figures'}")
    return 0


if __name__ == "__main__":
    cli.run(main)
