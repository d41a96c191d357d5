"""The main job: run the four questions where their results are missing, then write the PDF report
report/Ex2_<Names>.pdf (solutions, figures, tables, and the theoretical answers).

    python make_report.py --names "Ada Lovelace" ["Alan Turing"]      # names are remembered afterwards
    python make_report.py --rerun                                     # recompute every question
"""
from cnnvis import interrupts  # first: Ctrl-C and kill work during the heavy imports below

import argparse
import hashlib
import runpy
import shlex
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from cnnvis import cli
from cnnvis import pdf
from alexnet import ROOT, WEIGHTS_DIR, alexnet_label, alexnet_weights_in
from cnnvis.errors import UserError
from cnnvis.files import read_json
from cnnvis.results import RESULTS_FILE, set_folder, set_name, sources_line
from cnnvis.names import remember, resolve_names, submission_name

QUESTIONS = {"q1": "q1_visualize.py", "q2": "q2_fourier.py", "q3": "q3_fool.py", "q4": "q4_heatmap.py"}
# Keys the report reads that older versions of the scripts did not write: a set without them is made again.
NEEDED = {"q1": ("units", "class_method"), "q2": ("classes", "recognition_rate", "compared_method", "crops"),
          "q3": ("cases", "restarts"),
          "q4": ("maps", "faithfulness")}


def network_name(results):
    """How the report names the network behind one question's results: AlexNet is called AlexNet with the
    BVLC weights only when its weights were verified as the published file."""
    if results["network"] != "alexnet":
        return "EfficientNet-Lite0"
    return alexnet_label(results.get("network_weights", ""))


BLIND_NAMING = ROOT / "bench" / "blind_naming.json"


def blind_naming(results, rows, key):
    """What viewers who were not told the classes said of this run's images (bench/blind_naming.json, matched by
    each image file's SHA-256, so other images are never credited): {rows' `key` value: {"top1": named at the
    first guess, "top3": among three, "images": how many were shown}}; a method none of whose images was
    shown is absent."""
    record = read_json(BLIND_NAMING).get("images", {}) if BLIND_NAMING.is_file() else {}
    named = {}
    for row in rows:
        path = results["folder"] / row["image_file"]
        answer = record.get(hashlib.sha256(path.read_bytes()).hexdigest()) if path.is_file() else None
        if answer:
            counts = named.setdefault(row[key], {"top1": 0, "top3": 0, "images": 0})
            counts["top1"] += answer["top1"]
            counts["top3"] += answer["top3"]
            counts["images"] += 1
    return named


# ---------------------------------------------------------------------------------------------
# Making the results
# ---------------------------------------------------------------------------------------------
def expected_network(args):
    if args.net != "auto":
        return args.net
    return "alexnet" if args.weights or alexnet_weights_in(WEIGHTS_DIR) else "efficientnet-lite0"


def ensure_results(args):
    """Run each question whose results are missing or asked for again (--rerun); then read them all. Results
    live per network (cnnvis.results), so another network's results are never read. A question that fails
    stops the report: no PDF is built from results this run could not make."""
    network = expected_network(args)
    name = {q: set_name(q, {"seed": args.seed} if args.seed else {}) for q in QUESTIONS}
    failed = []
    for i, (question, script) in enumerate(QUESTIONS.items(), 1):
        path = set_folder(args.out, network, name[question]) / RESULTS_FILE
        if path.is_file() and not args.rerun and current(path, question):
            print(f"[{i}/4] {question}: using {path}")
            continue
        command = [script, "--seed", str(args.seed), "--out", str(args.out), "--net", args.net]
        command += ["--weights", str(args.weights)] if args.weights else []
        print(f"[{i}/4] {question}: running {shlex.join(['python', *command])}", flush=True)
        start = time.perf_counter()
        status = run_script(command)
        print(f"[{i}/4] {question}: {'done' if status == 0 else 'FAILED'} in "
              f"{time.perf_counter() - start:.0f} s", flush=True)
        if status != 0:
            failed.append(question)
    if failed:
        raise UserError(f"{', '.join(failed)} could not be made on {network} (the error is printed above), so no "
                        f"report was written; fix it and run python make_report.py again.")
    results = {q: read_results(args, network, q, name[q]) for q in QUESTIONS}
    weights = {r.get("network_weights") for r in results.values()}
    if len(weights) > 1:
        raise UserError(f"the results of {network} were made with different weights ({'; '.join(map(str, weights))});"
                        f" run python make_report.py --rerun to make them all with the weights now in place.")
    return results


def run_script(command):
    """Run a question script exactly as `python script args…` would (its own checks, messages and exit
    status), but in this process: TensorFlow, the network and the judge are then loaded once for all four
    questions instead of once each. An interrupted question interrupts the report."""
    saved = sys.argv
    sys.argv = command
    try:
        runpy.run_path(str(ROOT / command[0]), run_name="__main__")
        return 0
    except SystemExit as e:
        if e.code in (interrupts.INTERRUPTED, interrupts.TERMINATED):
            raise
        return e.code or 0
    finally:
        sys.argv = saved


def current(path, question):
    """Whether a results file has everything the report reads (older versions of the scripts wrote less)."""
    try:
        return all(key in read_json(path) for key in NEEDED[question])
    except (OSError, ValueError):
        return True  # read_results names the broken file and how to remake it


def remake_command(args, network, question):
    return shlex.join(["python", QUESTIONS[question], "--out", str(args.out), "--net", network]
                      + (["--seed", str(args.seed)] if args.seed else []))


def read_results(args, network, question, name):
    """One question's results.json with its folder, checked: readable, made by `network`, figures present."""
    folder = set_folder(args.out, network, name)
    remake = remake_command(args, network, question)
    try:
        results = read_json(folder / RESULTS_FILE)
        made_by = results["network"]
        figures = [folder / f for f in results["figures"]]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"{folder / RESULTS_FILE} is unreadable or incomplete ({type(e).__name__}); remake it with "
                        f"{remake} (or python make_report.py --rerun).") from None
    if made_by != network:
        raise UserError(f"{folder / RESULTS_FILE} was made by {made_by}, not {network}; remake it with {remake}.")
    for figure in figures:
        if not figure.with_suffix(".svg").is_file():
            raise UserError(f"the figure {figure.with_suffix('.svg')} is missing; remake it with {remake}.")
    return {**results, "folder": folder, "remake": remake}


def checked_section(section, results, question):
    """One question's part of the report; a results file that lacks something the section reads (a key, a
    row) is named with the command that remakes it, instead of a traceback."""
    try:
        return section(results)
    except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError) as e:
        raise UserError(f"{results[question]['folder'] / RESULTS_FILE} lacks what the report reads "
                        f"({type(e).__name__}: {e}); remake it with {results[question]['remake']} "
                        f"(or python make_report.py --rerun).") from None


# ---------------------------------------------------------------------------------------------
# The report, section by section
# ---------------------------------------------------------------------------------------------
def fmt(value, digits=3):
    return f"{value:.{digits}f}"


def title_page(names, results):
    network = results["q1"]["network"]
    weights = results["q1"].get("network_weights", "")
    if network == "alexnet" and "NOT" in weights:
        statement = ("<b>Warning: these results are not AlexNet's.</b> They were produced by the AlexNet architecture "
                     f"with {pdf.escape(weights)}. Place the published bvlc_alexnet.npy in weights/ "
                     "(<font name='Mono'>python alexnet.py --fetch</font>) and run "
                     "<font name='Mono'>python make_report.py --rerun</font>.")
    elif network == "alexnet":
        statement = ("All results in this report were produced by <b>AlexNet</b>, the network the assignment "
                     "specifies, built layer for layer in TensorFlow (alexnet.py), with "
                     f"{pdf.escape(weights)}.")
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
            pdf.text(pdf.names_markup(names), "subtitle"), pdf.text(date.today().strftime("%d %B %Y"), "subtitle"),
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
        ("q2_fourier.py", "Q2: the 1/w law as a penalty (the Fourier-spectrum term, tf.signal.fft2d) and as a "
                          "constraint (magnitude-constrained optimization), compared; the spectrum measurement."),
        ("q3_fool.py", "Q3: the minimal targeted change; the result is judged after saving and re-reading."),
        ("q4_heatmap.py", "Q4: occlusion heat maps."),
        ("cnnvis/", "What the scripts share, one module per idea: the bundled networks (efficientnet_lite), the "
                    "optimization loop with its regularizers and neuron objectives (optimize), image "
                    "parameterizations — pixels, decorrelated colour, Fourier, magnitude-constrained with its two "
                    "natural magnitudes (param), random transformations and crops (transforms), the sibling "
                    "network that judges class visualizations (judge), Q3's fooling steps "
                    "(fooling), batched occlusion (occlusion) and its exact incremental form that recomputes only "
                    "what a block can change (incremental), deletion/insertion faithfulness and Grad-CAM "
                    "(faithfulness), image files and figures (imaging), the common flags, validation and error "
                    "messages (cli, errors), Ctrl-C and SIGTERM that stop a run at any moment (interrupts) and "
                    "progress bars that check for them (progress), result sets "
                    "written whole or not at all (results), atomic file writing (files), TensorFlow without "
                    "its start-up banners, one op at a time for identical runs (quiet_tensorflow), the PDF "
                    "building blocks (pdf) and the submission's names (names)."),
        ("make_report.py, make_submission.py", "This report (runs missing questions first) and the "
                                               "submission ZIP (checks the submission rules)."),
    ]
    runs = [f"python {script} [--net auto|alexnet|efficientnet-lite0] [--seed N] [--out DIR] …"
            for script in QUESTIONS.values()]
    return [pdf.heading("1. The code"),
            pdf.text("Everything is written in TensorFlow 2 / Keras. Each question is one script that reads top to "
                     "bottom like the method it implements, imports the shared pieces below, and writes its figures "
                     "(vector PDF/SVG), images and a JSON file of results as one result set, "
                     "report/&lt;network&gt;/&lt;run&gt;/, which appears whole or not at all and is never replaced "
                     "by another kind of run. Every script takes the same flags (<font name='Mono'>--net</font>, "
                     "<font name='Mono'>--weights</font>, "
                     "<font name='Mono'>--seed</font>, <font name='Mono'>--out</font>; "
                     "<font name='Mono'>--help</font> lists the rest with their defaults); with no flags it runs the "
                     "experiment reported here. The default seed is 0 and gives the same numbers on every run."),
            pdf.table(["file", "what it does"], files, widths=[4.2 * pdf.cm, pdf.TEXT_WIDTH - 4.2 * pdf.cm]),
            pdf.text("Running it:", "body"),
            *[pdf.text(r, "code") for r in runs],
            pdf.text("python make_report.py --names \"First Last\" [--rerun]   # all four, then this PDF", "code"),
            pdf.text("python make_submission.py   # the ZIP: code, the images used, and this PDF", "code")]


def steps_sentence(rows, key):
    """"128 steps (robust), 64 (L2, Yosinski)": how many steps each method took, most first."""
    by = {}
    for r in rows:
        by.setdefault(r["steps"], []).append(r[key])
    parts = [f"{steps} ({', '.join(dict.fromkeys(m))})" for steps, m in sorted(by.items(), reverse=True)]
    return parts[0].replace(" (", " steps (", 1) + "".join(f", {p}" for p in parts[1:])


def q1_section(results):
    q1 = results["q1"]
    units = q1["units"]
    variants = [v for v in ("L2", "Yosinski", "robust") if any(u["variant"] == v for u in units)]
    pairs = {}
    for u in units:
        if u["variant"] in variants:
            pairs.setdefault(u["label"], {})[u["variant"]] = u
    targets = [u for u in units if u["variant"] == "target"]
    reg = next(u["regularizers"] for u in units if u["variant"] == "Yosinski")
    worst = max(abs(u["achieved"] - u["target"]) / max(abs(u["target"]), 1) for u in targets)
    judged = [u for u in units if "recognized" in u]
    rate = q1["recognition_rate"]
    q1_named = blind_naming(q1, [u for u in units if u["shown_as"] == "magnitude-constrained"], "shown_as").get(
        "magnitude-constrained")
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
                 "Three methods are compared on the same units. <b>L2</b>: the image-norm prior alone. "
                 "<b>Yosinski</b> (Yosinski et al. 2015, their best published settings): after every step L2 "
                 "decay (x̃ ← (1−θ)x̃), a Gaussian blur every few steps, and before every step a random jitter; "
                 "here " + ", ".join(f"{k} = {v}" for k, v in reg.items()) + ". "
                 "<b>robust</b> (Olah et al. 2017): the image is parameterized by its Fourier spectrum scaled by "
                 "1/w in a decorrelated colour space, squashed into 0–255 by a sigmoid, and randomly padded, "
                 "shifted, scaled and rotated before every step; conv units are then visualized as whole "
                 "channels (their spatial mean), since the transformations move any single position around. "
                 "For the class units (the logits) <i>robust</i> is Q2's answer, the <i>magnitude-constrained</i> "
                 "method (section 3: the image's Fourier magnitude is fixed to that of natural photos and only its "
                 "phase is optimized, over random crops of a larger canvas), whose class images people name. Tried "
                 "on the conv units it did not help: their channel means reached about a third of the Fourier "
                 "method's and the pattern filled only the middle of the canvas, so they keep the Fourier method. "
                 "All neurons of a method are optimized together, one image per neuron in one batch, with a "
                 "cosine-decaying step size, for " + steps_sentence(units, "shown_as") + ". The network sees the "
                 "image rounded "
                 "to 8 bits (the gradient passes the rounding unchanged, straight-through), so the activations "
                 "reported, measured on the saved 8-bit files, are the ones that were optimized."),
    ]
    for i, f in enumerate(q1["figures"], 1):
        story.append(pdf.figure(q1["folder"] / Path(f).with_suffix(".svg"),
                                f"Figure {i}. Q1 ({network_name(q1)}): units of each layer by the three "
                                f"methods. Conv neurons are cropped to their receptive field (at least 48 pixels a "
                                f"side); each image is contrast-stretched for display.", max_height=19 * pdf.cm))
    story += [
        pdf.table(["neuron", "target", "achieved (8-bit image)"],
                  [[u["label"], f"{u['target']:g}", fmt(u["achieved"])] for u in targets],
                  lead_in="<b>Target activations.</b> Driving neurons to set values instead of maximizing them "
                          f"(L2 prior; the largest relative miss is {100 * worst:.1f}%):"),
        pdf.table(["neuron"] + variants,
                  [[label] + [fmt(v[m]["achieved"], 2) + (f" — {v[m]['judge_top1']} {'✓' if v[m]['recognized'] else '✗'}"
                                                          if "recognized" in v[m] else "") for m in variants]
                   for label, v in pairs.items()],
                  lead_in="<b>Maximized activations</b> on the same units (for <i>robust</i>, of the whole channel; "
                          "a class unit's canvas seen whole at the input size), and for the class units the top-1 "
                          "class of a sibling network (EfficientNet-Lite1, never used to optimize; ✓ when it is the "
                          "intended class; section 3 says what such agreement does and does not show):"),
        pdf.text(
            "<b>Discussion.</b> The sibling judge recognized the class images made with " + ", ".join(
                f"{m}: {sum(u['recognized'] for u in judged if u['variant'] == m)} of "
                f"{sum(u['variant'] == m for u in judged)}" for m in variants if rate.get(m) is not None) + ". "
            "With the image-norm prior alone, the optimizer finds high-frequency patterns that excite the neuron "
            "enormously but look like coloured noise: nothing in the objective prefers natural structure, and a "
            "deep network responds to many unnatural inputs. Yosinski's operations damp these patterns (blur and "
            "decay remove high frequencies, jitter demands robustness to small shifts) at the price of faint, "
            "low-contrast images. The robust method makes every unit show structure: oriented edges and colour "
            "gratings in the first layers, textures and repeated parts in the middle, object parts for the "
            "deepest units, and for the classes the objects themselves" + (
                f" — viewers who were not told the classes named {q1_named['top1']} of the {q1_named['images']} "
                "class images at the first guess (bench/blind_naming.json)" if q1_named else "") +
            ". Receptive fields grow with depth, from a few pixels in the first "
            "layer to the whole image in the deepest ones. Target activations are reached closely because the "
            "target term is weighed against the prior at a 10% scale of the target.")]
    return story


def q2_section(results):
    q2 = results["q2"]
    rows = q2["classes"]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    classes = list(dict.fromkeys(r["class_index"] for r in rows))
    by = {(r["class_index"], r["method"]): r for r in rows}
    rate, centre, default = q2["recognition_rate"], q2["centre_recognition_rate"], q2["default_method"]
    law, baseline = q2["compared_method"], "image-norm prior"
    slopes = {m: [r["spectral_slope"] for r in rows if r["method"] == m] for m in methods}
    span = {m: f"{min(v):+.2f} … {max(v):+.2f}" for m, v in slopes.items()}
    n = len(results["q1"]["figures"]) + 1
    crops = q2["crops"]
    objective = ("maximized" if rows[0]["target_logit"] is None
                 else f"driven to the target activation {rows[0]['target_logit']:g}")
    human = blind_naming(q2, rows, "method")
    bench = read_json(BENCH_RESULTS) if BENCH_RESULTS.is_file() else {}
    seconds = bench.get("q2_seconds_per_image", {}) if bench.get("network") == q2["network"] else {}

    def named(m, key="top1"):
        return f"{human[m][key]} of {human[m]['images']}" if m in human else "—"

    return [
        pdf.heading("3. Natural image statistics: the 1/w law as a penalty and as a constraint (Q2)"),
        pdf.text("<b>The question.</b> The class logits of the last pre-softmax layer are visualized (each "
                 f"{objective}) with a regularization from natural-image statistics: the Fourier magnitude of "
                 "natural images falls off as 1/w. The law can enter the optimization in two ways, and both are "
                 "built and compared on the same classes and seed."),
        pdf.text("<b>As a penalty</b> (the assignment's term). Q1's optimization is kept and a term is added. For "
                 "efficiency it is defined on a reduced-size copy x<sub>s</sub> of the image "
                 f"({q2['fourier_size']}×{q2['fourier_size']}, box-averaged like the measurement below; mean "
                 "removed). With F<sub>c</sub> = FFT2(x<sub>s,c</sub>) of each colour channel c (tf.signal.fft2d) "
                 "and w the radial frequency in cycles per image,"),
        pdf.formula(r"R(x) = \beta\ \frac{1}{3}\sum_{c}\ \sum_{w \neq 0} \rho(w)\,\left(\log|F_c(w)| + \log w - "
                    r"\mu_c\right)^2,\qquad \mu_c = \sum_{w\neq 0}\rho(w)\,(\log|F_c(w)| + \log w),"),
        pdf.text(f"with ρ(w) ∝ w<super>−3</super> (leaning on the low frequencies, where the layout is decided) "
                 f"and β = {q2['fourier_weight']:g}: R is zero exactly when every channel's spectrum is c/w. The "
                 "term is tried alone, with <i>transformation robustness</i> (Olah et al. 2017: before every step "
                 "the image is padded, shifted, scaled by 0.9–1.1 and rotated by up to ±10° at random, in a "
                 "decorrelated colour space), and beside lucid's <i>Fourier parameterization</i>, which scales the "
                 "optimizer's steps by 1/w but lets the magnitudes move."),
        pdf.text("<b>As a constraint</b> (magnitude-constrained optimization, MaCo; Fel et al. 2023). The "
                 "image's magnitude spectrum A is fixed and only its phase φ is optimized:"),
        pdf.formula(r"x = 255\,\sigma\!\left(C\;\mathcal{F}^{-1}\!\left[A(w)\,e^{i\varphi(w)}\right]\right),"
                    r"\qquad \min_{\varphi}\ -\frac{1}{K}\sum_{k=1}^{K} z_{\mathrm{class}}\!\left("
                    r"\mathrm{crop}_k(x) + \mathrm{noise}\right),"),
        pdf.text("where 𝓕<super>−1</super> is the inverse real FFT (tf.signal.irfft2d) per channel of a "
                 "decorrelated colour space, C maps it to RGB and σ squashes it into 0–255. On the two columns "
                 "that a real image's spectrum mirrors onto themselves only the odd part of φ is used, so the "
                 "image's spectrum is exactly A·e<super>iφ</super> whatever φ is (tested). A comes from one of "
                 "two sources: <i>(a) the 1/w law itself</i>, A<sub>c</sub>(w) = a<sub>c</sub>/w, and <i>(b) the "
                 "mean magnitude spectrum of photos</i>, measured by the project on its own six photos (images/, "
                 "free licences): three squares along each photo's long side and their mirror images, 256×256, "
                 "Hann-windowed (a photo is not periodic), in the same colour space through the sigmoid's "
                 "first-order inverse, averaged and read off at the canvas's frequencies in cycles per pixel. In "
                 "both, the level a<sub>c</sub> gives each colour channel the photos' standard deviation. Every "
                 f"step scores K = {crops['count']} random square crops of a {crops['canvas']}×{crops['canvas']} "
                 f"canvas per class (centres scattered about the middle, sd 15%; sides shrinking from "
                 f"{crops['start']:.0%} to {crops['end']:.0%} of the canvas over the run, large crops lay out the "
                 f"object, small ones its parts), each resized to {crops['resolution']}×{crops['resolution']} "
                 f"pixels, with noise of {crops['noise']:g} grey levels; all crops of all classes are one batch of "
                 "one traced step. Adam moves φ (0.5 rad, cosine decay). The picture is the whole canvas."),
        pdf.text("<b>Measured.</b> <i>By a person:</i> images of the report's run were contrast-stretched as "
                 "shown here, shuffled, renamed and shown to viewers who were told only that each depicts one "
                 "ImageNet class and asked for three guesses (a new viewer for every set; each viewer saw each "
                 "class once; bench/blind_naming.json). <i>By a sibling network:</i> EfficientNet-Lite1, never "
                 "used to optimize, but of the same family and training recipe as the bundled network, so it "
                 "shares its features: its recognition shows that the class is encoded in what the family "
                 "shares, not that a person sees it. A canvas is judged whole and, the way it was made, on its "
                 "central half. <i>The spectrum</i> (NumPy): radially averaged magnitude of the box-downsampled "
                 "8-bit image and the slope of its log-log fit over radii 2–31."),
        pdf.table(["method", "named by a person: top-1 / among 3", "sibling judge: whole (central half)",
                   "spectral slopes", "steps", "s per image"],
                  [[m + (" (default)" if m == default else ""), f"{named(m)} / {named(m, 'top3')}",
                    f"{sum(r['recognized'] for r in rows if r['method'] == m)} of "
                    f"{sum(r['method'] == m for r in rows)}"
                    + (f" ({sum(r['centre_recognized'] for r in rows if r['method'] == m)})" if m in centre else ""),
                    span[m], str(by[(classes[0], m)]["steps"]),
                    fmt(seconds[m], 1) if seconds.get(m) else "—"]
                   for m in methods],
                  lead_in="Per method, over the same classes (named by a person: "
                          + ("bench/blind_naming.json, matched to these very image files" if human else
                             "these images were not shown to viewers") + "; seconds per class image: the "
                          "benchmark, 2 CPU cores):"),
        *[pdf.figure(q2["folder"] / Path(f).with_suffix(".svg"),
                     f"Figure {n + i}. Q2 ({network_name(q2)}): class visualizations by {len(methods) - 1} methods "
                     "(rows)" + (f", classes {5 * i + 1}–{min(5 * i + 5, len(classes))} of {len(classes)}"
                                 if len(classes) > 5 else "") +
                     ". Under each image the sibling judge's top-1 class and its probability of the intended "
                     "class, on the whole image and (canvases) on its central half. Images are contrast-stretched "
                     "for display, as the blind viewers saw them.", max_height=23 * pdf.cm)
          for i, f in enumerate(q2["figures"][:-2])],
        pdf.figure(q2["folder"] / Path(q2["figures"][-1]).with_suffix(".svg"),
                   f"Figure {n + len(q2['figures']) - 2}. Radially averaged Fourier magnitude, mean over the "
                   "classes of each method, of a natural photo, and the 1/w line, on log-log axes.",
                   max_height=7 * pdf.cm),
        pdf.figure(q2["folder"] / Path(q2["figures"][-2]).with_suffix(".svg"),
                   f"Figure {n + len(q2['figures']) - 1}. The two sources of the fixed magnitude on the first "
                   f"{sum(r['method'] == law for r in rows)} classes: the 1/w law itself (top) and the photos' mean "
                   "spectrum (the default, bottom); the same seed, crops and steps.", max_height=9 * pdf.cm),
        pdf.text(
            "<b>Discussion: penalty or constraint.</b> "
            f"With the image-norm prior alone the spectra are flat (slopes {span[baseline]}, like white noise): "
            "the class is reached through fine texture that this network responds to and a person does not "
            f"see. The 1/w term makes the slopes natural ({span['1/w term']}; the photo's is "
            f"{q2['reference_slope']:+.2f}), but a natural spectrum alone is not a natural picture: the images "
            "become smooth regions under a layer of the same private texture. A penalty is a price, and the "
            "optimizer pays it wherever the logit gains more — robustness and the Fourier parameterization take "
            "part of that texture away, and the sibling judge then recognizes many images "
            f"({rate['1/w term + robustness']:.0%} and {rate['Fourier parameterization']:.0%}), yet what it "
            "recognizes is largely texture the network family shares: "
            + (f"a person named {named('1/w term + robustness')} and {named('Fourier parameterization')} of them. "
               if human.get("1/w term + robustness") and human.get("Fourier parameterization") else "")
            + "With the magnitude fixed, nothing can be bought: every frequency carries exactly its natural "
            "energy, and the optimizer can only decide <i>where</i> things are — so it draws the object's shape "
            f"(slopes {span[default]} and {span[law]} by construction). "
            + (f"A person named the class in {named(default)} default images at the first guess "
               f"({named(default, 'top3')} among three) and in {named(law)} with the 1/w law itself. "
               if human.get(default) and human.get(law) else "")
            + f"The sibling judge recognizes fewer of the whole canvases ({rate[default]:.0%}) than of their "
            f"central halves ({centre[default]:.0%}): a canvas holds the object in the middle and a natural-"
            "looking background around it, as a photo does, and a classifier shown the whole of it at its input "
            "size sees the object small. <b>Which source.</b> The photos' spectrum falls off a little faster than "
            f"1/w at high frequencies (slopes {span[default]} against {span[law]}), so its images carry less fine "
            "detail; on the classes both were made for (Figure "
            f"{n + len(q2['figures']) - 1}) " + sources_compared(q2, rows, default, law) + " The photos' "
            "spectrum is the default for its cleaner pictures at the size a report shows them; that the 1/w law "
            "alone, the assignment's statement, does about as well is the point: the law, enforced, is what makes "
            "the picture.")]


def sources_compared(q2, rows, default, law):
    """A sentence: the two magnitude sources on the classes both were made for, by people and by the sibling."""
    compared = {r["class_index"] for r in rows if r["method"] == law}
    both = [r for r in rows if r["method"] in (default, law) and r["class_index"] in compared]
    human = blind_naming(q2, both, "method")
    judge = {m: sum(r["recognized"] for r in both if r["method"] == m) for m in (default, law)}
    people = (f"people named {human[default]['top1']} of {human[default]['images']} (photos) and "
              f"{human[law]['top1']} of {human[law]['images']} (1/w law) at the first guess, "
              if default in human and law in human else "")
    return (f"{people}the sibling judge recognized {judge[default]} and {judge[law]} of {len(compared)} whole "
            "canvases.")


BENCH_RESULTS = ROOT / "bench" / "results.json"
BENCH_COMMAND = "python bench/bench.py --json bench/results.json"


def unsure_vs_sure(cases):
    """A sentence comparing the case the network was least sure of with the one it was surest of (L∞ runs)."""
    cases = [c for c in cases if c["norm"] == "linf"]
    low, high = min(cases, key=lambda c: c["original_prob"]), max(cases, key=lambda c: c["original_prob"])
    if low is high:
        return ""
    return (f"The unsure case (p = {fmt(low['original_prob'], 2)}) needed L∞ {low['linf']:.0f} "
            f"({low['gradient_steps']} gradient steps for the whole search), the confident one "
            f"(p = {fmt(high['original_prob'], 2)}) L∞ {high['linf']:.0f} ({high['gradient_steps']}); with two "
            "cases, no rule about the starting probability can be read from this.")


def norm_name(norm):
    return {"linf": "L∞", "l2": "L2"}[norm]


def case_name(image, target):
    """"chelsea.jpg → fire engine", kept on one line in a table cell."""
    return f"{Path(image).name}&nbsp;→ {target}".replace(" ", "&nbsp;")


def budget_search_table(cases, q3):
    """One row per L∞ budget tried: how hard it was searched and whether it fooled."""
    rows = []
    for c in cases:
        for r in c["search"]:
            rows.append([case_name(c["image"], c["target_class"]), r["phase"] if r["phase"] == "climb" else "hard",
                         r["budget"], f"{r['restarts']} × {r['steps']}", "yes" if r["fooled"] else "no",
                         fmt(r["best_p_target"], 3)])
    return pdf.table(["photo → target", "phase", "ε", "starts × steps", "fooled", "best p(target)"], rows,
                     widths=[150, 45, 30, 75, 45, 75],
                     lead_in=f"<b>Table: the L∞ search.</b> Every budget ε tried, in order (a hard search stops at "
                             f"the first fooled image; {q3['restarts']} starts × {q3['confirm_steps']} steps when "
                             "none fools):")


REFERENCES = (("fmn", (100, 300, 1000), ("linf", "l2")), ("ddn", (100, 300, 1000), ("l2",)))


def best_reference(bench, stem, norm):
    """(who, norm value) of the reference run with the smallest change in `norm` for this photo: any attack, any
    step count (every one judged on its 8-bit file, p(target) > 0.98)."""
    runs = [(f"{who.upper()} {steps}", bench[f"fooling_{stem}_{norm}_{who}{steps}_{norm}"])
            for who, counts, norms in REFERENCES if norm in norms for steps in counts
            if f"fooling_{stem}_{norm}_{who}{steps}_{norm}" in bench]
    return min(runs, key=lambda run: run[1]) if runs else None


def bench_matches(bench):
    """Whether the benchmark measured today's files (cnnvis/fooling.py and the photos), by SHA-256."""
    recorded = bench.get("fooling_sha256", {})
    return bool(recorded) and all((ROOT / path).is_file() and hashlib.sha256((ROOT / path).read_bytes())
                                  .hexdigest() == digest for path, digest in recorded.items())


def library_comparison(q3):
    """Ours beside references run until their change stops shrinking, on the report's cases and held-out ones,
    from the benchmark's last run (too slow for the main command), or a sentence saying how to make it."""
    bench = read_json(BENCH_RESULTS) if BENCH_RESULTS.is_file() else {}
    cases = bench.get("fooling_cases", [])
    if not cases or bench.get("network") != q3["network"]:
        return [pdf.text(f"<b>Against minimal-norm references.</b> The comparison with foolbox's minimal-norm attacks "
                         f"runs in the benchmark (<font name='Mono'>{BENCH_ONLY_FOOLING}</font>); no run of it on "
                         f"{q3['network']} is recorded, so it is not quoted here.")]
    rows, misses, checks = [], [], []
    for case in cases:
        image, target = case.split(" -> ")
        stem = Path(image).stem
        for norm in ("linf", "l2"):
            ours = bench[f"fooling_{stem}_{norm}_ours_{norm}"]
            best = best_reference(bench, stem, norm)
            runs = []
            for who, counts, norms in REFERENCES:
                for steps in counts:
                    key = f"fooling_{stem}_{norm}_{who}{steps}_{norm}"
                    runs.append(fmt(bench[key], 0) if norm in norms and key in bench else "–")
            rows.append([case_name(Path(image).stem, target), norm_name(norm), fmt(ours, 0), *runs, best[0],
                         fmt(ours / best[1], 2)])
            limit = 1.0 if norm == "linf" else 1.1
            if ours > limit * best[1]:
                misses.append(f"{Path(image).name} in {norm_name(norm)} ({fmt(ours, 0)} against {best[0]}'s "
                              f"{fmt(best[1], 0)})")
        check = bench.get(f"fooling_{stem}_linf_ours_below_check")
        if check:
            checks.append(f"{Path(image).name} at ε = {check['budget']}: {check['restarts']} starts × "
                          f"{check['steps']} steps, {'fooled' if check['fooled'] else 'not fooled'} (best p(target) "
                          f"{fmt(check['best_p_target'], 3)})")
    met = ("Ours is at most the best reference's L∞ and at most 1.1× its L2 on every photo." if not misses else
           "Ours is at most the best reference's L∞ and at most 1.1× its L2 everywhere except " +
           "; ".join(misses) + ".")
    matches = ("It measured the same cnnvis/fooling.py and photos as this run (SHA-256)." if bench_matches(bench)
               else "<b>It measured another version of cnnvis/fooling.py or of the photos than this run (SHA-256)"
                    "</b>: its numbers for ours may differ from the tables above.")
    return [pdf.table(
        ["photo → target", "norm", "ours", *(f"{who.upper()}<br/>{steps}" for who, counts, _ in REFERENCES
                                              for steps in counts), "best", "ours ÷ best"],
        rows, widths=[120, 36, 34, 32, 32, 36, 32, 32, 36, 52, 40],
        lead_in="<b>Against minimal-norm references.</b> The references for \"as little as possible\" are foolbox "
                "3's minimal-norm attacks, run on our TensorFlow network: the fast minimum-norm attack (FMN, Pintor "
                "et al. 2021; it steps toward the decision boundary and shrinks or grows the allowed norm as it "
                "crosses it) in L∞ and in L2, and foolbox's own DDN in L2, each whole at several step counts to "
                "show where its norm stops falling. They stop at the decision boundary, so the model they are "
                "given has the target as its top class exactly when log(p/(1 − p)) &gt; log(0.98/0.02) + κ, p = p(target): "
                "κ, a margin in log-odds, starts at 0.5 and doubles until the attack's 8-bit file, re-read, has "
                "p(target) &gt; 0.98 (rounding moves a point on the boundary off it). The best reference of a "
                "photo and norm is the run of any attack and step count with the smallest change in that norm. "
                "Change in the norm of the row (–: not run), on the report's two cases and two held-out photos "
                f"(<font name='Mono'>{BENCH_ONLY_FOOLING}</font>, on {bench['network']}):"),
        pdf.text(f"{convergence_sentence(bench, cases)} {met} {matches} " + check_sentence(bench, cases, checks))]


def convergence_sentence(bench, cases):
    """How much each reference's change still fell between its two longest runs, at most over the photos."""
    parts = []
    for who, counts, norms in REFERENCES:
        for norm in norms:
            for stem in [Path(c.split(" -> ")[0]).stem for c in cases]:
                ran = [s for s in counts if f"fooling_{stem}_{norm}_{who}{s}_{norm}" in bench]
                if len(ran) < 2:
                    break
            else:
                a, b = ran[-2:]
                falls = [1 - bench[f"fooling_{s}_{norm}_{who}{b}_{norm}"] / bench[f"fooling_{s}_{norm}_{who}{a}_{norm}"]
                         for s in (Path(c.split(" -> ")[0]).stem for c in cases)]
                parts.append(f"{who.upper()} in {norm_name(norm)} {max(falls):.1%} ({a} → {b} steps"
                             + ("; still falling)" if max(falls) > 0.02 else "; stopped)"))
    return ("The largest fall of each reference's change over the photos between its two longest runs: "
            + "; ".join(parts) + "." if parts else "")


def check_sentence(bench, cases, checks):
    """What the benchmark's second, 3× harder search at each L∞ answer's ε−1 found."""
    above_one = [c for c in cases if bench[f"fooling_{Path(c.split(' -> ')[0]).stem}_linf_ours_linf"] > 1]
    if not above_one:
        return "Every L∞ answer is 1 grey level: below it is the photo itself, which is not fooled."
    if not checks:
        return "The benchmark's second search of each answer's ε−1 (3× the starts and steps) was not run."
    return ("As a check of the L∞ answers, the benchmark searched each answer's ε−1 once more with 3× the starts "
            "and 3× the steps: " + "; ".join(checks) + ".")


BENCH_ONLY_FOOLING = "python bench/bench.py --only fooling --json bench/results.json"


def q3_section(results):
    q3 = results["q3"]
    cases = q3["cases"]
    n = len(results["q1"]["figures"]) + len(results["q2"]["figures"]) + 1
    linf = [c for c in cases if c["norm"] == "linf"]
    l2 = [c for c in cases if c["norm"] == "l2"]
    traded = (l2 and linf and all(a["l2"] < b["l2"] and a["linf"] > b["linf"] for a, b in zip(l2, linf)))
    return [
        pdf.heading("4. Fooling the network (Q3)"),
        pdf.text("<b>Method.</b> Starting from a photo x<sub>0</sub> at the network's input resolution, gradient "
                 "steps on the pixels raise the probability of a chosen, completely different class (minimal "
                 "change, maximal influence). Fooled means: the target is the top class with p &gt; "
                 f"{q3['min_prob']:g} on the image <i>as saved in 8 bits</i>. The network therefore always sees "
                 "the image rounded to whole grey levels; the gradient is passed through the rounding as if it "
                 "were the identity (a straight-through gradient), so what is optimized is what is saved. \"As "
                 "little as possible\" has two usual meanings, and both are solved. <i>Smallest L∞</i> (no pixel "
                 "changes much): the answer is the smallest integer budget ε, in grey levels, whose 8-bit image "
                 "fools the network. Inside a budget, sign steps on the loss −log p<sub>target</sub> are "
                 "projected back into the budget,"),
        pdf.formula(r"x_k = \Pi_{\|x - x_0\|_\infty \leq \varepsilon}\left(x_{k-1} - "
                    r"\alpha_k\,\mathrm{sign}\,\nabla_x(-\log p_{\mathrm{target}}(\mathrm{round}(x_{k-1})))\right),"),
        pdf.text(f"with α<sub>k</sub> decaying from {q3['step']:g}·ε to a tenth of that. A quick climb (one start, "
                 f"{q3['rung']} steps at each budget 1, 2, …) finds a budget that fools; then bisection searches the "
                 f"budgets below it hard, {q3['restarts']} starts (the photo and random points of the budget) × "
                 f"{q3['confirm_steps']} steps each, until the answer's ε−1 has failed that search (and with it "
                 "every smaller budget, whose images all lie within ε−1). <i>Smallest L2</i> (the least total "
                 "change): decoupled direction and norm (DDN, Rony et al. 2019): a step along the normalized "
                 "gradient, then the change is rescaled to a length that shrinks by 5% after every fooled step and "
                 "grows by 5% otherwise; all 100 steps are taken and the smallest fooling change is kept. The "
                 "fooled image is written losslessly, read back and classified again: every number below is "
                 "measured on that file, the change in 0–255 pixel units (L2 over all pixels and channels, L∞) and "
                 f"as PSNR. One photo starts from a confident classification, one from an unsure one; the tables "
                 f"give the numbers, Figure {n} the images."),
        pdf.table(["photo → target", "original class, p", "norm", "p(target): before → after", "L∞", "L2",
                   "PSNR (dB)", "gradient steps"],
                  [[case_name(c["image"], c["target_class"]),
                    f"{c['original_class']} {fmt(c['original_prob'])}".replace(" ", "&nbsp;"),
                    norm_name(c["norm"]), f"{c['target_prob_before']:.1e} → {fmt(c['final_prob'], 3)}",
                    fmt(c["linf"], 0), fmt(c["l2"], 0), fmt(c["psnr"], 1), c["gradient_steps"]] for c in cases],
                  widths=[112, 92, 35, 92, 25, 30, 45, 49],
                  lead_in=f"<b>Table: this run's results</b> (Figure {n}; gradient steps: starts × steps of the "
                          "whole search):"),
        *([budget_search_table(linf, q3)] if linf else []),
        pdf.figure(q3["folder"] / Path(q3["figures"][0]).with_suffix(".svg"),
                   f"Figure {n}. Q3 ({network_name(q3)}): per photo and norm, the original, the fooled image as "
                   "re-read from disk, the change amplified so that the largest one is black or white (factor "
                   "above it; grey: unchanged), the red-boxed 32×32 centre of the change enlarged pixel for pixel, "
                   "and the fooled image's top-5 classes (target in red).", max_height=24 * pdf.cm),
        *library_comparison(q3),
        pdf.text(
            "<b>Discussion.</b> " + " ".join(
                f"{Path(c['image']).name}, classified as {c['original_class']} with p = {fmt(c['original_prob'], 2)}, "
                f"became {c['target_class']} with p = {fmt(c['final_prob'], 3)} with no pixel changed by more than "
                f"{c['linf']:.0f} grey level{'s' if c['linf'] != 1 else ''} (PSNR {c['psnr']:.1f} dB)." for c in linf)
            + (" Minimizing the total change instead gives " + ", ".join(
                f"L2 {c['l2']:.0f} for {Path(c['image']).name} (PSNR {c['psnr']:.1f} dB, while single pixels moved "
                f"by up to {c['linf']:.0f})" for c in l2) + "." if l2 else "")
            + (" The two norms trade against each other: " + "; ".join(
                f"for {Path(a['image']).name} the smallest-L∞ change moves {a['changed_fraction']:.0%} of all pixel "
                f"values, none by more than {a['linf']:.0f}, the smallest-L2 change {b['changed_fraction']:.0%}, some "
                f"by up to {b['linf']:.0f}" for a, b in zip(linf, l2)) + f" (the change panels of Figure {n})."
               if traded else "")
            + " Neither change is visible at normal viewing size: the network's decision rests on directions in "
              "pixel space that have almost nothing to do with what a viewer sees, and in a high-dimensional input "
              "many small coordinated changes add up to a large change of the logits. " + unsure_vs_sure(cases))]


def unsure_maps(maps):
    """A sentence on the images whose class the network was unsure of, if any."""
    unsure = sorted({Path(m["image"]).name for m in maps if m["base_prob"] < 0.5})
    if not unsure:
        return ""
    return (f"Where the class starts below p = 0.5 ({', '.join(unsure)}), it shares the probability with similar "
            "classes, and an occlusion often only moves probability between them, so the map is flatter. ")


def faithfulness_sentences(faith):
    """The discussion of deletion/insertion, from the numbers: which occlusion maps beat Grad-CAM, on the mean
    and photo by photo."""
    mean = faith["mean"]
    score = {(r["image"], r["method"]): r for r in faith["per_image"]}
    images = list(dict.fromkeys(r["image"] for r in faith["per_image"]))

    def beats(a, b):
        return a["deletion"] < b["deletion"] and a["insertion"] > b["insertion"]

    out = []
    for m in (m for m in mean if m.startswith("occlusion")):
        wins = sum(beats(score[(i, m)], score[(i, "Grad-CAM")]) for i in images)
        out.append(f"{m} {'beats' if beats(mean[m], mean['Grad-CAM']) else 'does not beat'} Grad-CAM on both "
                   f"means (deletion {fmt(mean[m]['deletion'])} vs {fmt(mean['Grad-CAM']['deletion'])}, insertion "
                   f"{fmt(mean[m]['insertion'])} vs {fmt(mean['Grad-CAM']['insertion'])}) and on both measures for "
                   f"{wins} of {len(images)} photos")
    return "; ".join(out) + ". "


def q4_section(results):
    q4 = results["q4"]
    maps, faith = q4["maps"], q4["faithfulness"]
    n = len(results["q1"]["figures"]) + len(results["q2"]["figures"]) + 2
    methods = list(faith["mean"])
    images = list(dict.fromkeys(r["image"] for r in faith["per_image"]))
    score = {(r["image"], r["method"]): r for r in faith["per_image"]}
    return [
        pdf.heading("5. Classification heat map by occlusion (Q4)"),
        pdf.text("<b>Method.</b> For an image whose top class is known and visually obvious, an occlusion block "
                 "of B×B pixels is placed at every position of a grid with stride S over the network's input image, "
                 f"the pixels under it are set to zero — {maps[0]['fill_meaning']} — and the probability of the "
                 "class is recorded. Cell (i, j) of the heat map is that probability with the block's top-left "
                 "corner at (i·S, j·S); a side has ⌊(size − B)/S⌋ + 1 cells. A block changes only a window of each "
                 "layer's output, so only that window is recomputed from the unoccluded image's cached activations "
                 "(exactly: the map equals the one from full forward passes up to float rounding, which a test "
                 "checks). The default photos are ones the network is sure of (p ≥ 0.8): an animal, a fruit among "
                 "other fruits, a small object in a scene and a drink. In the figure each pixel shows the drop of "
                 "the class probability averaged over the blocks that cover it, in colour over the photo in grey."),
        pdf.figure(q4["folder"] / Path(q4["figures"][0]).with_suffix(".svg"),
                   f"Figure {n}. Q4 ({network_name(q4)}): each photo, the drop in p(class) for two block sizes "
                   "(red: hiding the pixel lowers the probability; blue: it raises it; the colour bar is in "
                   "probability), and Grad-CAM on the last convolutional layer for comparison.",
                   max_height=16 * pdf.cm),
        pdf.table(["image", "class", "p (unoccluded)", "block", "stride", "cells", "lowest p", "block at (row, col)"],
                  [[Path(m["image"]).name, m["class_name"], fmt(m["base_prob"]), m["block"], m["stride"],
                    f"{m['cells']}×{m['cells']}",
                    fmt(m["min_prob"]), f"({m['min_at'][0]}, {m['min_at'][1]})"] for m in maps]),
        pdf.text("<b>Is the map right?</b> Faithfulness is measured by <i>deletion</i> and <i>insertion</i> "
                 "(Petsiuk et al. 2018, RISE): the pixels are ordered by the map's importance; deletion sets them, "
                 f"in that order, to {faith['deletion_to']}, insertion copies them into {faith['insertion_from']}; "
                 f"each curve of the class probability is sampled at {faith['steps']} equal steps of pixels and its "
                 "area (mean over the fraction of pixels) is the score. A faithful map has a low deletion area and a "
                 "high insertion area. The same photos, steps and baselines serve every map: each occlusion map, "
                 "their multi-scale mean, Grad-CAM (tf-keras-vis, layer "
                 f"{faith['grad_cam_layer']}) and a random order; all curves are one batched evaluation. (Petsiuk "
                 "et al. score RISE's maps and others' this way on other networks and photos, so their numbers are "
                 "not comparable with these and are not quoted.)"),
        pdf.figure(q4["folder"] / Path(q4["figures"][1]).with_suffix(".svg"),
                   f"Figure {n + 1}. Q4 ({network_name(q4)}): deletion (top) and insertion (bottom) curves of "
                   "every map, area in brackets.", max_height=9 * pdf.cm),
        pdf.table(["map"] + [f"{Path(i).stem}: deletion / insertion" for i in images] + ["mean"],
                  [[m] + [f"{fmt(score[(i, m)]['deletion'])} / {fmt(score[(i, m)]['insertion'])}" for i in images]
                   + [f"{fmt(faith['mean'][m]['deletion'])} / {fmt(faith['mean'][m]['insertion'])}"]
                   for m in methods]),
        pdf.text(
            "<b>Discussion.</b> The maps show where the evidence lies. For each image the probability falls most "
            "when the block covers the object itself (" + "; ".join(
                f"{Path(m['image']).name}: from {fmt(m['base_prob'], 2)} to {fmt(m['min_prob'], 2)} with a "
                f"{m['block']}-pixel block" for m in maps if m["block"] == max(x["block"] for x in maps)) +
            "), while blocks over the background change it little: the network classifies from the object "
            "rather than its context. " + unsure_maps(maps) + "Larger blocks give stronger, smoother drops but "
            "blur the location; smaller blocks localize better but hide too little of a large object to matter. "
            "Where a block raises the probability, it hid something that supported a competing class. "
            "Measured by deletion and insertion, " + faithfulness_sentences(faith) + "Occlusion measures the "
            "effect of removing a region directly, which is what deletion asks, while Grad-CAM is a first-order "
            "estimate at the coarse resolution of the last convolutional layer; a random order is far worse than "
            "either, so the scores separate real maps from chance.")]


def theory_section():
    f = pdf.formula
    return [
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
    p = cli.Parser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--names", nargs="+", metavar="NAME", help='one or two student names, e.g. "Ada Lovelace" '
                                                              '(remembered in report/names.json)')
    p.add_argument("--rerun", action="store_true", help="recompute every question, not only missing results")
    p.add_argument("--net", choices=("auto", "alexnet", "efficientnet-lite0"), default="auto",
                   help="network for questions that are (re)run")
    p.add_argument("--weights", type=cli.existing_path, help="AlexNet weights (bvlc_alexnet.npy or a per-layer folder)")
    p.add_argument("--seed", type=cli.number(int, 0, 2 ** 31 - 1), default=0, help="seed passed to every question")
    p.add_argument("--out", type=cli.nonempty_path, default=ROOT / "report", help="where results are and the PDF goes")
    args = p.parse_args()
    names = resolve_names(args.names)
    missing = pdf.unprintable(" ".join(names))
    if missing:
        raise UserError(f"the report's font cannot print {' '.join(missing)} in --names; write the names in "
                        f"Latin, Greek, Cyrillic, Hebrew or Arabic letters.")
    cli.check_network_flags(args)
    cli.check_writable(args.out)
    start = time.perf_counter()
    results = ensure_results(args)
    story = title_page(names, results) + code_section(results)
    for question, section in (("q1", q1_section), ("q2", q2_section), ("q3", q3_section), ("q4", q4_section)):
        story += checked_section(section, results, question)
    story += theory_section()
    title = submission_name(names)
    path = pdf.build(args.out / f"{title}.pdf", story, title="Assignment 2: Visualizing and Fooling a CNN",
                     author=", ".join(names), footer=f"{title} — {' and '.join(names)} — results: "
                                                     f"{network_name(results['q1'])}",
                     keywords=sources_line([r["folder"] / RESULTS_FILE for r in results.values()], args.out))
    if args.names:
        remember(names)  # only once the report exists
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    cli.run(main)
