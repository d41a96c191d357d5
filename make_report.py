"""The main job: run the four questions where their results are missing, then write the PDF report
report/Ex2_<Names>.pdf (solutions, figures, tables, and the theoretical answers).

    python make_report.py --names "Ada Lovelace" ["Alan Turing"]      # names are remembered afterwards
    python make_report.py --rerun                                     # recompute every question
"""
import argparse
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from cnnvis import cli
from cnnvis import pdf
from alexnet import ROOT, WEIGHTS_DIR, alexnet_weights_in
from cnnvis.errors import UserError
from cnnvis.files import read_json
from cnnvis.names import resolve_names, submission_name

QUESTIONS = {"q1": "q1_visualize.py", "q2": "q2_fourier.py", "q3": "q3_fool.py", "q4": "q4_heatmap.py"}
NETWORK_NAMES = {"alexnet": "AlexNet (BVLC Caffe weights)", "efficientnet-lite0": "EfficientNet-Lite0"}


# ---------------------------------------------------------------------------------------------
# Making the results
# ---------------------------------------------------------------------------------------------
def expected_network(args):
    if args.net != "auto":
        return args.net
    return "alexnet" if args.weights or alexnet_weights_in(WEIGHTS_DIR) else "efficientnet-lite0"


def ensure_results(args):
    """Run each question whose results are missing, stale (another network) or asked for again (--rerun)."""
    network = expected_network(args)
    for i, (question, script) in enumerate(QUESTIONS.items(), 1):
        path = args.out / "results" / f"{question}.json"
        if path.is_file() and not args.rerun and read_json(path)["network"] == network:
            print(f"[{i}/4] {question}: using {path}")
            continue
        command = [sys.executable, script, "--seed", str(args.seed), "--out", str(args.out), "--net", args.net]
        command += ["--weights", str(args.weights)] if args.weights else []
        print(f"[{i}/4] {question}: running {' '.join(command[1:])}", flush=True)
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT)
        print(f"[{i}/4] {question}: {'done' if done.returncode == 0 else 'FAILED'} in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    missing = [q for q in QUESTIONS if not (args.out / "results" / f"{q}.json").is_file()]
    if missing:
        how = "; ".join(f"python {QUESTIONS[q]} --out {args.out}" for q in missing)
        raise UserError(f"results of {', '.join(missing)} are missing and could not be made; run {how} "
                        f"and read its error.")
    results = {q: read_json(args.out / "results" / f"{q}.json") for q in QUESTIONS}
    networks = {r["network"] for r in results.values()}
    if len(networks) > 1:
        raise UserError(f"the results come from different networks ({', '.join(sorted(networks))}); "
                        f"run python make_report.py --rerun to make them all with one.")
    return results


# ---------------------------------------------------------------------------------------------
# The report, section by section
# ---------------------------------------------------------------------------------------------
def fmt(value, digits=3):
    return f"{value:.{digits}f}"


def title_page(names, results):
    network = results["q1"]["network"]
    if network == "alexnet":
        statement = ("All results in this report were produced by <b>AlexNet</b> with the BVLC Caffe weights, the "
                     "network the assignment specifies, built layer for layer in TensorFlow (alexnet.py).")
    else:
        statement = (
            "All results in this report were produced by <b>EfficientNet-Lite0</b>, a genuinely ImageNet-pretrained "
            "network bundled with the code, <b>not by AlexNet</b>: the AlexNet weights (bvlc_alexnet.npy, 233 MB) were "
            "not present in weights/ on the machine that made this report. The code supports AlexNet fully "
            "(alexnet.py builds it from the Caffe weights; its tests check it against an independent NumPy "
            "implementation). To regenerate every result and this report with AlexNet: "
            "<font name='Mono'>python alexnet.py --fetch</font> (or copy the weights into weights/), then "
            "<font name='Mono'>python make_report.py --rerun</font>.")
    return [pdf.space(5), pdf.text("Introduction to Neural Networks 67103", "subtitle"),
            pdf.text("Assignment 2: Visualizing and Fooling a Pretrained CNN", "title"),
            pdf.text(" and ".join(names), "subtitle"), pdf.text(date.today().strftime("%d %B %Y"), "subtitle"),
            pdf.space(2),
            pdf.table(["Network that produced the results"], [[statement]], widths=[pdf.TEXT_WIDTH]),
            pdf.space(0.5),
            pdf.text("Contents: 1. The code. 2. Visualizing neurons (Q1). 3. Natural image statistics (Q2). "
                     "4. Fooling the network (Q3). 5. Occlusion heat maps (Q4). 6. Theoretical questions.", "small"),
            pdf.page_break()]


def code_section(results):
    files = [
        ("alexnet.py", "The network interface used by every script: <i>load()</i> builds AlexNet from the BVLC "
                       "Caffe weights (227×227 BGR input minus the Caffe mean; conv1–conv5 with LRN and grouped "
                       "conv2/4/5; fc6–fc8; softmax) when they are in weights/, else the bundled EfficientNet-Lite0. "
                       "Weights are shape-checked; pickled weights are read with a restricted unpickler. "
                       "<font name='Mono'>python alexnet.py --fetch</font> downloads and verifies the AlexNet weights."),
        ("q1_visualize.py", "Q1: visualizes neurons of any conv or fc layer."),
        ("q2_fourier.py", "Q2: the 1/w Fourier-spectrum term (tf.signal.fft2d) and the spectrum measurement."),
        ("q3_fool.py", "Q3: the minimal targeted change; the result is judged after saving and re-reading."),
        ("q4_heatmap.py", "Q4: occlusion heat maps."),
        ("cnnvis/", "What the scripts share, one module per idea: the bundled network (efficientnet_lite), the "
                    "optimization loop with its regularizers and neuron objectives (optimize), Q3's fooling "
                    "steps (fooling), batched occlusion (occlusion), image files and figures (imaging), the "
                    "common flags and error messages (cli, errors), atomic file writing (files), the PDF "
                    "building blocks (pdf) and the submission's names (names)."),
        ("make_report.py, make_submission.py", "This report (runs missing questions first) and the "
                                               "submission ZIP (checks the submission rules)."),
    ]
    runs = [f"python {script} [--net auto|alexnet|efficientnet-lite0] [--seed N] [--out DIR] …"
            for script in QUESTIONS.values()]
    return [pdf.heading("1. The code"),
            pdf.text("Everything is written in TensorFlow 2 / Keras. Each question is one script that reads top to "
                     "bottom like the method it implements, imports the shared pieces below, and writes its figures "
                     "(vector PDF/SVG), images and a JSON file of results into report/. Every script takes the same "
                     "flags (<font name='Mono'>--net</font>, <font name='Mono'>--weights</font>, "
                     "<font name='Mono'>--seed</font>, <font name='Mono'>--out</font>; "
                     "<font name='Mono'>--help</font> lists the rest with their defaults); with no flags it runs the "
                     "experiment reported here. The default seed is 0 and gives the same numbers on every run."),
            pdf.table(["file", "what it does"], files, widths=[4.2 * pdf.cm, pdf.TEXT_WIDTH - 4.2 * pdf.cm]),
            pdf.text("Running it:", "body"),
            *[pdf.text(r, "code") for r in runs],
            pdf.text("python make_report.py --names \"First Last\" [--rerun]   # all four, then this PDF", "code"),
            pdf.text("python make_submission.py   # the ZIP: code, the images used, and this PDF", "code")]


def q1_section(results, out):
    q1 = results["q1"]
    units = q1["units"]
    maximized = [u for u in units if u["variant"] in ("L2", "Yosinski")]
    pairs = {}
    for u in maximized:
        pairs.setdefault(u["label"], {})[u["variant"]] = u["achieved"]
    targets = [u for u in units if u["variant"] == "target"]
    reg = next(u["regularizers"] for u in units if u["variant"] == "Yosinski")
    worst = max(abs(u["achieved"] - u["target"]) / max(abs(u["target"]), 1) for u in targets)
    lower = sum(p["Yosinski"] < p["L2"] for p in pairs.values())
    story = [
        pdf.heading("2. Visualizing neurons by input optimization (Q1)"),
        pdf.text("<b>Method.</b> A neuron is one channel of a conv layer at one position of its feature map (by "
                 "default the centre; the channel's spatial mean is also offered) or one unit of an fc layer. "
                 "Starting from grey plus weak noise, the pixels x (RGB, 0–255) are optimized with Adam so that "
                 "the neuron's activation a(x) reaches a desired <i>target activation</i> t, or, without a "
                 "target, becomes as large as possible, while a regularizer keeps the image norm small "
                 "(Simonyan et al. 2014):"),
        pdf.formula(r"\min_x\ \left(\frac{a(x)-t}{0.1\,\max(|t|,1)}\right)^2 + \lambda\,\|\tilde{x}\|^2"
                    r"\qquad\mathrm{or}\qquad \min_x\ -a(x) + \lambda\,\|\tilde{x}\|^2,"),
        pdf.text("where x̃ = (x − 127.5)/127.5 is the image centred on grey and ‖x̃‖² its mean square (λ = 1). "
                 "The Yosinski et al. (2015) variant adds, after every step: L2 decay (x̃ ← (1−θ)x̃), a Gaussian "
                 "blur every few steps, and optionally zeroing pixels of small norm or small contribution; before "
                 "every step the image is shifted by a random jitter. Here: "
                 + ", ".join(f"{k} = {v}" for k, v in reg.items()) + ". "
                 "All neurons of an experiment are optimized together, one image per neuron in one batch, for "
                 f"{units[0]['steps']} steps; the step size decays from 4 grey levels along a cosine. The "
                 "network sees the image rounded to 8 bits (the gradient passes the rounding unchanged, "
                 "straight-through), so the activations reported, measured on the saved 8-bit files, are the ones "
                 "that were optimized."),
    ]
    for i, f in enumerate(q1["figures"], 1):
        story.append(pdf.figure(out / Path(f).with_suffix(".svg"),
                                f"Figure {i}. Q1 ({NETWORK_NAMES[q1['network']]}): units of each layer, maximized "
                                f"with the L2 prior only and with the Yosinski regularizers. Conv neurons are "
                                f"cropped to their receptive field (at least 48 pixels a side); each image is "
                                f"contrast-stretched for display.", max_height=19 * pdf.cm))
    story += [
        pdf.text("<b>Target activations.</b> Driving neurons to set values instead of maximizing them "
                 f"(L2 prior; the largest relative miss is {100 * worst:.1f}%):"),
        pdf.table(["neuron", "target", "achieved (8-bit image)"],
                  [[u["label"], f"{u['target']:g}", fmt(u["achieved"])] for u in targets]),
        pdf.text("<b>Maximized activations</b>, on the same units with both regularizers:"),
        pdf.table(["neuron", "L2 only", "Yosinski"],
                  [[label, fmt(v["L2"], 2), fmt(v["Yosinski"], 2)] for label, v in pairs.items()]),
        pdf.text(
            "<b>Discussion.</b> With the image-norm prior alone, the optimizer finds high-frequency patterns that "
            "excite the neuron enormously but look like coloured noise: nothing in the objective prefers natural "
            "structure, and a deep network responds to many unnatural inputs. The Yosinski operations remove "
            "exactly these patterns (blur and decay damp high frequencies, jitter demands robustness to small "
            "shifts), and recognizable structure appears: oriented edges and colour blobs in the first layers, "
            "textures and repeated parts in the middle, and object-like fragments for the class units. The price "
            f"is a lower activation ({lower} of {len(pairs)} units reach less than with L2 alone): the regularized "
            "images are not the strongest stimuli but more typical ones. For the first layers, whose receptive "
            "fields are smaller than the 8-pixel jitter, the pattern cannot stay aligned with the neuron and its "
            "activation stays low. Receptive fields grow with depth, "
            "from a few pixels for the first layer to the whole image for the deepest layers. Target activations are "
            "reached closely because the target term is weighed against the prior at a 10% scale of the target.")]
    return story


def q2_section(results, out):
    q2 = results["q2"]
    rows = q2["classes"]
    by = {(r["class_index"], r["regularizer"]): r for r in rows}
    classes = list(dict.fromkeys(r["class_index"] for r in rows))
    mean = {reg: sum(r["spectral_slope"] for r in rows if r["regularizer"] == reg) /
            sum(r["regularizer"] == reg for r in rows) for reg in ("l2", "fourier")}
    return [
        pdf.heading("3. Natural image statistics: a 1/w prior (Q2)"),
        pdf.text("<b>Method.</b> Q1's optimization is kept (target activation t = "
                 f"{rows[0]['target_logit']:g} for a class logit of the last pre-softmax layer, image-norm prior "
                 "λ = 1) and a term from natural-image statistics is added: the Fourier magnitude of natural images "
                 "falls off as 1/w. For efficiency the term is defined on a reduced-size copy x<sub>s</sub> of the "
                 f"image ({q2['fourier_size']}×{q2['fourier_size']}, antialiased resize, mean removed). With "
                 "F<sub>c</sub> = FFT2(x<sub>s,c</sub>) of each colour channel c (tf.signal.fft2d; channels are "
                 "never mixed) and w the radial frequency in cycles per image,"),
        pdf.formula(r"R(x) = \beta\ \frac{1}{3}\sum_{c}\ \sum_{w \neq 0} \rho(w)\,\left(\log|F_c(w)| + \log w - "
                    r"\mu_c\right)^2,"),
        pdf.formula(r"\mu_c = \sum_{w\neq 0}\rho(w)\,(\log|F_c(w)| + \log w),\qquad "
                    r"\rho(w) \propto w^{-3},\quad \sum_{w \neq 0} \rho(w) = 1"),
        pdf.text(f"with β = {q2['fourier_weight']:g}: R is zero exactly when every channel's spectrum is c/w, "
                 "whatever its overall contrast. The weights ρ lean on low frequencies where an image's layout is "
                 "decided (with equal weight per octave, ρ ∝ w<super>−2</super>, the fine detail the network "
                 "gradient keeps adding stayed visible and the slope stalled near −0.9). The result is measured "
                 "independently (NumPy): radially averaged Fourier magnitude of the box-downsampled, mean-removed "
                 "8-bit image and the slope of its log-log fit over radii 2–31."),
        pdf.figure(out / "figures" / "q2_classes.svg",
                   f"Figure {len(results['q1']['figures']) + 1}. Q2 ({NETWORK_NAMES[q2['network']]}): class "
                   "visualizations with the L2 prior only (top) and with the 1/w prior (bottom).",
                   max_height=9 * pdf.cm),
        pdf.figure(out / "figures" / "q2_spectra.svg",
                   f"Figure {len(results['q1']['figures']) + 2}. Radially averaged Fourier magnitude of every "
                   "result, of a natural photo, and the 1/w line, on log-log axes; fitted slopes in the legend.",
                   max_height=8 * pdf.cm),
        pdf.table(["class", "L2: logit", "L2: p", "L2: slope", "1/w: logit", "1/w: p", "1/w: slope"],
                  [[f"{by[(c, 'l2')]['class_name']} ({c})", fmt(by[(c, 'l2')]["logit"], 2),
                    fmt(by[(c, 'l2')]["prob"]), fmt(by[(c, 'l2')]["spectral_slope"], 2),
                    fmt(by[(c, 'fourier')]["logit"], 2), fmt(by[(c, 'fourier')]["prob"]),
                    fmt(by[(c, 'fourier')]["spectral_slope"], 2)] for c in classes]),
        pdf.text(
            f"<b>Discussion.</b> With the L2 prior alone the spectra are flat (mean slope {mean['l2']:+.2f}, like "
            f"white noise): the class is reached through fine-grained texture. With the 1/w prior the mean slope is "
            f"{mean['fourier']:+.2f}, close to the photo's {q2['reference_slope']:+.2f}, while each class logit still "
            "reaches its target and the softmax is just as sure. The images now carry their energy in large "
            "regions and smooth gradients, like photographs, with the class evidence in the finer layer on top; "
            "they show that matching one global statistic of natural images is not enough to make an image look "
            "natural, but it removes the noise-like look of unregularized visualizations.")]


def unsure_vs_sure(cases):
    """A sentence comparing the case the network was least sure of with the one it was surest of."""
    low, high = min(cases, key=lambda c: c["original_prob"]), max(cases, key=lambda c: c["original_prob"])
    if low is high:
        return ""
    return (f"The unsure case (p = {fmt(low['original_prob'], 2)}) needed {low['steps']} steps and L∞ "
            f"{low['linf']:.0f}, the confident one (p = {fmt(high['original_prob'], 2)}) {high['steps']} steps and "
            f"L∞ {high['linf']:.0f}: the starting probability alone does not set the size of the change; how far "
            f"the chosen target class lies from the image matters as much.")


def q3_section(results, out):
    q3 = results["q3"]
    cases = q3["cases"]
    n = len(results["q1"]["figures"]) + 3
    return [
        pdf.heading("4. Fooling the network (Q3)"),
        pdf.text("<b>Method.</b> Starting from a photo x<sub>0</sub> at the network's input resolution, a few "
                 "gradient steps on the pixels raise the probability of a chosen, completely different class "
                 "(minimal change, maximal influence). Step k moves every pixel by α grey levels against the sign "
                 "of the gradient of the loss −log p<sub>target</sub> (for a given largest change per pixel, the "
                 "sign gives the largest first-order gain), rounds to 8 bits, and keeps the change inside an L∞ "
                 "budget that grows only while the network is not yet fooled:"),
        pdf.formula(r"x_k = \Pi_{\|x - x_0\|_\infty \leq \varepsilon_k}\ \mathrm{round}\left(x_{k-1} - "
                    r"\alpha\,\mathrm{sign}\,\nabla_x(-\log p_{\mathrm{target}}(x_{k-1}))\right),\qquad "
                    r"\varepsilon_k = \alpha\,\lceil g\,k \rceil"),
        pdf.text(f"with α = {q3['step']:g} and g = {q3['growth']:.2f} (g = 1 is the plain iterative sign method, "
                 "whose budget grows with every step). The loop stops at the first step after which the 8-bit "
                 f"image has the target as its top class with probability above {q3['min_prob']:g}. The fooled "
                 "image is then written losslessly, read back from disk and classified again: every number below "
                 "is measured on that file. The change is reported in 0–255 pixel units (L2 over all pixels and "
                 "channels, L∞) and as PSNR. One case starts from a confident classification, one from an unsure "
                 "one."),
        pdf.figure(out / Path(q3["figures"][0]).with_suffix(".svg"),
                   f"Figure {n}. Q3 ({NETWORK_NAMES[q3['network']]}): original, fooled image (as re-read from "
                   "disk), the difference amplified, and the top-5 probabilities before and after (target in red).",
                   max_height=10 * pdf.cm),
        pdf.table(["image", "original class (p)", "target", "p(target) before", "p(target) after", "steps",
                   "L2", "L∞", "PSNR (dB)"],
                  [[Path(c["image"]).name, f"{c['original_class']} ({fmt(c['original_prob'])})", c["target_class"],
                    f"{c['target_prob_before']:.1e}", fmt(c["final_prob"], 4), c["steps"], fmt(c["l2"], 0),
                    fmt(c["linf"], 0), fmt(c["psnr"], 1)] for c in cases]),
        pdf.text(
            "<b>Discussion.</b> " + " ".join(
                f"{Path(c['image']).name}, classified as {c['original_class']} with p = {fmt(c['original_prob'], 2)}, "
                f"became {c['target_class']} with p = {fmt(c['final_prob'], 3)} after {c['steps']} steps, with no "
                f"pixel changed by more than {c['linf']:.0f} grey levels (PSNR {c['psnr']:.1f} dB)." for c in cases)
            + " The changes are invisible at normal viewing size: the network's decision rests on directions in "
              "pixel space that have almost nothing to do with what a person sees, and in a high-dimensional input "
              "many small coordinated changes add up to a large change of the logits. " + unsure_vs_sure(cases) +
            " Rounding to 8 bits is part of the method: stopping on the unrounded image would "
              "sometimes leave a file that is no longer fooled. Letting the budget grow more slowly than the "
              "steps (g &lt; 1) reaches the same confidence with a smaller largest change than plain iterative "
              "sign steps: once a pixel has used its budget, the others keep working.")]


def unsure_maps(maps):
    """A sentence on the images whose class the network was unsure of, if any."""
    unsure = sorted({Path(m["image"]).name for m in maps if m["base_prob"] < 0.5})
    if not unsure:
        return ""
    return (f"Where the class starts below p = 0.5 ({', '.join(unsure)}), it shares the probability with similar "
            "classes, and an occlusion often only moves probability between them, so the map is flatter. ")


def q4_section(results, out):
    q4 = results["q4"]
    maps = q4["maps"]
    n = len(results["q1"]["figures"]) + 4
    return [
        pdf.heading("5. Classification heat map by occlusion (Q4)"),
        pdf.text("<b>Method.</b> For an image whose top class is known and visually obvious, an occlusion block "
                 "of B×B pixels is placed at every position of a grid with stride S over the network's input image, "
                 f"the pixels under it are set to zero — {maps[0]['fill_meaning']} — and the probability of the "
                 "class is recorded. Cell (i, j) of the heat map is that probability with the block's top-left "
                 "corner at (i·S, j·S); a side has ⌊(size − B)/S⌋ + 1 cells. The occluded copies are built inside "
                 "the TensorFlow graph and evaluated in batches of 64, so memory stays bounded."),
        pdf.figure(out / Path(q4["figures"][0]).with_suffix(".svg"),
                   f"Figure {n}. Q4 ({NETWORK_NAMES[q4['network']]}): each photo, its heat maps for two block "
                   "sizes, and an overlay in which every cell is drawn at the centre of its block. Dark means that "
                   "hiding this region lowers the class probability.", max_height=15 * pdf.cm),
        pdf.table(["image", "class", "p (unoccluded)", "block", "stride", "cells", "lowest p", "block at (row, col)"],
                  [[Path(m["image"]).name, m["class_name"], fmt(m["base_prob"]), m["block"], m["stride"],
                    f"{m['cells']}×{m['cells']}",
                    fmt(m["min_prob"]), f"({m['min_at'][0]}, {m['min_at'][1]})"] for m in maps]),
        pdf.text(
            "<b>Discussion.</b> The maps show where the evidence lies. For each image the probability falls most "
            "when the block covers the object itself (" + "; ".join(
                f"{Path(m['image']).name}: from {fmt(m['base_prob'], 2)} to {fmt(m['min_prob'], 2)} with a "
                f"{m['block']}-pixel block" for m in maps if m["block"] == max(x["block"] for x in maps)) +
            "), while blocks over the background change it little: the network classifies from the object "
            "rather than its context. " + unsure_maps(maps) + "Larger blocks give stronger, smoother drops but blur the location; smaller blocks localize "
            "better but hide too little of a large object to matter. Where a block raises the probability, it "
            "hid something that supported a competing class.")]


def theory_section():
    f = pdf.formula
    return [
        pdf.page_break(),
        pdf.heading("6. Theoretical questions"),
        pdf.heading("1.1 Receptive field (support) of a neuron in the last layer", 2),
        pdf.text("Convolving filters of supports k<sub>1</sub> and k<sub>2</sub> gives support "
                 "k<sub>1</sub> + k<sub>2</sub> − 1, since (I∗f<sub>1</sub>)∗f<sub>2</sub> = I∗(f<sub>1</sub>∗f<sub>2"
                 "</sub>). A stride s in a layer is the same as inserting s − 1 zeros between the weights of every "
                 "later filter, so a later k-tap filter spans (k − 1)s + 1 input pixels. Hence, for layers "
                 "l = 1…L with kernel k<sub>l</sub> and stride s<sub>l</sub>:"),
        f(r"r_L = 1 + \sum_{l=1}^{L} (k_l - 1)\prod_{i=1}^{l-1} s_i"),
        pdf.table(["network", "computation", "receptive field"], [
            ["(i) conv1 7×7", "1 + 6", "<b>7×7</b>"],
            ["(ii) three 3×3 convs", "1 + 2 + 2 + 2", "<b>7×7</b>"],
            ["(iii) 5×5, then 3×3", "1 + 4 + 2", "<b>7×7</b>"],
            ["(iv) 5×5 stride 2, then 3×3", "1 + 4 + 2·2", "<b>9×9</b>"]],
            widths=[5 * pdf.cm, 5 * pdf.cm, 4 * pdf.cm]),
        pdf.heading("1.2 Filter weights and multiplications, cases (i) and (iii)", 2),
        pdf.text("Assumptions: stride 1, 'same' padding so every layer has N×N pixels, C<sub>in</sub> input "
                 "channels, C channels in every later layer, biases not counted (they add one weight per output "
                 "channel and no multiplication). One multiplication per weight per output pixel."),
        pdf.table(["", "(i) one 7×7 layer", "(iii) 5×5 then 3×3"], [
            ["filter weights", "49·C<sub>in</sub>·C", "25·C<sub>in</sub>·C + 9·C·C"],
            ["… single channel (C<sub>in</sub> = C = 1)", "49", "25 + 9 = 34"],
            ["multiplications per output pixel, intermediate layer computed once for the image and reused",
             "49·C<sub>in</sub>·C (49)", "25·C<sub>in</sub>·C + 9·C² (34)"],
            ["multiplications for one output pixel computed alone (its 3×3 intermediate values recomputed)",
             "49·C<sub>in</sub>·C (49)", "9·25·C<sub>in</sub>·C + 9·C² (234)"],
            ["whole N×N image", "49·N²·C<sub>in</sub>·C", "(25·C<sub>in</sub>·C + 9·C²)·N²"]],
            widths=[7.6 * pdf.cm, 4.2 * pdf.cm, 5.2 * pdf.cm]),
        pdf.text("So for the same 7×7 support the two-layer network needs about 31% fewer weights and "
                 "multiplications (34 vs 49 with one channel), and with a nonlinearity between the layers it is "
                 "also more expressive per weight. Without a nonlinearity it can express only those 7×7 filters "
                 "that factor as a 5×5 filter convolved with a 3×3 one."),
        pdf.heading("1.3 How the support grows with the stride", 2),
        pdf.text("From the formula above, each layer adds (k<sub>l</sub> − 1) times the product of all earlier "
                 "strides: a stride multiplies the growth contributed by every later layer. Without strides the "
                 "support grows linearly with depth, r<sub>L</sub> = 1 + L(k − 1); with stride s in every layer it "
                 "grows geometrically:"),
        f(r"r_L = 1 + (k-1)\,\frac{s^L - 1}{s - 1},\qquad \mathrm{e.g.}\ k=3,\ s=2:\ r_L = 2^{L+1} - 1"),
        pdf.text("In (iv) the stride 2 of the first layer doubles the contribution of the 3×3 layer from 2 to "
                 "4 pixels, giving 9 instead of 7. (The stride of the last layer itself does not change the support "
                 "of one neuron; it sets the spacing between neighbouring neurons' supports.)"),
        pdf.heading("2. Any shallow network as a deep network with O(n) neurons, for any signs of α<sub>j</sub>", 2),
        pdf.text("Let the shallow ReLU network be"),
        f(r"f(x) = \sum_{j=1}^{n} \alpha_j\,\sigma(w_j^\top x + b_j),\qquad \sigma(z) = \max(z, 0),\quad "
          r"x \in \mathbb{R}^d."),
        pdf.text("The construction from class carries a running sum of the terms α<sub>j</sub>h<sub>j</sub> from layer "
                 "to layer; a ReLU passes it on unchanged only while it is non-negative, which α<sub>j</sub> &gt; 0 "
                 "guaranteed. Without that assumption, split the sum by sign into two accumulators P and N that can "
                 "never be negative, and carry the input as its positive and negative parts, x = σ(x) − σ(−x). "
                 "With α<super>+</super> = max(α, 0) and α<super>−</super> = max(−α, 0), hidden layer j = 1…n "
                 "holds 2d + 3 neurons:"),
        f(r"x^{+} = \sigma(x^{+}),\quad x^{-} = \sigma(x^{-})\quad(2d\ \mathrm{neurons;\ in\ layer\ 1:}\ "
          r"x^{+} = \sigma(x),\ x^{-} = \sigma(-x)),"),
        f(r"h_j = \sigma\left(w_j^\top (x^{+} - x^{-}) + b_j\right),"),
        f(r"P_j = \sigma\left(P_{j-1} + \alpha_{j-1}^{+}\,h_{j-1}\right),\qquad "
          r"N_j = \sigma\left(N_{j-1} + \alpha_{j-1}^{-}\,h_{j-1}\right),\qquad P_1 = N_1 = 0."),
        pdf.text("Every argument of σ in the carried neurons is a sum of non-negative terms, so σ acts as the "
                 "identity on them and P<sub>j</sub>, N<sub>j</sub> hold the positive and negative parts of the "
                 "partial sum exactly. A final linear output neuron gives"),
        f(r"f(x) = \left(P_n + \alpha_n^{+} h_n\right) - \left(N_n + \alpha_n^{-} h_n\right) "
          r"= \sum_{j=1}^{n} (\alpha_j^{+} - \alpha_j^{-})\,h_j = \sum_{j=1}^{n}\alpha_j\,h_j."),
        pdf.text("The deep network has n layers of 2d + 3 neurons plus the output, (2d + 3)n + 1 = O(n) neurons "
                 "for a fixed input dimension d (O(nd) in general), with no assumption on the signs of "
                 "α<sub>j</sub> and no bound on the input. (A constant offset B ≥ Σ|α<sub>j</sub>|·max h<sub>j</sub> "
                 "would also keep a single accumulator positive, but only on a bounded input domain; the "
                 "two-accumulator construction needs no such bound.)"),
        pdf.heading("3. Training complexity: a fixed number of operations vs. NP-completeness", 2),
        pdf.text("No contradiction. The NP-completeness result (e.g. Blum and Rivest: deciding whether a small "
                 "network has weights that fit a training set exactly) is about finding the <i>global</i> "
                 "optimum, or deciding that one with zero error exists. Gradient descent stops wherever the "
                 "gradient vanishes: a local minimum, a saddle point or a plateau. Reaching such a point in a fixed "
                 "number of operations does not solve the decision problem, because the point need not be a "
                 "global minimum and gradient descent gives no certificate that it is; from a bad initialization it "
                 "can stop at a poor point while a perfect fit exists. A contradiction (and P = NP) would follow "
                 "only if the fixed, polynomial number of operations were guaranteed to reach a global minimum "
                 "from every initialization on every instance, or if trying polynomially many initializations "
                 "sufficed; neither is implied. Fast convergence to stationary points and hardness of global "
                 "optimization coexist."),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--names", nargs="+", metavar="NAME", help='one or two student names, e.g. "Ada Lovelace" '
                                                              '(remembered in report/names.json)')
    p.add_argument("--rerun", action="store_true", help="recompute every question, not only missing results")
    p.add_argument("--net", choices=("auto", "alexnet", "efficientnet-lite0"), default="auto",
                   help="network for questions that are (re)run")
    p.add_argument("--weights", type=Path, help="AlexNet weights (bvlc_alexnet.npy or a per-layer folder)")
    p.add_argument("--seed", type=int, default=0, help="seed passed to every question")
    p.add_argument("--out", type=Path, default=ROOT / "report", help="where results are and the PDF goes")
    args = p.parse_args()
    names = resolve_names(args.names)
    start = time.perf_counter()
    results = ensure_results(args)
    story = (title_page(names, results) + code_section(results) + q1_section(results, args.out)
             + q2_section(results, args.out) + q3_section(results, args.out) + q4_section(results, args.out)
             + theory_section())
    title = submission_name(names)
    path = pdf.build(args.out / f"{title}.pdf", story, title="Assignment 2: Visualizing and Fooling a CNN",
                     author=", ".join(names), footer=f"{title} — {' and '.join(names)} — results: "
                                                     f"{NETWORK_NAMES[results['q1']['network']]}")
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    cli.run(main)
