"""Q2 — Natural image statistics: visualizing the logits layer (fc8) with the 1/w law of natural images.

The Fourier magnitude spectrum of natural images falls off as 1/w. This script uses that fact in two ways
and compares them on the same classes:
- as a *penalty* (the assignment's term): Q1's optimization plus a term that pulls the image's spectrum
  towards the law,
      prior(x) = β · Σ_w ρ(w) · (log|F(w)| + log w - c)²,   c = the weighted mean of log|F(w)| + log w,
  where F is the 2-D FFT (tf.signal.fft2d) of each colour channel of a reduced-size (64×64, box-averaged)
  copy of the image, and ρ(w) ∝ w^-p (p and β chosen by a sweep on other classes: bench/q2_budget.py);
  alone, with random transformations (lucid), and beside lucid's Fourier parameterization;
- as a *constraint* (the default answer, MaCo, Fel et al. 2023): the image's magnitude spectrum is fixed —
  to the 1/w law itself, or to the mean spectrum of the bundled photos — and only its phase is optimized,
  so the law holds exactly whatever the optimizer does; every step scores random crops of a larger canvas,
  large ones first, small ones later, with a little noise (cnnvis.param, cnnvis.transforms).
A penalty is a price the optimizer may pay where the logit gains more; a constraint cannot be paid, the
optimizer can only decide where things are. The main command gives the penalty methods a share of the
default's steps (its time budget); bench/q2_budget.py compares every method at the default's work.

Every image is shown to a sibling network (cnnvis.judge), whole and, for a canvas, on its central half (the
part the figures show, saved as its own file), and its spectrum is measured independently (NumPy). Whether
a viewer told nothing names the class was measured by blind naming by a vision-language model
(bench/blind_naming.json; the report quotes it).

    python q2_fourier.py                                 # the report's experiment
    python q2_fourier.py --target ostrich 130 --value 30
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

import re

import numpy as np
from matplotlib import pyplot as plt

from alexnet import ROOT, shown
from cnnvis import cli, spectrum
from cnnvis.errors import UserError
from cnnvis.class_grid import central, plot_grid, shown_part
from cnnvis.imaging import read_image, save_figure, save_image
from cnnvis.judge import JUDGE, Judge, recognition_rate
from cnnvis.optimize import Crops, Neuron, seen_whole, visualize
from cnnvis.param import listed_photos
from cnnvis.spectrum import (COMPARED, CROPS, DEFAULT, FOURIER_WEIGHT, LAW, RHO_POWER, STEPS, radial_spectrum,
                             spectral_slope)

DEFAULT_CLASSES = spectrum.CLASSES  # ten classes of different kinds (the bench runs the same ones)
# The methods, the 1/w term, its β and ρ and the spectrum's measurement live in cnnvis.spectrum (bench/ runs
# the same ones at equal compute). The magnitude-constrained method takes STEPS steps; the penalty methods take a
# share of them here (the main command has a time budget); bench/q2_budget.py runs every method at the
# default's network work (steps × views × pixels) and the report quotes it.
FIGURE_COLUMNS = 4  # images a figure row, each 3.7 cm wide (the report's text width is 17 cm)
MAX_CROPS = 512  # crops of all classes in one step (memory: about 4 MB each at 128 pixels)


# ---------------------------------------------------------------------------------------------
# The experiment: the 1/w law as a penalty and as a constraint, side by side, on the same classes
# ---------------------------------------------------------------------------------------------
def methods(args):
    """name -> (Method, prior): cnnvis.spectrum.methods at this run's settings. LAW runs on the first
    COMPARED classes only (the main command's time budget)."""
    return spectrum.methods(args.fourier_weight, args.rho_power, args.fourier_size, args.l2,
                            Crops(args.crops, args.canvas, args.crop_resolution))


def plot_classes(net, classes, images, rows, stem, crops):
    """Rows: methods; columns: classes (the class named once, above the first row)."""
    cells = []
    for r, (method, imgs) in enumerate(images.items()):
        mine = {row["class_index"]: row for row in rows if row["method"] == method}
        for index, img in zip(classes, imgs):
            shown_img, lines = shown_part(img, mine[index], crops if method in (DEFAULT, LAW) else None)
            cells.append((shown_img, net.classes[index] if r == 0 else "", lines))
        cells += [(None, "", [])] * (FIGURE_COLUMNS - len(classes))
    labels = [m + (" (central half of the canvas)" if m in (DEFAULT, LAW) else "") for m in images]
    return plot_grid(net, cells, FIGURE_COLUMNS, stem, labels)


def plot_magnitudes(net, classes, images, rows, stem, crops):
    """The magnitude-constrained method beyond plot_classes: its first row the 1/w law as the fixed magnitude on
    the classes above it in plot_classes (the two sources, column by column), then the default (the photos'
    spectrum) on the remaining classes, FIGURE_COLUMNS a row."""
    by = {(row["method"], row["class_index"]): row for row in rows}
    law = [c for c in classes[:FIGURE_COLUMNS] if (LAW, c) in by]
    rest = classes[FIGURE_COLUMNS:]
    lines, labels = [], []
    if law:
        lines.append([(LAW, c) for c in law])
        labels.append("1/w law (central half)")
    for start in range(0, len(rest), FIGURE_COLUMNS):
        lines.append([(DEFAULT, c) for c in rest[start:start + FIGURE_COLUMNS]])
        labels.append("photos' spectrum, the default (central half)")
    cells = []
    for line in lines:
        for method, index in line:
            shown_img, verdict = shown_part(images[method][classes.index(index)], by[(method, index)], crops)
            cells.append((shown_img, net.classes[index], verdict))
        cells += [(None, "", [])] * (FIGURE_COLUMNS - len(line))
    return plot_grid(net, cells, FIGURE_COLUMNS, stem, labels)


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
        if method.crops:  # the part the figures show (and blind viewers were shown): a file of its own
            verdict = {**verdict, "centre_image_file": result_set.relative(save_image(
                result_set.path(f"images/{tag}_{index}_centre.png"), central(img, method.crops.start)))}
        rows.append({"class_index": index, "class_name": net.classes[index], "method": name,
                     **method.describe(), "steps": method.steps(args.steps), "image_side": int(img.shape[0]),
                     "work": spectrum.work(method, net, args.steps),
                     "fourier_weight": args.fourier_weight if prior else 0.0,
                     "rho_power": args.rho_power if prior else None,
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
    crops = Crops(args.crops, args.canvas, args.crop_resolution)
    first = classes[:FIGURE_COLUMNS]  # every method on these: FIGURE_COLUMNS classes, the images large enough
    figures = [plot_classes(net, first, {m: images[m][:len(first)] for m in shown_methods},
                            [r for r in rows if r["class_index"] in first and r["method"] != LAW],
                            result_set.path("figures/q2_classes"), crops)]
    figures += [plot_magnitudes(net, classes, images, rows, result_set.path("figures/q2_magnitudes"), crops),
                plot_spectra(rows, images, (shown(args.reference), reference),
                             result_set.path("figures/q2_spectra"), args.fourier_size)]
    return rows, images, rates, centre_rates, figures, [int(c) for c in first]


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
    p.add_argument("--rho-power", type=cli.number(float, 0, 8), default=RHO_POWER,
                   help="the 1/w term weighs frequency w by w^-(this): higher leans on the low frequencies")
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
    listed_photos()  # every method's natural magnitude comes from these photos: a broken list is named now
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
        rows, images, rates, centre_rates, figures, first_shown = experiment(net, args, classes, reference, judge,
                                                                        result_set)
        path = result_set.write_results({
            **cli.header(args, net, result_set.final.name), "fourier_weight": args.fourier_weight,
            "rho_power": args.rho_power,
            "fourier_size": args.fourier_size, "l2": args.l2, "steps": args.steps, "default_method": DEFAULT,
            "compared_method": LAW,
            "crops": {"count": args.crops, "canvas": args.canvas, "resolution": CROPS.side(net, args.crop_resolution),
                      "start": CROPS.start, "end": CROPS.end, "noise": CROPS.noise},
            "reference": shown(args.reference), "reference_slope": spectral_slope(reference, args.fourier_size),
            "judge": judge.name,
            "recognition_rate": rates, "centre_recognition_rate": centre_rates, "classes": rows,
            "figures": [result_set.relative(f) for f in figures], "figure_classes": first_shown})
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
