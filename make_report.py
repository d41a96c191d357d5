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
from cnnvis.efficientnet_lite import MEAN_RGB as LITE_MEAN_RGB
from alexnet import CAFFE_MEAN_BGR, ROOT, WEIGHTS_DIR, alexnet_label, alexnet_weights_in
from cnnvis.errors import UserError
from cnnvis import files
from cnnvis.files import read_json
from cnnvis.param import listed_photos
from cnnvis.results import RESULTS_FILE, set_folder, set_name, sources_line
from cnnvis.names import check_file_names, not_remembered, remember, resolve_names, submission_name

QUESTIONS = {"q1": "q1_visualize.py", "q2": "q2_fourier.py", "q3": "q3_fool.py", "q4": "q4_heatmap.py"}
# Keys the report reads that older versions of the scripts did not write: a set without them is made again.
NEEDED = {"q1": ("units", "class_method", "curves", "convergence"),
          "q2": ("classes", "recognition_rate", "compared_method", "crops"),
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
    """What the blind viewer, a vision-language model not told the classes, said of this run's images
    (bench/blind_naming.json, matched by each image file's SHA-256, so other images are never credited):
    {rows' `key` value: {"top1": named at the first guess, "top3": among three, "images": how many were shown}};
    a method none of whose images was shown is absent."""
    record = read_bench(BLIND_NAMING).get("images", {})
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


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bench_results_ok(record):
    """bench/results.json, as far as the report reads it: the network's name, Q2's seconds per image (one number
    per method), the fooling comparison's cases (a list) and its numbers."""
    seconds = record.get("q2_seconds_per_image", {})
    return (isinstance(record.get("network", ""), str) and isinstance(seconds, dict)
            and all(map(_number, seconds.values()))
            and isinstance(record.get("fooling_cases", []), list)
            and all(_number(value) for key, value in record.items()
                    if key.startswith("fooling_") and not isinstance(value, (list, dict))))


def _blind_naming_ok(record):
    """bench/blind_naming.json: {"images": {SHA-256: {"top1": bool, "top3": bool, …}}, …}."""
    images = record.get("images", {})
    return isinstance(images, dict) and all(isinstance(a, dict) and isinstance(a.get("top1"), (bool, int))
                                            and isinstance(a.get("top3"), (bool, int)) for a in images.values())


def shown_path(path):
    """A path as the user knows it: relative to the project where it lies inside it."""
    try:
        return Path(path).relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def read_bench(path):
    """A committed benchmark record under bench/ that the report quotes ({} when there is none). A damaged one is
    named as such — the questions' results are not at fault, and --rerun would not mend it."""
    if not Path(path).exists():
        return {}
    try:
        record = read_json(path)
        ok = isinstance(record, dict) and {BENCH_RESULTS: _bench_results_ok, BLIND_NAMING: _blind_naming_ok}.get(
            Path(path), lambda r: True)(record)
        problem = "" if ok else "it is not the record the report reads"
    except (OSError, ValueError) as e:
        problem = getattr(e, "strerror", None) or f"{type(e).__name__}: {e}"
    if problem:
        made_by = {BENCH_RESULTS: BENCH_COMMAND, BLIND_NAMING: "tools/blind_naming.py (prepare, then score)",
                   Q2_BUDGET: Q2_BUDGET_COMMAND, Q2_SWEEP: f"{Q2_BUDGET_COMMAND} --part sweep"}[Path(path)]
        raise UserError(f"{shown_path(path)} is damaged ({problem}); restore it with git checkout -- "
                        f"{shown_path(path)}, or remake it with {made_by} (the questions' results are not at fault, "
                        f"so --rerun would not mend it).")
    return record


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
        if interrupts.is_interrupt_status(e.code):
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


def stand_ins(q1):
    """A sentence: which of the bundled network's layers stand in for AlexNet's in Q1 (as Q1 named them, e.g.
    "stage3 (conv4)"), and what stands in for the fc layers Lite0 does not have; "" when Q1 named none."""
    named = dict.fromkeys(u["stands_for"] for u in q1.get("units", []) if "(" in u.get("stands_for", ""))
    if not named:
        return ""
    pairs = {s.split(" (")[1].rstrip(")"): s.split(" (")[0] for s in named}  # AlexNet's layer -> the stand-in
    sentence = ("<b>Stand-ins for AlexNet's layers</b> (Q1, in order of depth): "
                + ", ".join(f"{mine} for {alex}" for alex, mine in pairs.items()) + ".")
    if "fc6" in pairs and "fc7" in pairs:
        sentence += (" EfficientNet-Lite0 has no fc6 or fc7: after its convolutional stages come only a 1×1 "
                     "convolution (head), a global average pool and one fully connected layer, whose logits play "
                     f"fc8 (Q1, Q2); so its deep convolutional stages {pairs['fc6']} and {pairs['fc7']} stand in "
                     "for fc6 and fc7.")
    return sentence


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
        # Why this network, as alexnet.load said when the results were made: the user's choice is never told as
        # missing weights.
        reason = results["q1"].get("network_reason") or "the reason was not recorded with these results"
        chosen = reason.startswith("the user chose")
        fetch = ("" if chosen and "weights are present" in reason else
                 "<font name='Mono'>python alexnet.py --fetch</font> (or copy the weights into weights/), then ")
        statement = (
            "All results in this report were produced by <b>EfficientNet-Lite0</b>, a genuinely ImageNet-pretrained "
            f"network bundled with the code, <b>not by AlexNet</b>: {pdf.escape(reason)}, on the machine that made "
            "this report. <b>What was verified for AlexNet:</b> "
            "alexnet.py builds it layer for layer from the Caffe definition (227×227 BGR input minus the Caffe "
            "mean; conv1–conv5 with LRN and grouped conv2, conv4, conv5; fc6–fc8), and the tests run it with "
            "<i>synthetic</i> (random) weights against an independent NumPy implementation of that definition "
            "and run Q2 and Q3 on it. The trained AlexNet weights never ran here, so no result in this report is "
            "AlexNet's, and every setting (steps, regularizer weights, blocks) was chosen on the bundled network. "
            + stand_ins(results["q1"]) + f" To regenerate every result and this report with AlexNet: {fetch}"
            "<font name='Mono'>python make_report.py --rerun --net alexnet</font>.")
    return [pdf.text("Introduction to Neural Networks 67103", "subtitle"),
            pdf.text("Assignment 2: Visualizing and Fooling a Pretrained CNN", "title"),
            pdf.text(pdf.names_markup(names) + " — " + date.today().strftime("%d %B %Y"), "subtitle"),
            pdf.space(0.3),
            pdf.table(["Network that produced the results"], [[statement]], widths=[pdf.TEXT_WIDTH]),
            pdf.text("Contents: 1. The code. 2. Visualizing neurons (Q1). 3. Natural image statistics (Q2). "
                     "4. Fooling the network (Q3). 5. Occlusion heat maps (Q4). 6. Theoretical questions.", "small")]


def code_section(results):
    files = [
        ("alexnet.py", "The network: AlexNet from the BVLC Caffe weights when they are in weights/, else the "
                       "bundled EfficientNet-Lite0 (title page)."),
        ("q1_visualize.py", "Q1: neurons of any layer, maximized or driven to a target activation."),
        ("q2_fourier.py", "Q2: the class logits with the 1/w law of natural images, as a penalty and as a "
                          "constraint."),
        ("q3_fool.py", "Q3: the smallest L∞ and L2 changes that make the network see a chosen class."),
        ("q4_heatmap.py", "Q4: occlusion heat maps, and how faithful they are."),
        ("cnnvis/", "What the scripts share, one module per idea (the optimization loop, image "
                    "parameterizations, transformations, occlusion, fooling, figures, this PDF)."),
        ("make_report.py, make_submission.py", "This report; the submission ZIP."),
    ]
    return [pdf.heading("1. The code"),
            pdf.text("TensorFlow 2 / Keras. Each question is one script that reads top to bottom, its method first "
                     "and then the experiment, and writes its figures, images and numbers (results.json) to "
                     "report/&lt;network&gt;/&lt;question&gt;/. With no flags it runs the experiment reported here "
                     "(seed 0: the same numbers on every run); every script takes <font name='Mono'>--net</font>, "
                     "<font name='Mono'>--seed</font> and <font name='Mono'>--out</font> "
                     "(<font name='Mono'>--help</font> lists the rest). The README gives everything else (flags, "
                     "the benchmark, how results are stored)."),
            pdf.table(["file", "what it answers"], files, widths=[4.6 * pdf.cm, pdf.TEXT_WIDTH - 4.6 * pdf.cm]),
            pdf.text("python make_report.py --names \"First Last\"  # the questions not yet run, then this PDF",
                     "code"),
            pdf.text("python q1_visualize.py --layer logits --unit 9  # one question on a subject of one's own", "code"),
            pdf.text("python make_submission.py  # the ZIP: code, photos, Lite0's weights, this PDF", "code"),
            pdf.text("<b>Blind naming</b> (quoted in Q1 and Q2) asks whether a class image can be seen without "
                     "being told the class. The viewer is a <b>vision-language model</b> (VLM), not a person: a "
                     "fresh VLM instance for each set of about eight images, shown only the images (contrast-stretched as "
                     "printed here, shuffled, renamed), never two of one class, with only these instructions: "
                     "each image was synthesized to depict one of the 1000 ImageNet-1k classes; give a best guess "
                     "and two more, a confidence and what you see (the full brief is in the README). A guess "
                     "counts when it contains the class name or the class name contains it; <i>top-1</i>: the first "
                     "guess counts, <i>among 3</i>: any does. The VLM knows ImageNet's label names as few people "
                     "do, so a person might name fewer.", "small")]


def steps_sentence(rows, key):
    """"128 steps (robust), 64 (L2, Yosinski)": how many steps each method took, most first."""
    by = {}
    for r in rows:
        by.setdefault(r["steps"], []).append(r[key])
    parts = [f"{steps} ({', '.join(dict.fromkeys(m))})" for steps, m in sorted(by.items(), reverse=True)]
    return parts[0].replace(" (", " steps (", 1) + "".join(f", {p}" for p in parts[1:])


def yosinski_settings(reg):
    """The Yosinski baseline's settings in the report's symbols (λ, θ), e.g. "λ = 1, θ = 0.0001, jitter ±8 pixels,
    blur σ = 1 pixel every 4 steps"; and whether Yosinski et al.'s pixel clipping was used."""
    named = {"l2": "λ = {:g}", "decay": "θ = {:g}", "jitter": "jitter ±{:g} pixels"}
    parts = [named[k].format(v) for k, v in reg.items() if k in named]
    if reg.get("blur_every"):
        sigma = reg.get("blur_sigma", 0)
        parts.append(f"a Gaussian blur of σ = {sigma:g} pixel{'' if sigma == 1 else 's'} every {reg['blur_every']:g} "
                     "steps")
    parts += [f"{k} = {v}" for k, v in reg.items() if k not in named and k not in ("blur_every", "blur_sigma")]
    clipped = any(reg.get(k) for k in ("norm_pct", "contrib_pct"))
    return ", ".join(parts), clipped


def q1_figure(q1, stem):
    """The path of one of Q1's figures, by its file's stem (e.g. "q1_curves")."""
    return q1["folder"] / Path(next(f for f in q1["figures"] if Path(f).stem == stem)).with_suffix(".svg")


def q1_section(results):
    q1 = results["q1"]
    units = q1["units"]
    name = network_name(q1)
    by = {}
    for u in units:
        by.setdefault(u["variant"], []).append(u)
    maximized = {v: {u["label"]: u for u in by[v]} for v in ("L2", "Yosinski", "robust")}
    labels = list(maximized["L2"])
    reg = by["Yosinski"][0]["regularizers"]
    targets, sweep = by["target"], by["lambda sweep"]
    worst = max(abs(u["achieved"] - u["target"]) / max(abs(u["target"]), 1) for u in targets)
    converged = q1["convergence"]
    long = {m: dict(zip(converged["units"], r["achieved"])) for m, r in converged.get("methods", {}).items()}
    short_steps = by["L2"][0]["steps"]
    rise = {m: c["rise_last_quarter"] for m, c in q1["curves"].items()}
    judged = [u for u in units if "recognized" in u]
    q1_named = blind_naming(q1, [u for u in units if u["shown_as"] == "magnitude-constrained"], "shown_as").get(
        "magnitude-constrained")
    ceiling = [label for label in labels if abs(maximized["L2"][label]["achieved"] - 6.0) < 0.005]
    negative = {}  # unit -> method -> the step counts at which it ended below zero
    for m in ("L2", "Yosinski"):
        for label in labels:
            for steps, value in ((short_steps, maximized[m][label]["achieved"]),
                                 (converged["steps"], long.get(m, {}).get(label, 0))):
                if value < 0:
                    negative.setdefault(label, {}).setdefault(m, []).append(steps)
    channel_steps = list(dict.fromkeys(u["steps"] for u in by["robust"] if u.get("position") == "mean"))
    n = 1  # figure numbers: Q1's figures come first in the report

    def maximized_cells(label):
        cells = [label.split(" ", 1)[1]]
        for m in ("L2", "Yosinski"):
            cells.append(f"{maximized[m][label]['achieved']:.1f}")
            if long:
                cells.append(f"{long[m][label]:.1f}")
        return cells

    layers = {}  # AlexNet's layer -> its units: one table row a layer
    for label in labels:
        layers.setdefault(maximized["L2"][label]["stands_for"], []).append(label)
    per_unit = 1 + 2 * (2 if long else 1)
    step_header = [f"{m}, {s}" for m in ("L2", "Yos.")
                   for s in ([short_steps, converged["steps"]] if long else [short_steps])]
    widest = max(len(units) for units in layers.values())
    value_width = (pdf.TEXT_WIDTH - 2.5 * pdf.cm - widest * 2.1 * pdf.cm) / (widest * (per_unit - 1))
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
        pdf.text("where the target term measures the miss in units of 10% of max(|t|, 1), so that every target is "
                 "met to about the same relative precision, x̃ = (x − 127.5)/127.5 is the image centred on grey and "
                 "‖x̃‖² its mean square (λ = "
                 f"{by['L2'][0]['regularizers']['l2']:g} unless stated). Three methods run on the same units. "
                 "<b>L2</b>: the image-norm prior alone. <b>Yosinski</b>: the same objective with two regularizers "
                 "of Yosinski et al. 2015 after every step, L2 decay (x̃ ← (1−θ)x̃) and a Gaussian blur every few "
                 "steps, plus a random shift (jitter) before every step"
                 + ("; their clipping of pixels of small norm or contribution is used too" if yosinski_settings(reg)[1]
                    else "; their third, clipping pixels of small norm or contribution, is not used")
                 + "; here " + yosinski_settings(reg)[0] + ". <b>robust</b> (Olah et al. 2017, as in their "
                 "library lucid): the image is built from Fourier coefficients scaled by 1/w in a colour space "
                 "whose channels are uncorrelated in photos, squashed into 0–255 by a sigmoid, and randomly padded, "
                 "shifted, scaled and rotated before every step; conv units are then whole channels (spatial "
                 "mean), since the transformations move any one position. For the class units the robust column "
                 "uses Q2's answer, the <i>magnitude-constrained</i> method (section 3). Each method's neurons form "
                 "one batch; Adam's step size decays (cosine) to 5%; "
                 + steps_sentence([u for u in units if u["variant"] in maximized], "shown_as") +
                 ". The network sees the image rounded to 8 bits (the gradient passes the rounding unchanged), so "
                 "every activation reported is that of the saved 8-bit file."
                 + (" The bundled network's layers stand in for AlexNet's by depth (named in brackets; title page)."
                    if q1["network"] != "alexnet" else "")),
        pdf.figure(q1_figure(q1, "q1_layers_1"),
                   f"Figure {n}. Q1 ({name}): the units of the first four layers by the three methods, two units a "
                   "row (named at the left: the first unit in the left three columns, the second in the right "
                   "three); each conv neuron is cropped to its receptive field (at least 48 pixels "
                   f"a side), robust images show the whole image (whole channels); contrast-stretched for display.",
                   max_height=19 * pdf.cm),
        pdf.text(f"<b>What the images show</b> (Figures {n}–{n + 1}). The image-norm prior alone (L2) gives "
                 "high-contrast, high-frequency colour noise inside the receptive field and pulls the pixels the "
                 "neuron ignores to grey: nothing in the objective prefers natural structure. Yosinski's blur removes high "
                 f"frequencies (its decay, θ = {reg.get('decay', 0):g} a step, barely acts) and jitter demands "
                 "robustness to small shifts: faint, smooth images. The "
                 "robust method shows structure that changes with depth" + (
                     # what these images of the bundled network show; AlexNet's must be looked at anew
                     ": a flat colour field and a smooth gradient in stem, dotted and faceted textures in stage1, "
                     "dot grids and meshes in stage2–3, wavy stripes and scales in stage4, fur- and feather-like "
                     "textures in stage5–6, and for the classes object-like shapes in a natural-looking scene"
                     if q1["network"] != "alexnet" else "") + (
                     f" (a vision-language model, not told the classes, named {q1_named['top1']} of the "
                     f"{q1_named['images']} class images at the first guess; section 1)"
                     if q1_named else "") + ". Each conv neuron's crop is its measured receptive field (the input "
                 "pixels its gradient reaches), at least 48 pixels a side. "
                 + ("Not like for like: the robust conv images had "
                    f"{' and '.join(str(s_) for s_ in channel_steps)} "
                    "steps and maximize a channel's mean, the L2 and Yosinski images "
                    f"{short_steps} steps of one centre neuron"
                    + (f"; how much further the pixel methods get in {converged['steps']} steps is in the table "
                       f"below and Figure {n + 2}" if long else "")
                    + ". " if channel_steps else "")
                 + ("The sibling judge (EfficientNet-Lite1, a second ImageNet classifier of the same family, never "
                    "used to optimize; section 3) took the class image's top-1 class to be the unit's for "
                    + ", ".join(f"{m}: {sum(u['recognized'] for u in judged if u['variant'] == m)} of "
                                f"{sum(u['variant'] == m for u in judged)}" for m in ("L2", "Yosinski", "robust")
                                if any(u["variant"] == m for u in judged)) + "." if judged else
                    "The sibling network that judges class images (EfficientNet-Lite1; section 3) was absent when "
                    "these ran.")),
        pdf.figure(q1_figure(q1, "q1_layers_2"),
                   f"Figure {n + 1}. Q1 ({name}): the units of the last four layers, as in Figure {n}. "
                   "*In the last row (class units) the robust column is the magnitude-constrained method.",
                   max_height=19 * pdf.cm),
        pdf.table(["layer"] + ["unit", *step_header] * widest,
                  [[layer] + [c for label in units for c in maximized_cells(label)]
                   + [""] * (per_unit * (widest - len(units))) for layer, units in layers.items()],
                  widths=[2.5 * pdf.cm] + ([2.1 * pdf.cm] + [value_width] * (per_unit - 1)) * widest,
                  lead_in="<b>Maximized activations of the pixel methods</b> (two units a row; Yos.: Yosinski; "
                          "headers give the steps): the neuron at the centre of the feature map (conv) or the "
                          "class logit, on the saved 8-bit image"
                          + (f"; at {short_steps} steps (Figures {n}–{n + 1}) and run longer, "
                             f"{converged['steps']} steps ({converged['file']}: python q1_visualize.py "
                             "--record-convergence, for this run's units, methods, seed and weights, checked by "
                             "SHA-256)" if long else
                             f"; the runs to convergence ({converged['file']}) were not made for this run's "
                             "settings and are not shown") + ":"),
        pdf.table(["layer", "unit", "robust", "unit", "robust"],
                  [[layer] + [cell for u in maximized["robust"].values() if u["stands_for"] == layer
                              for cell in (u["label"].split(" ", 1)[1], fmt(u["achieved"], 2))]
                   for layer in dict.fromkeys(u["stands_for"] for u in maximized["robust"].values())],
                  widths=[2.7 * pdf.cm] + [2.3 * pdf.cm, 2 * pdf.cm] * 2,
                  lead_in="<b>Maximized activations of the robust method</b> (two units a row): for conv units "
                          "another quantity, the whole channel's spatial mean, which its transformations optimize; "
                          "a class unit's canvas is seen whole at the input size:"),
    ]
    odd = []
    if ceiling:
        odd.append(f"{', '.join(ceiling)} reach exactly 6.00 under L2: stem's output passes a ReLU6, which "
                   "clips at 6, so 6 is its ceiling and these neurons are at it (the stage outputs are linear "
                   "projections without a ceiling)")
    if negative:
        odd.append("; ".join(f"{label} ends below zero with " + " and with ".join(
                       f"{m} at {' and at '.join(str(s_) for s_ in steps)} steps" for m, steps in runs.items())
                             for label, runs in negative.items()) + ", a failed maximization: "
                             "the stage outputs are linear and can be negative, and the jitter of "
                   f"±{reg.get('jitter', 0)} pixels is as large as an early neuron's receptive field"
                   + (" (7 pixels for stage1)" if q1["network"] != "alexnet" else "")
                   + ", so each step raises a different neuron of the channel, not the centre one measured")
    if long:
        positive = {m: [label for label in labels if long[m][label] > 0] for m in long}
        ratio = {m: np.median([maximized[m][label]["achieved"] / long[m][label] for label in positive[m]])
                 for m in long}
        left_out = sorted({label for m in long for label in labels if label not in positive[m]})
        odd.append(f"at {short_steps} steps the pixel methods are far from done: the median unit reaches "
                   + " and ".join(f"{ratio[m]:.0%} ({m}, {len(positive[m])} units)" for m in long)
                   + f" of its activation after {converged['steps']} steps (the ratio of the table's two columns, "
                   f"over the units whose {converged['steps']}-step value is positive"
                   + (f"; left out: {', '.join(left_out)}" if left_out else "") + ")")
    story += [
        pdf.text("<b>Odd values, explained.</b> " + "; ".join(odd) + "."),
        pdf.figure(q1_figure(q1, "q1_curves"),
                   f"Figure {n + 2}. Q1 ({name}): activation against step for each method, the mean over its units "
                   f"(L2 and Yosinski: the {len(labels)} neurons of Figures {n}–{n + 1}; robust: the conv "
                   "channels' means), on the image the network saw at that step (for Yosinski shifted by the "
                   "jitter); dots mark where the runs of the figures end, before their last update, so they are "
                   "not the table's means on the saved, unshifted image ("
                   + "; ".join(f"{m}: {q1['curves'][m]['mean_activation'][-1]:.1f} here, "
                               f"{np.mean([maximized[m][label]['achieved'] for label in labels]):.1f} in the table"
                               for m in ("L2", "Yosinski") if m in q1["curves"])
                   + ("; robust: {:.1f} here, {:.1f} in its table's conv units".format(
                       q1["curves"]["robust"]["mean_activation"][-1],
                       np.mean([u["achieved"] for u in by["robust"] if u.get("position") == "mean"]))
                      if "robust" in q1["curves"] and channel_steps else "") + ")"
                   + (f"; solid: the runs to convergence ({converged['steps']} steps), dashed: the "
                      f"{short_steps}-step runs shown in Figures {n}–{n + 1}" if long else "") + ".",
                   max_height=6.5 * pdf.cm),
        pdf.text(f"<b>Convergence</b> (Figure {n + 2}). " + (
            "Over the last quarter of the runs to convergence the mean activation changed by " + " and ".join(
                f"{100 * converged['methods'][m]['rise_last_quarter']:+.1f}% ({m})" for m in long)
            + " of its end value: L2 still creeps up, slowly; Yosinski's moves up and down from step to step "
            "(each step sees a differently shifted image) and does not settle, so its long-run values are one "
            "draw of that fluctuation. " if long else "")
            + "Over their last quarter the robust runs changed by " + " and ".join(
                f"{100 * rise[m]:+.1f}% ({m})" for m in rise if m not in ("L2", "Yosinski"))
            + ". As the step size decays to 5%, a flat end alone would not show convergence; the longer runs "
            "are the check. The magnitude-constrained runs are not drawn: their crops shrink over the run, so "
            "their values at different steps measure different things."),
        pdf.figure(q1_figure(q1, "q1_lambda"),
                   f"Figure {n + 3}. Q1 ({name}): the image-norm prior's weight λ swept on one unit "
                   f"({sweep[0]['label']}, {sweep[0]['steps']} steps), the middle 72×72 pixels of each image, "
                   "contrast-stretched by one scale for all five; under each image λ and the activation reached.",
                   max_height=6 * pdf.cm),
        pdf.text(f"<b>The prior's weight</b> (Figure {n + 3}). Raising λ from 0 to "
                 f"{sweep[-2]['l2']:g} pulls the starting noise outside the receptive field, "
                 "which the neuron ignores, to grey (the image's mean distance from grey falls from "
                 f"{sweep[0]['contrast']:.1f} to {sweep[-2]['contrast']:.1f} grey levels) while the activation "
                 f"stays between {min(u['achieved'] for u in sweep[:-1]):.1f} and "
                 f"{max(u['achieved'] for u in sweep[:-1]):.1f}"
                 + "".join(f"; in {u['steps']} steps λ = {sweep[1]['l2']:g} leaves the image {sweep[1]['contrast']:.1f} "
                           f"grey levels from grey, λ = {u['l2']:g} brings it to {u['contrast']:.1f}"
                           for u in [v for v in sweep if v["contrast"] < sweep[0]["contrast"] / 2][:1])
                 + ". Only at "
                 f"λ = 10<super>{np.log10(sweep[-1]['l2']):.0f}</super> "
                 f"does the prior cost activation ({sweep[-1]['achieved']:.1f}): the "
                 "pattern shrinks to the middle of the receptive field."
                 + "".join(f" The default is λ = {u['l2']:g}"
                           + (", the smallest value swept that clears the noise" if u is cleared[0] else "") + "."
                           for cleared in [[v for v in sweep if v["contrast"] < sweep[0]["contrast"] / 2] or [None]]
                           for u in sweep if u["l2"] == by["L2"][0]["regularizers"]["l2"])
                 + "".join(f" (The sweep's λ = {u['l2']:g} image ends at {u['achieved']:.1f}, not at the table's "
                           f"{maximized['L2'][u['label']]['achieved']:.1f}: in a batch of its own it starts from "
                           "other noise.)"
                           for u in [v for v in sweep if v["l2"] == by["L2"][0]["regularizers"]["l2"]][:1]
                           if u["label"] in maximized["L2"])),
        pdf.figure(q1_figure(q1, "q1_targets"),
                   f"Figure {n + 4}. Q1 ({name}): the assignment's requirement, neurons driven to a desired "
                   f"target activation (L2 prior, {targets[0]['steps']} steps, one batch); under each image the "
                   "target and the activation measured on the saved 8-bit file. Contrast-stretched by one scale per "
                   "row; the conv neuron cropped to its receptive field.", max_height=8 * pdf.cm),
        pdf.text(f"<b>Target activations</b> (Figure {n + 4}). Each activation measured on the saved file is "
                 f"within {100 * worst:.1f}% of its target (the miss over max(|t|, 1)). The images of one neuron "
                 "do not grow stronger with the target: their mean distance from grey stays within "
                 + " and ".join(f"{min(u['contrast'] for u in targets if u['label'] == label):.1f}–"
                                f"{max(u['contrast'] for u in targets if u['label'] == label):.1f} grey levels for "
                                f"{label}" for label in dict.fromkeys(u["label"] for u in targets))
                 + ": the activation is set by the arrangement of the colour pattern, not by its amount."),
    ]
    return story


Q2_BUDGET, Q2_SWEEP = ROOT / "bench" / "q2_budget.json", ROOT / "bench" / "q2_sweep.json"
Q2_BUDGET_COMMAND = "python bench/q2_budget.py"


def blind_record():
    return read_bench(BLIND_NAMING).get("images", {})


def named_by_hash(rows, record):
    """The VLM's first-guess and three-guess counts over rows that carry image_sha256, or None if none was shown."""
    answers = [record[r["image_sha256"]] for r in rows if r["image_sha256"] in record]
    if not answers:
        return None
    return {"top1": sum(a["top1"] for a in answers), "top3": sum(a["top3"] for a in answers), "images": len(answers)}


def equal_work(q2, rows):
    """bench/q2_budget.json (every method at the default's network work) and whether it measured this run's
    images: its default-method files must be these very files (SHA-256). None when absent or of another network."""
    bench = read_bench(Q2_BUDGET)
    if not bench or bench.get("network") != q2["network"]:
        return None
    mine = {(r["method"], r["class_index"]): hashlib.sha256((q2["folder"] / r["image_file"]).read_bytes()).hexdigest()
            for r in rows if r["method"] == q2["default_method"] and (q2["folder"] / r["image_file"]).is_file()}
    theirs = {(r["method"], r["class_index"]): r["image_sha256"] for r in bench["images"]
              if r["method"] == q2["default_method"]}
    bench["matches"] = bool(mine) and all(theirs.get(k) == v for k, v in mine.items())
    bench["fourier_settings_match"] = all(
        (s.get("fourier_weight"), s.get("rho_power")) == (q2["fourier_weight"], q2.get("rho_power"))
        for s in bench.get("methods", {}).values() if s.get("fourier_weight") is not None)
    return bench


def penalty_figure(fair):
    """The penalty's equal-work images as bench/q2_budget.py drew them, when that record measured this run's images
    with this run's β and p; else None."""
    figure = (fair or {}).get("penalty_figure")
    if not (figure and fair["matches"] and fair["fourier_settings_match"] and (ROOT / figure["file"]).is_file()):
        return None
    return ROOT / figure["file"]


def q2_figure_count(results):
    """Q2's figures in the report: its own, and the equal-work penalty images when they are shown."""
    q2 = results["q2"]
    return len(q2["figures"]) + bool(penalty_figure(equal_work(q2, q2["classes"])))


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
    vlm = blind_naming(q2, rows, "method")
    centre_named = blind_naming(q2, [{**r, "image_file": r["centre_image_file"]} for r in rows
                                     if "centre_image_file" in r], "method")
    record = blind_record()
    sweep = read_bench(Q2_SWEEP) or None
    first = q2.get("figure_classes") or classes[:4]
    fair = equal_work(q2, rows)
    penalties = penalty_figure(fair)
    if penalties:  # the figures in the order they are placed (see `figures` below)
        penalty_number, class_figure, magnitude_figure, spectra_figure = n, n + 1, n + 2, n + 3
    else:
        penalty_number, spectra_figure, class_figure, magnitude_figure = None, n, n + 1, n + 2
    p = q2.get("rho_power", 3.0)

    def named(counts, m, key="top1"):
        return f"{counts[m][key]} of {counts[m]['images']}" if m in counts else "—"

    def work(r):
        return f"{r['work'] / 1e6:.1f} M" if "work" in r else "—"

    fair_table, sweep_text, sweep_table = [], "", []
    if fair:
        fair_rows = fair["images"]
        fair_named = {m: named_by_hash([r for r in fair_rows if r["method"] == m], record) for m in fair["methods"]}
        fair_table = [pdf.table(
            ["method", "steps × views × pixels", "mean logit", "spectral slopes", "sibling judge: top-1 is the class",
             "named by the VLM: top-1 / among 3"],
            [[m, f"{s['steps']} × {s['views']} × {s['view_side']}²",
              fmt(np.mean([r["logit"] for r in fair_rows if r["method"] == m]), 1),
              "{:+.2f} … {:+.2f}".format(*(f([r["spectral_slope"] for r in fair_rows if r["method"] == m])
                                           for f in (min, max))),
              f"{sum(r['recognized'] for r in fair_rows if r['method'] == m)} of "
              f"{sum(r['method'] == m for r in fair_rows)}",
              (f"{fair_named[m]['top1']} / {fair_named[m]['top3']} of {fair_named[m]['images']}"
               if fair_named[m] else "not shown")]
             for m, s in fair["methods"].items()],
            widths=[4.4 * pdf.cm, 2.6 * pdf.cm, 1.6 * pdf.cm, 2.4 * pdf.cm, 2.6 * pdf.cm,
                    pdf.TEXT_WIDTH - 13.6 * pdf.cm],
            lead_in=f"<b>At equal compute</b> (<font name='Mono'>{Q2_BUDGET_COMMAND}</font>, "
                    f"bench/q2_budget.json): every method at the default's {fair['budget_pixels'] / 1e6:.1f} M "
                    "pixel-passes per class image, the same classes and seed; "
                    + ("its default images are this run's very files (SHA-256)" if fair["matches"] else
                       "<b>its images are not this run's files</b> (SHA-256 differ: the code or settings changed "
                       "since it ran; rerun it)")
                    + ("" if fair["fourier_settings_match"] else
                       f"; <b>it ran the 1/w term with β {fair['fourier_weight']:g}, p {fair['rho_power']:g}, not "
                       "this run's</b>") + ". The mean logit is that of the whole image at the network's input "
                    "size; a canvas, optimized on crops, is not comparable there:")]
    if sweep:
        sweep_named = {(s["method"], s["fourier_weight"], s["rho_power"]): named_by_hash(
            [r for r in sweep["images"] if (r["method"], r["fourier_weight"], r["rho_power"]) ==
             (s["method"], s["fourier_weight"], s["rho_power"])], record) for s in sweep["summary"]}
        sweep_table = [pdf.table(
            ["method", "β", "γ of ρ ∝ w<super>−γ</super>", "mean logit", "mean slope", "sibling judge",
             "named by the VLM: top-1 / among 3"],
            [[s["method"], f"{s['fourier_weight']:g}", f"{s['rho_power']:g}", fmt(s["mean_logit"], 1),
              f"{s['mean_slope']:+.2f}", f"{s['judge_recognized']} of {len(sweep['classes'])}",
              (lambda c: f"{c['top1']} / {c['top3']} of {c['images']}" if c else "not shown")(
                  sweep_named[(s["method"], s["fourier_weight"], s["rho_power"])])]
             for s in sweep["summary"]],
            widths=[4.2 * pdf.cm, 1.2 * pdf.cm, 2.4 * pdf.cm, 1.9 * pdf.cm, 1.9 * pdf.cm, 2.2 * pdf.cm,
                    pdf.TEXT_WIDTH - 13.8 * pdf.cm],
            lead_in=f"<b>How β and ρ were chosen</b> (<font name='Mono'>{Q2_BUDGET_COMMAND} --part sweep</font>, "
                    "bench/q2_sweep.json): both penalty methods at the default's work on four classes not in the "
                    f"report ({', '.join(dict.fromkeys(r['class_name'] for r in sweep['images']))}), one setting "
                    "varied at a time about β 20, γ 3. Kept: settings whose mean slope is within "
                    f"{sweep['law_tolerance']:g} of −1; chosen: the kept one with the highest mean class logit; "
                    "the settings in the last column were then named blind:")]
        chosen = sweep["chosen"].get("1/w term + robustness") or next(iter(sweep["chosen"].values()))
        pixel_settings = [s for s in sweep["summary"] if s["method"] == "1/w term"]
        pixel_sd = np.mean([np.std([r["logit"] for r in sweep["images"] if r["method"] == "1/w term"
                                    and (r["fourier_weight"], r["rho_power"]) == (s["fourier_weight"], s["rho_power"])],
                                   ddof=1) for s in pixel_settings])
        pixels = sweep["chosen"].get("1/w term")
        sweep_text = (f"For the penalty with transformations the rule chooses β = {chosen['fourier_weight']:g} and "
                      f"γ = {chosen['rho_power']:g} (mean logit {chosen['mean_logit']:.1f}, mean slope "
                      f"{chosen['mean_slope']:+.2f})"
                      + (f"; for the term on pixels alone it would choose β = {pixels['fourier_weight']:g}, γ = "
                         f"{pixels['rho_power']:g} (mean logit {pixels['mean_logit']:.1f}, a few percent above the "
                         "others', with a slope further from −1)" if pixels and pixels is not chosen
                         and (pixels["fourier_weight"], pixels["rho_power"]) != (chosen["fourier_weight"],
                                                                                chosen["rho_power"]) else "")
                      + ". One setting serves both methods: the pixel method's mean logits (" + "–".join(
                          f"{f(s['mean_logit'] for s in pixel_settings):.1f}" for f in (min, max))
                      + f") differ by less than the spread of its logits over classes (sd {pixel_sd:.1f}, mean over "
                      "settings), and the VLM named none of them more often. This run used "
                      f"β = {q2['fourier_weight']:g}, γ = {p:g}.")
    spectra = pdf.figure(
        q2["folder"] / Path(q2["figures"][2]).with_suffix(".svg"),
        f"Figure {spectra_figure}. Q2 ({network_name(q2)}): radially averaged Fourier magnitude, mean over the "
        "classes of each method, of a natural photo, and the 1/w line, on log-log axes.", max_height=8.5 * pdf.cm)
    classes_figure = pdf.figure(
        q2["folder"] / Path(q2["figures"][0]).with_suffix(".svg"),
        f"Figure {class_figure}. Q2 ({network_name(q2)}): the {len(methods) - 1} methods (rows) on the first "
        f"{len(first)} classes of this run. A canvas is shown by its central half. Under each image the sibling "
        "judge's top-1 class with its probability, and its probability of the intended class (above the column), "
        "on what is shown; contrast-stretched for display, as the VLM saw them. The penalty methods ran at this "
        "run's budget (the table above: a fraction of the default's work)"
        + (f"; Figure {penalty_number} shows the penalty with transformations at equal work." if penalties else
           "; at equal work they are counted in the equal-compute table."),
        max_height=24 * pdf.cm)  # at its own size: images 3.7 cm, text 6.5 pt
    magnitudes = pdf.figure(
        q2["folder"] / Path(q2["figures"][1]).with_suffix(".svg"),
        f"Figure {magnitude_figure}. Q2 ({network_name(q2)}): the magnitude-constrained method beyond Figure "
        f"{class_figure}: first row, the 1/w law itself as the fixed magnitude on the same classes as Figure "
        f"{class_figure} (compare its last row; same seed, crops and steps); then the default on the other "
        f"classes. The other methods' images of those classes are in {q2['folder'].name}/images/ of the result set"
        + "".join(f", as is the 1/w law's image of {', '.join(unshown)}, counted in the tables"
                  for unshown in [[r["class_name"] for r in rows if r["method"] == law
                                   and r["class_index"] not in first]] if unshown)
        + ".", max_height=16 * pdf.cm)
    figures = [spectra, classes_figure, magnitudes]  # the spectra fit under the discussion
    if penalties:  # these fit there instead, and the spectra under the magnitudes
        figures = [pdf.figure(
            penalties,
            f"Figure {penalty_number}. Q2 ({network_name(q2)}): the penalty at its best honest shot, "
            f"{fair['penalty_figure']['method']}, at the default's work (<font name='Mono'>{Q2_BUDGET_COMMAND}"
            f"</font>; β = {q2['fourier_weight']:g}, γ = {p:g}) on the classes of Figure {class_figure}: images "
            "counted in the equal-compute table, drawn as the class images below are.",
            max_height=7 * pdf.cm), classes_figure, magnitudes, spectra]
    return [
        pdf.heading("3. Natural image statistics: the 1/w law as a penalty and as a constraint (Q2)"),
        pdf.text("<b>The question.</b> The class logits (fc8) are visualized (each "
                 f"{objective}) with a prior from natural-image statistics: their Fourier magnitude falls off as "
                 "1/w. The law can enter in two ways; both are compared on the same classes and seed."),
        pdf.text("<b>As a penalty</b> (the assignment's term), added to Q1's objective. It is computed on a "
                 f"reduced copy x<sub>s</sub> of the image ({q2['fourier_size']}×{q2['fourier_size']}, "
                 "box-averaged, mean removed); F<sub>c</sub> = FFT2(x<sub>s,c</sub>) per colour channel c "
                 "(tf.signal.fft2d), w the radial frequency in cycles per image:"),
        pdf.formula(r"R(x) = \beta\ \frac{1}{3}\sum_{c}\ \sum_{w \neq 0} \rho(w)\,\left(\log|F_c(w)| + \log w - "
                    r"\mu_c\right)^2,\qquad \mu_c = \sum_{w\neq 0}\rho(w)\,(\log|F_c(w)| + \log w),"),
        pdf.text(f"with ρ(w) ∝ w<super>−γ</super>, γ = {p:g} (summing to 1) and β = {q2['fourier_weight']:g}, chosen "
                 "for the penalty with transformations by a sweep on other classes and used for both (below); "
                 "R = 0 exactly when every channel's spectrum is c/w. "
                 "The term is tried on pixels alone, with <i>transformation robustness</i> (Olah et al. 2017: "
                 "random padding, shifts, scaling by 0.9–1.1 and rotation by ±10° before every step, the image "
                 "optimized in a <i>decorrelated colour space</i>, three channels uncorrelated in photos that a "
                 "fixed linear map turns into RGB), and beside lucid's <i>Fourier parameterization</i>, which "
                 "scales the optimizer's steps by 1/w but lets the magnitudes move."),
        pdf.text("<b>As a constraint</b> (magnitude-constrained optimization, <i>MaCo</i>, Fel et al. 2023): "
                 "the magnitude spectrum A is fixed and only the phase φ is optimized,"),
        pdf.formula(r"x = 255\,\sigma\!\left(C\;\mathrm{F}^{-1}\!\left[A(w)\,e^{i\varphi(w)}\right]\right),"
                    r"\qquad \min_{\varphi}\ -\frac{1}{K}\sum_{k=1}^{K} z_{\mathrm{class}}\!\left("
                    r"\mathrm{crop}_k(x) + \mathrm{noise}\right),"),
        pdf.text("where F<super>−1</super> is the inverse real FFT (tf.signal.irfft2d) of each decorrelated "
                 "channel, C maps them to RGB and the sigmoid σ to 0–255, and z<sub>class</sub> is the class "
                 "logit. The magnitude stays A whatever the optimizer does (the slopes measured on the saved images "
                 "differ a little from A's: the sigmoid, the colour map and the 8-bit rounding bend them). A is "
                 "either <i>(a) the 1/w law</i>, A<sub>c</sub>(w) = a<sub>c</sub>/w, or "
                 "<i>(b) the photos' spectrum</i>, the mean magnitude of Hann-windowed 256×256 squares of the "
                 "project's six photos (the default); a<sub>c</sub> gives each channel the photos' standard "
                 f"deviation. The image made, the <i>canvas</i>, is {crops['canvas']}×{crops['canvas']} pixels: "
                 f"every step scores K = {crops['count']} random crops of it per class, resized to "
                 f"{crops['resolution']}×{crops['resolution']}, with noise of {crops['noise']:g} grey levels, "
                 f"centred near the middle, their side shrinking from {crops['start']:.0%} to {crops['end']:.0%} "
                 "of the canvas (large crops lay out the object, small ones its parts). The object therefore "
                 "fills the canvas's central half, which the figures show. Adam moves φ (0.5 rad, cosine decay)."),
        pdf.text("<b>Measured.</b> Blind naming by a vision-language model (section 1; bench/blind_naming.json, "
                 "matched to the image files by SHA-256). The <i>sibling judge</i>: EfficientNet-Lite1, never "
                 "used to optimize but of the bundled network's family; its top-1 class being the intended one "
                 "shows that the class is encoded in what the family shares, not that it can be seen. The "
                 "<i>spectral slope</i> (NumPy): the log-log fit of the radially averaged magnitude of the "
                 "box-downsampled 8-bit image over radii 2–31."),
        pdf.table(["method", "steps (pixel-passes)", "named by the VLM: top-1 / among 3",
                   "sibling judge: whole (central half)", "spectral slopes"],
                  [[m + (" (default)" if m == default else ""),
                    f"{by[(classes[0], m)]['steps']} ({work(by[(classes[0], m)])})",
                    f"{named(vlm, m)} / {named(vlm, m, 'top3')}"
                    + (f" (central half: {named(centre_named, m)})" if m in centre_named else ""),
                    (f"{sum(r['recognized'] for r in rows if r['method'] == m)} of "
                     f"{sum(r['method'] == m for r in rows)}"
                     + (f" ({sum(r['centre_recognized'] for r in rows if r['method'] == m)})" if m in centre else "")
                     if rate.get(m) is not None else "absent"),
                    span[m]]
                   for m in methods],
                  widths=[4.4 * pdf.cm, 2.4 * pdf.cm, 3.6 * pdf.cm, 3.2 * pdf.cm, pdf.TEXT_WIDTH - 13.6 * pdf.cm],
                  lead_in="<b>This run</b> (the main command's budget: the penalty methods get a fraction of the "
                          f"default's work; Figures {class_figure}–{magnitude_figure}"
                          + ("" if vlm else "; none of these files was shown to the VLM")
                          + "; — / —: not shown to the VLM; pixel-passes: steps × views × pixels a view):"),
        *fair_table,
        *sweep_table,
        *([pdf.text(sweep_text)] if sweep_text else []),
        pdf.text(
            "<b>Discussion: penalty or constraint.</b> "
            f"With the image-norm prior alone the spectra are flat (slopes {span[baseline]}, like white noise; "
            f"Figure {spectra_figure}). The 1/w term makes the slopes natural ({span['1/w term']}; "
            + (f"the photo {Path(q2['reference']).name}'s is " if "reference" in q2 else "a natural photo's is ")
            + f"{q2['reference_slope']:+.2f}), but a natural spectrum is not a natural picture: the penalty is "
            "a price the optimizer may pay wherever the logit gains more. "
            + penalty_verdict(fair, record, default)
            + (f" Figure {penalty_number} shows the penalty with transformations at equal work." if penalties
               else "")
            + " With the magnitude fixed, every frequency keeps its set energy, up to the sigmoid and the "
            "rounding (slopes "
            f"{span[default]} for the photos' spectrum, {span[law]} for the 1/w law, measured on the saved 8-bit "
            "images), and the optimizer can only decide <i>where</i> things are. "
            + (f"The VLM named the class in {named(vlm, default)} default canvases at the first guess "
               f"({named(vlm, default, 'top3')} among three)"
               + (f" and {named(centre_named, default)} of their central halves, as the figures show them"
                  if default in centre_named else "") + ". " if default in vlm and not fair else "")
            + ("The sibling judge recognizes more central halves than whole canvases: shown whole at its input "
               "size, the object is small. " if rate.get(default) is not None and centre.get(default) is not None
               and rate[default] < centre[default] else
               "" if rate.get(default) is not None else
               "The sibling judge was absent in this run (its weights are not here), so no image was judged. ")
            + "<b>Which source.</b> The photos' spectrum falls off a little faster than 1/w at high frequencies "
            f"(slopes {span[default]} against {span[law]}), so its images carry less fine detail; on the classes "
            f"both were made for (Figures {class_figure}–{magnitude_figure}) "
            + sources_compared(q2, rows, default, law)),
        *figures]


def penalty_verdict(fair, record, default):
    """What the equal-compute comparison says of the penalty against the default, from its numbers."""
    if not fair:
        return ("At equal compute the comparison has not been run for this network "
                f"(<font name='Mono'>{Q2_BUDGET_COMMAND}</font>).")
    counts = {m: named_by_hash([r for r in fair["images"] if r["method"] == m], record) for m in fair["methods"]}
    penalties = [m for m in ("1/w term", "1/w term + robustness") if counts.get(m)]
    if not penalties or not counts.get(default):
        judge = {m: sum(r["recognized"] for r in fair["images"] if r["method"] == m) for m in fair["methods"]}
        return ("At equal compute the sibling judge recognized "
                + ", ".join(f"{judge[m]} ({m})" for m in fair["methods"])
                + "; the equal-compute images have not been named blind yet.")
    best = max(penalties, key=lambda m: counts[m]["top1"])
    c, d = counts[best], counts[default]
    judge = {m: sum(r["recognized"] for r in fair["images"] if r["method"] == m) for m in (best, default)}
    centre = sum(bool(r.get("centre_recognized")) for r in fair["images"] if r["method"] == default)
    return (f"At equal compute (the same work per image), the VLM named {c['top1']} of {c['images']} images of "
            f"the best penalty variant ({best}) at the first guess ({c['top3']} among three), against "
            f"{d['top1']} of {d['images']} ({d['top3']}) for the default"
            + (": the penalty done well is named as often." if c["top1"] >= d["top1"] else
               ": given the same work, the penalty still is named less often." if c["top1"] else
               ": given the same work, the penalty is still not named.")
            + f" The sibling judge, on the other hand, recognized {judge[best]} of {c['images']} of the penalty's "
            f"images and {judge[default]} of the default's whole canvases ({centre} of their central halves): a "
            "network of the bundled network's own family is moved by the penalty's textures, which the VLM does "
            "not read as the class; what a viewer names is the measure this report goes by.")


def sources_compared(q2, rows, default, law):
    """A sentence: the two magnitude sources on the classes both were made for, by the VLM and by the sibling."""
    compared = {r["class_index"] for r in rows if r["method"] == law}
    both = [r for r in rows if r["method"] in (default, law) and r["class_index"] in compared]
    vlm = blind_naming(q2, both, "method")
    vlm_said = (f"the VLM named {vlm[default]['top1']} of {vlm[default]['images']} (photos) and "
                f"{vlm[law]['top1']} of {vlm[law]['images']} (1/w law) at the first guess, "
                if default in vlm and law in vlm else "")
    if any("recognized" not in r for r in both):
        return f"{vlm_said}the sibling judge was absent in this run."
    judge = {m: sum(r["recognized"] for r in both if r["method"] == m) for m in (default, law)}
    return (f"{vlm_said}the sibling judge recognized {judge[default]} and {judge[law]} of {len(compared)} whole "
            "canvases.")


BENCH_RESULTS = ROOT / "bench" / "results.json"
BENCH_COMMAND = "python bench/bench.py --json bench/results.json"


def unsure_vs_sure(cases):
    """A sentence comparing the case the network was least sure of with the one it was surest of (L∞ runs)."""
    cases = [c for c in cases if c["norm"] == "linf"]
    low, high = min(cases, key=lambda c: c["original_prob"]), max(cases, key=lambda c: c["original_prob"])
    if low is high:
        return ""
    return (f"The unsure start (p = {fmt(low['original_prob'], 2)}) needed L∞ {low['linf']:.0f} and "
            f"{low['gradient_steps']} gradient steps, the confident one (p = {fmt(high['original_prob'], 2)}) "
            f"L∞ {high['linf']:.0f} and {high['gradient_steps']}; two cases allow no rule about the starting "
            "probability.")


def norm_name(norm):
    return {"linf": "L∞", "l2": "L2"}[norm]


def case_name(image, target):
    """"chelsea.jpg → fire engine", kept on one line in a table cell."""
    return f"{Path(image).name}&nbsp;→ {target}".replace(" ", "&nbsp;")


def budget_search_table(cases, q3):
    """One row per photo: every L∞ budget tried, in order, how hard, and whether it fooled."""
    def tried(r):
        mark = "✓" if r["fooled"] else "✗"
        return (f"ε&nbsp;{r['budget']}:&nbsp;{mark}&nbsp;{fmt(r['best_p_target'], 3)}"
                + ("" if r["phase"] == "climb" and not r["fooled"] else f"&nbsp;({r['restarts']}×{r['steps']})"))

    rows = [[case_name(Path(c["image"]).stem, c["target_class"]),
             " · ".join(tried(r) for r in c["search"] if r["phase"] == "climb"),
             " · ".join(tried(r) for r in c["search"] if r["phase"] != "climb"), f"<b>{c['linf']:.0f}</b>",
             c["gradient_steps"]] for c in cases]
    return pdf.table(["photo → target", f"climb (1 start × {q3['rung']} steps)",
                      f"hard search ({q3['restarts']} starts × {q3['confirm_steps']} steps)", "ε", "steps"], rows,
                     widths=[118, 152, 150, 24, 36],
                     lead_in="<b>Table: the L∞ search</b>: budgets ε in the order tried, with the best p(target) "
                             "reached (✓: fooled, after starts × steps), the answer ε and the gradient steps in all:")


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


def fooling_bench(q3):
    """The benchmark's last fooling run, if it ran on this run's network (too slow for the main command)."""
    bench = read_bench(BENCH_RESULTS)
    return bench if bench.get("fooling_cases") and bench.get("network") == q3["network"] else None


def results_table(q3, bench, n):
    """This run's cases, then the benchmark's held-out photos, each beside the minimal-norm references in the
    norm of its row; and the rows where ours is larger than the best reference."""
    rows, misses = [], []
    shown = [(c["image"], c["target_class"], c["norm"], c) for c in q3["cases"]]
    held_out = [case.split(" -> ") for case in (bench or {}).get("fooling_cases", [])
                if Path(case.split(" -> ")[0]).name not in {Path(c["image"]).name for c in q3["cases"]}]
    for image, target in held_out:
        for norm in ("linf", "l2"):
            key = f"fooling_{Path(image).stem}_{norm}_ours"
            if f"{key}_{norm}" in bench:
                shown.append((image, target, norm, {
                    "final_prob": bench[f"{key}_p_target"], "linf": bench[f"{key}_linf"], "l2": bench[f"{key}_l2"],
                    "psnr": bench[f"{key}_psnr"], "gradient_steps": bench[f"{key}_gradient_evaluations"]}))
    ran = {who: [n for n in counts if any(f"_{who}{n}_" in key for key in bench or {})]  # step counts run
           for who, counts, _ in REFERENCES}
    for image, target, norm, c in shown:
        stem, ours = Path(image).stem, c[norm]
        refs, best, ratio = ["–"] * len(REFERENCES), None, "–"
        if bench and f"{Path(image).name} -> {target}" in bench["fooling_cases"]:
            refs = ["&nbsp;/ ".join(fmt(bench[f"fooling_{stem}_{norm}_{who}{n}_{norm}"], 0)
                                    if f"fooling_{stem}_{norm}_{who}{n}_{norm}" in bench else "–" for n in ran[who])
                    if norm in norms else "–" for who, _, norms in REFERENCES]
            best = best_reference(bench, stem, norm)
            ratio = fmt(ours / best[1], 2) if best else "–"
            if best and ours > best[1]:
                misses.append((Path(image).name, norm, ours, best))
        value = {m: f"<b>{fmt(c[m], 0)}</b>" if m == norm else fmt(c[m], 0) for m in ("linf", "l2")}
        rows.append([case_name(stem, target), norm_name(norm), fmt(c["final_prob"], 3), value["linf"], value["l2"],
                     fmt(c["psnr"], 1), *refs, ratio])
    extra = len(shown) - len(q3["cases"])
    table = pdf.table(
        ["photo → target", "norm", "p", "L∞", "L2", "PSNR (dB)",
         *(f"{who.upper()}, {'&nbsp;/ '.join(map(str, ran[who]))} steps" for who, _, _ in REFERENCES), "÷ best"],
        rows, widths=[122, 36, 38, 27, 29, 38, 64, 84, 40],
        lead_in=f"<b>Table: results</b> (Figure {n}): p = p(target) after; bold: the norm minimized"
                + (f"; last {extra} rows: photos held out (no setting was chosen on them), run by the benchmark "
                   "(bench/bench.py)" if extra else "")
                + ("; then the references' change in that norm, and ours ÷ the smallest (from the unrounded "
                   "norms; –: not run):"
                   if bench else ":"))
    return table, misses


def comparison_sentences(bench, q3, misses):
    """What the table's reference columns show: how far ours is from the best reference, whether the references
    had converged, the harder check of the L∞ answers, and whether the benchmark measured today's code."""
    if bench is None:
        return (f"The comparison with foolbox's minimal-norm attacks runs in the benchmark (<font name='Mono'>"
                f"{BENCH_ONLY_FOOLING}</font>); no run of it on {q3['network']} is recorded, so it is not quoted here.")
    cases = bench["fooling_cases"]
    photos = list(dict.fromkeys(image for image, *_ in misses))
    met = ("Ours is at most the best reference's change on every row." if not misses else
           "Ours is larger than the best reference only for " + "; ".join(
               f"{photo}: " + ", ".join(f"{norm_name(norm)} {fmt(ours, 0)} against {who}'s {fmt(value, 0)} "
                                        f"({fmt(ours / value, 2)}×)" for image, norm, ours, (who, value) in misses
                                        if image == photo) for photo in photos) + ".")
    for _, norm, _, (who, _) in misses:
        if norm == "linf":
            met += (f" In L∞ our ε is thus not the smallest: {who.split()[0]} found a fooling 8-bit image at a "
                    "budget our search missed.")
            break
    matches = ("The benchmark measured this run's cnnvis/fooling.py and photos (SHA-256)."
               if bench_matches(bench) else
               "<b>The benchmark measured another version of cnnvis/fooling.py or of the photos than this run "
               "(SHA-256)</b>: its numbers may differ from this run's.")
    return f"{met} {check_sentence(bench, cases)} {convergence_sentence(bench, cases)} {matches}"


def convergence_sentence(bench, cases):
    """How much each reference's change still fell between its two longest runs, at most over the photos."""
    parts, falling = [], False
    stems = [Path(c.split(" -> ")[0]).stem for c in cases]
    for who, counts, norms in REFERENCES:
        for norm in norms:
            ran = [s for s in counts if all(f"fooling_{stem}_{norm}_{who}{s}_{norm}" in bench for stem in stems)]
            if len(ran) < 2:
                continue
            a, b = ran[-2:]
            falls = [1 - bench[f"fooling_{s}_{norm}_{who}{b}_{norm}"] / bench[f"fooling_{s}_{norm}_{who}{a}_{norm}"]
                     for s in stems]
            floor = norm == "linf" and all(bench[f"fooling_{s}_{norm}_{who}{b}_{norm}"] <= 1 for s in stems)
            rose = sum(f < -0.02 for f in falls)  # its step sizes follow the step count: more steps can end higher
            falling |= not floor and not rose and max(falls) > 0.02
            parts.append(f"{who.upper()} {norm_name(norm)} {max(falls):.1%} ({a} → {b}"
                         + ("; at the floor, 1 grey level, everywhere)" if floor else
                            f"; more than 2% larger after {b} on {rose} of {len(falls)})" if rose else
                            "; still falling)" if max(falls) > 0.02 else "; stopped)"))
    if not parts:
        return ""
    return ("Largest fall of each reference's change between its two longest runs (steps; from the unrounded "
            "norms): " + "; ".join(parts) + "."
            + (" A reference still falling had not converged: converged, it could beat ours by more."
               if falling else ""))


def check_sentence(bench, cases):
    """What the benchmark's second, 3× harder search at each L∞ answer's ε−1 found."""
    stems = [Path(c.split(" -> ")[0]).stem for c in cases]
    if all(bench[f"fooling_{s}_linf_ours_linf"] <= 1 for s in stems):
        return "Every L∞ answer is 1 grey level: below it is the photo itself, which is not fooled."
    checks = [(Path(c.split(" -> ")[0]).name, check) for c in cases
              if (check := bench.get(f"fooling_{Path(c.split(' -> ')[0]).stem}_linf_ours_below_check"))]
    if not checks:
        return "The benchmark's second search of each answer's ε−1 (3× the starts and steps) was not run."
    return ("Searched again with 3× the starts and steps, " + "; ".join(
        f"{image} at ε = {c['budget']} ({c['restarts']} × {c['steps']}) was {'' if c['fooled'] else 'not '}fooled "
        f"(best p(target) {fmt(c['best_p_target'], 3)})" for image, c in checks) + ".")


BENCH_ONLY_FOOLING = "python bench/bench.py --only fooling --json bench/results.json"


def q3_section(results):
    q3 = results["q3"]
    cases = q3["cases"]
    n = len(results["q1"]["figures"]) + q2_figure_count(results) + 1
    linf = [c for c in cases if c["norm"] == "linf"]
    l2 = [c for c in cases if c["norm"] == "l2"]
    traded = (l2 and linf and all(a["l2"] < b["l2"] and a["linf"] > b["linf"]
                                  and a["changed_fraction"] < b["changed_fraction"] for a, b in zip(l2, linf)))
    bench = fooling_bench(q3)
    table, misses = results_table(q3, bench, n)
    l2_steps = f"of all {l2[0]['gradient_steps']} steps" if l2 else "of all steps"
    return [
        pdf.heading("4. Fooling the network (Q3)"),
        pdf.text("<b>Method.</b> Gradient steps on the pixels of a photo x<sub>0</sub> raise the probability of a "
                 "chosen, completely different class. Fooled means: the target is the top class with p &gt; "
                 f"{q3['min_prob']:g} on the image <i>as saved in 8 bits</i>; the network always sees the image "
                 "rounded to whole grey levels, the gradient passing the rounding unchanged (<i>straight-through</i>"
                 "), so what is optimized is what is saved. The change is measured in grey levels (0–255) as L∞, "
                 "the largest change of any pixel value, and as L2, the root of the summed squares over all pixels "
                 "and channels; each is minimized. <i>Smallest L∞:</i> inside a budget ε, sign steps on −log "
                 "p<sub>target</sub> are projected back into the budget,"),
        pdf.formula(r"x_k = \Pi_{\|x - x_0\|_\infty \leq \varepsilon}\left(x_{k-1} - "
                    r"\alpha_k\,\mathrm{sign}\,\nabla_x(-\log p_{\mathrm{target}}(\mathrm{round}(x_{k-1})))\right),"),
        pdf.text(f"with α<sub>k</sub> decaying from {q3['step']:g}·ε to a tenth of that. A quick climb (1 start × "
                 f"{q3['rung']} steps at ε = 1, 2, …) finds a budget that fools; bisection then searches the budgets "
                 f"below it hard ({q3['restarts']} starts, the photo and random points of the budget, × "
                 f"{q3['confirm_steps']} steps) until the answer's ε−1 fails, and with it every smaller budget (a "
                 "subset of it). <i>Smallest L2:</i> decoupled direction and norm (DDN, Rony et al. 2019): a step "
                 "along the normalized gradient, then the change is rescaled to a length that shrinks by 5% after a "
                 f"fooled step and grows by 5% otherwise; {l2_steps}, the smallest fooling change is kept. Every "
                 "number is measured on the fooled file, written losslessly and re-read; PSNR = "
                 "10·log<sub>10</sub>(255² / mean squared change), in dB."
                 + (" A search cannot prove that nothing smaller fools, so the table sets ours beside foolbox 3's "
                    "minimal-norm attacks: the fast minimum-norm attack (FMN, Pintor et al. 2021), which shrinks or "
                    "grows its allowed norm as it crosses the decision boundary, in L∞ and L2, and foolbox's DDN in "
                    "L2, at several step counts. They stop at the boundary, so their model's target wins only past a "
                    "log-odds margin κ over p = 0.98, doubled from 0.5 until their re-read 8-bit file is fooled."
                    if bench else "")),
        pdf.figure(q3["folder"] / Path(q3["figures"][0]).with_suffix(".svg"),
                   f"Figure {n}. Q3 ({network_name(q3)}): per photo and norm, the original, the fooled image "
                   "re-read from its file, the change amplified (factor above it; grey: unchanged), its red-boxed "
                   "32×32 centre enlarged pixel for pixel, and the fooled image's top 5 (target in red).",
                   max_height=13 * pdf.cm),  # its text at 6 pt
        table,
        *([budget_search_table(linf, q3)] if linf else []),
        pdf.text(comparison_sentences(bench, q3, misses)),
        pdf.text(
            "<b>Discussion.</b> " + "; ".join(
                f"{Path(c['image']).name} ({c['original_class']}, p = {fmt(c['original_prob'], 2)}) became "
                f"{c['target_class']} (p = {fmt(c['final_prob'], 3)}, from {c['target_prob_before']:.1e}) at L∞ "
                f"{c['linf']:.0f} (PSNR {c['psnr']:.1f} dB)" for c in linf)
            + ("." if linf else "")
            + (" The norms trade: " + "; ".join(
                (f"for {Path(a['image']).name} the smallest-L∞ change moves {a['changed_fraction']:.0%} of all "
                 f"pixel values by at most {a['linf']:.0f}, the smallest-L2 one {b['changed_fraction']:.0%} by up to "
                 f"{b['linf']:.0f}" if i == 0 else f"for {Path(a['image']).name} {a['changed_fraction']:.0%} by at "
                 f"most {a['linf']:.0f} against {b['changed_fraction']:.0%} by up to {b['linf']:.0f}")
                for i, (a, b) in enumerate(zip(linf, l2))) + f". L∞ spreads the change over more of the image, L2 "
                f"puts it into fewer, larger changes (Figure {n})." if traded else "")
            + " Neither is visible: across a high-dimensional input many tiny coordinated changes add up to a large "
              "change of the logits. " + unsure_vs_sure(cases))]


def unsure_maps(maps):
    """A sentence on the images whose class the network was unsure of, if any."""
    unsure = sorted({Path(m["image"]).name for m in maps if m["base_prob"] < 0.5})
    if not unsure:
        return ""
    return (f"Where the class starts below p = 0.5 ({', '.join(unsure)}), an occlusion often only moves probability "
            "between similar classes, so the map is flatter. ")


def against_grad_cam(faith, method):
    """Per measure, the photos' differences between `method`'s area and Grad-CAM's: {measure: (mean, standard
    deviation over the photos, photos where `method` is better)}."""
    score = {(r["image"], r["method"]): r for r in faith["per_image"]}
    images = list(dict.fromkeys(r["image"] for r in faith["per_image"]))
    out = {}
    for measure, sign in (("deletion", -1), ("insertion", 1)):  # deletion: lower is better
        d = np.array([score[(i, method)][measure] - score[(i, "Grad-CAM")][measure] for i in images])
        out[measure] = (float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else None, int((sign * d > 0).sum()))
    return out


def verdict(mean, sd, sign):
    """"better", "worse", or "within the spread" when the mean difference is no larger than its standard deviation
    over the photos (or there is only one photo)."""
    if sd is None or abs(mean) <= sd:
        return "within the spread"
    return "better" if sign * mean > 0 else "worse"


def faithfulness_sentences(faith):
    """The discussion of deletion/insertion, from the numbers: each occlusion map against Grad-CAM, photo by photo
    (mean difference ± its standard deviation over the photos); a difference within that spread is no win."""
    n = len(dict.fromkeys(r["image"] for r in faith["per_image"]))
    parts, beyond = [], []
    for m in (m for m in faith["mean"] if m.startswith("occlusion")):
        diff = against_grad_cam(faith, m)
        said = []
        for (measure, (mean, sd, better)), sign in zip(diff.items(), (-1, 1)):
            found = verdict(mean, sd, sign)
            said.append(f"{measure} {mean:+.3f}" + (f" ± {sd:.3f}" if sd is not None else "")
                        + f" ({found}; better on {better} of {n} photos)")
            if found != "within the spread":
                beyond.append(f"{m} is {found} than Grad-CAM by {measure}")
        parts.append(f"{m}: " + ", ".join(said))
    summary = ("; ".join(beyond) + ", beyond the spread over the photos; every other difference is within it"
               if beyond else "no occlusion map differs from Grad-CAM by more than the spread over the photos")
    return (f"{summary}. Each map's area minus Grad-CAM's on the same photo, mean ± sd over the {n} photos (a "
            "difference no larger than its sd is within the spread, not a win): " + "; ".join(parts) + ". ")


def block_sizes(maps):
    """The discussion's sentences on the largest block: the photos where no block of it lowers the probability by
    even a quarter, and on how many photos it lowers the probability further than the smaller blocks."""
    block = max(m["block"] for m in maps)
    largest = [m for m in maps if m["block"] == block]
    weak = [Path(m["image"]).name for m in largest if m["base_prob"] - m["min_prob"] < 0.25 * m["base_prob"]]
    deeper = sum(m["min_prob"] < min(x["min_prob"] for x in maps if x["image"] == m["image"] and x["block"] < block)
                 for m in largest) if any(x["block"] < block for x in maps) else None
    return ((f"On {', '.join(weak)} no {block}-pixel block lowers p by even a quarter, so that map says little about "
             "where the evidence lies. " if weak else "")
            + (f"The {block}-pixel block lowers p further than the smaller one on {deeper} of {len(largest)} photos: "
               "a larger block hides more of the evidence but blurs where it lies. " if deeper is not None else ""))


def occlusion_table(maps):
    """One row per photo: its class and unoccluded p, and per block size and stride the map's lowest p and where."""
    sizes = list(dict.fromkeys((m["block"], m["stride"], m["cells"]) for m in maps))
    lowest = {(m["image"], m["block"], m["stride"], m["cells"]): m for m in maps}
    photos = list(dict.fromkeys(m["image"] for m in maps))
    first = {m["image"]: m for m in reversed(maps)}
    rows = [[Path(i).name, first[i]["class_name"], fmt(first[i]["base_prob"])]
            + [f"{fmt(lowest[(i, *s)]['min_prob'])} at ({lowest[(i, *s)]['min_at'][0]}, "
               f"{lowest[(i, *s)]['min_at'][1]})" if (i, *s) in lowest else "—" for s in sizes] for i in photos]
    fixed = [2.9 * pdf.cm, 2.3 * pdf.cm, 2.4 * pdf.cm]
    return pdf.table(["image", "class", "p unoccluded"]
                     + [f"block {b}, stride {s} ({c}×{c} cells): lowest p at (row, col)"
                        for b, s, c in sizes], rows,
                     widths=fixed + [(pdf.TEXT_WIDTH - sum(fixed)) / len(sizes)] * len(sizes))


def faithfulness_table(faith):
    """Deletion and insertion areas: one row per map and measure, one column per photo, then mean ± sd."""
    images = list(dict.fromkeys(r["image"] for r in faith["per_image"]))
    score = {(r["image"], r["method"]): r for r in faith["per_image"]}

    def spread(m, measure):
        values = [score[(i, m)][measure] for i in images]
        return f"{np.mean(values):.3f}" + (f" ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else "")

    rows = [[m if measure == "deletion" else "", measure]
            + [fmt(score[(i, m)][measure]) for i in images] + [spread(m, measure)]
            for m in faith["mean"] for measure in ("deletion", "insertion")]
    fixed = [3.7 * pdf.cm, 1.9 * pdf.cm, 2.5 * pdf.cm]
    return pdf.table(["map", "area"] + [Path(i).stem for i in images]
                     + ["mean ± sd" if len(images) > 1 else "mean"], rows,
                     widths=fixed[:2] + [(pdf.TEXT_WIDTH - sum(fixed)) / len(images)] * len(images) + fixed[2:])


def fill_colour(q4):
    """The occluder's RGB when it is the network's input-space zero: the mean colour it subtracts."""
    if not q4["maps"][0]["fill_meaning"].startswith("input-space zero"):
        return ""
    rgb = CAFFE_MEAN_BGR[::-1] if q4["network"] == "alexnet" else [255 * m for m in LITE_MEAN_RGB]
    return f", RGB ({', '.join(f'{v:.0f}' for v in rgb)})"


def q4_section(results):
    q4 = results["q4"]
    maps, faith = q4["maps"], q4["faithfulness"]
    n = len(results["q1"]["figures"]) + q2_figure_count(results) + 2
    images = list(dict.fromkeys(r["image"] for r in faith["per_image"]))
    fill = maps[0]["fill_meaning"]
    random = faith["mean"].get("random")
    return [
        pdf.heading("5. Classification heat map by occlusion (Q4)"),
        pdf.text("<b>Method.</b> An occlusion block of B×B pixels slides over the network's input image with stride "
                 f"S; the pixels under it are set to zero — {fill}{fill_colour(q4)} — and the probability p of the "
                 "photo's class is "
                 "recorded. Cell (i, j) of the occlusion map is p with the block's top-left corner at (i·S, j·S); a "
                 f"side has ⌊(size − B)/S⌋ + 1 cells. Figure {n} shows, per pixel, the drop in p (unoccluded "
                 "minus occluded) averaged "
                 "over the block positions covering the pixel, beside Grad-CAM (Selvaraju et al. 2017: the last "
                 "convolutional layer's channels weighted by the gradient of the class logit; here by "
                 f"tf-keras-vis, on {faith['grad_cam_layer']}, the output of that layer). Each photo's class is "
                 "its top-1 class (p in the table); (row, col) is the top-left pixel of the "
                 "block that gives the lowest p:"),
        occlusion_table(maps),
        pdf.text("<b>Is the map right?</b> <i>Deletion</i> and <i>insertion</i> (Petsiuk et al. 2018) take the "
                 "pixels in the order of the map's importance: deletion sets them to "
                 + ("the occluder's fill" if faith["deletion_to"] == fill else faith["deletion_to"])
                 + f", insertion copies them into {faith['insertion_from']}; the score is the area under the curve "
                 f"of p over {faith['steps']} equal steps of pixels, low for deletion and high for insertion if the "
                 "map is faithful. Every map is scored on the same photos: each occlusion map, their mean "
                 f"(multi-scale), Grad-CAM on {faith['grad_cam_layer']} and a random order (the table below; "
                 f"Figure {n + 1}):"),
        faithfulness_table(faith),
        pdf.figure(q4["folder"] / Path(q4["figures"][0]).with_suffix(".svg"),
                   f"Figure {n}. Q4 ({network_name(q4)}): per photo (row), the per-pixel drop in p(class) for each "
                   "block size (red: hiding the pixel lowers p; blue: it raises p; each map on its own colour bar), "
                   "averaged over the block positions covering the pixel, so its peak is below the largest drop of "
                   f"one block (the table above); and Grad-CAM on {faith['grad_cam_layer']}.",
                   max_height=19 * pdf.cm, lossless=False),  # photos and smooth maps: JPEG loses nothing one sees
        pdf.figure(q4["folder"] / Path(q4["figures"][1]).with_suffix(".svg"),
                   f"Figure {n + 1}. Q4 ({network_name(q4)}): deletion (top) and insertion (bottom) curves of "
                   "every map, one column per photo.", max_height=9.7 * pdf.cm),  # its text at 6 pt
        pdf.text(
            "<b>Discussion.</b> " + block_sizes(maps) + unsure_maps(maps)
            + "Against Grad-CAM: " + faithfulness_sentences(faith)
            + (f"A random order (means: deletion {fmt(random['deletion'])}, insertion {fmt(random['insertion'])}) is "
               "worse than every map on both, so the scores separate maps from chance. "
               if random and all(random["deletion"] > v["deletion"] and random["insertion"] < v["insertion"]
                                 for m, v in faith["mean"].items() if m != "random") else "")
            + (f"Cautions: {len(images)} photos are too few for a firm ranking, and deletion uses the occluder's "
               "fill, which favours the occlusion maps over Grad-CAM." if faith["deletion_to"] == fill else
               f"Caution: {len(images)} photos are too few for a firm ranking."))]


def theory_section():
    f = pdf.formula
    return [
        pdf.heading("6. Theoretical questions"),
        pdf.heading("1.1 Receptive field (support) of a last-layer neuron", 2),
        pdf.text("Since (I∗f<sub>1</sub>)∗f<sub>2</sub> = I∗(f<sub>1</sub>∗f<sub>2</sub>), stacked filters of "
                 "supports k<sub>1</sub>, k<sub>2</sub> act as one of support k<sub>1</sub> + k<sub>2</sub> − 1; a "
                 "stride s inserts s − 1 zeros between the taps of every later filter, which then spans (k − 1)s + 1 "
                 "pixels. For kernels k<sub>l</sub> and strides s<sub>l</sub>, l = 1…L:"),
        f(r"r_L = 1 + \sum_{l=1}^{L} (k_l - 1)\prod_{i=1}^{l-1} s_i"),
        pdf.table(["network", "computation", "receptive field"], [
            ["(i) conv1 7×7", "1 + 6", "<b>7×7</b>"],
            ["(ii) three 3×3 convs", "1 + 2 + 2 + 2", "<b>7×7</b>"],
            ["(iii) 5×5, then 3×3", "1 + 4 + 2", "<b>7×7</b>"],
            ["(iv) 5×5 stride 2, then 3×3", "1 + 4 + 2·2", "<b>9×9</b>"]],
            widths=[5 * pdf.cm, 4 * pdf.cm, 3 * pdf.cm]),
        pdf.heading("1.2 Filter weights and multiplications in (i) and (iii)", 2),
        pdf.table(["", "(i) one 7×7 layer", "(iii) 5×5 then 3×3"], [
            ["filter weights", "49·C<sub>in</sub>·C (49)", "25·C<sub>in</sub>·C + 9·C² (34)"],
            ["multiplications per output pixel, intermediate layer shared",
             "49·C<sub>in</sub>·C (49)", "25·C<sub>in</sub>·C + 9·C² (34)"],
            ["… one output pixel alone (3×3 intermediate values recomputed)",
             "49·C<sub>in</sub>·C (49)", "9·25·C<sub>in</sub>·C + 9·C² (234)"],
            ["… the whole N×N image", "49·N²·C<sub>in</sub>·C", "(25·C<sub>in</sub>·C + 9·C²)·N²"]],
            widths=[9 * pdf.cm, 3 * pdf.cm, 5 * pdf.cm],
            lead_in="Assume stride 1, 'same' padding (N×N pixels per layer), C<sub>in</sub> input and C later "
                    "channels, no biases; one multiplication per weight per output pixel. In brackets: "
                    "C<sub>in</sub> = C = 1."),
        pdf.text("(iii) needs fewer weights than (i) exactly when 25·C<sub>in</sub>·C + 9·C² &lt; "
                 "49·C<sub>in</sub>·C, i.e. C &lt; 8C<sub>in</sub>/3: with C<sub>in</sub> = C, 34 against 49, "
                 "about 31% fewer, and as many fewer multiplications when its intermediate layer is computed once; "
                 "on an RGB input (C<sub>in</sub> = 3) with C = 64 it needs more (41,664 against 9,408). With a "
                 "nonlinearity between the layers (iii) is also more expressive (without one, only 7×7 filters that "
                 "factor as 5×5 ∗ 3×3)."),
        pdf.heading("1.3 How the support grows with the stride", 2),
        pdf.text("Each layer adds (k<sub>l</sub> − 1) times the product of all earlier strides, so a stride "
                 "multiplies the growth from every later layer: linear in depth without strides, r<sub>L</sub> = "
                 "1 + L(k − 1), geometric with stride s in every layer (in (iv) the stride 2 doubles the 3×3 "
                 "layer's contribution, 2 → 4: 9, not 7; the last layer's own stride sets only the spacing of its "
                 "neurons):"),
        f(r"r_L = 1 + (k-1)\,\frac{s^L - 1}{s - 1},\qquad \mathrm{e.g.}\ k=3,\ s=2:\ r_L = 2^{L+1} - 1."),
        pdf.heading("2. Deep versus shallow: O(n) neurons for any signs of α<sub>j</sub>", 2),
        pdf.text("Let the shallow ReLU network be"),
        f(r"f(x) = \sum_{j=1}^{n} \alpha_j\,\sigma(w_j^\top x + b_j),\qquad \sigma(z) = \max(z, 0),\quad "
          r"x \in \mathbb{R}^d."),
        pdf.text("In class, ReLUs passed on the running sum of α<sub>j</sub>h<sub>j</sub>, which needs it "
                 "non-negative: hence α<sub>j</sub> &gt; 0. Instead keep two non-negative accumulators, P "
                 "(positive terms) and N (negative terms), and carry the input as x = σ(x) − σ(−x). With "
                 "α<super>±</super> = max(±α,&nbsp;0), the deep network has n hidden layers "
                 "ℓ = 1…n of 2d + 3 neurons (u<sub>ℓ</sub>, v<sub>ℓ</sub> ∈ ℝ<super>d</super>, h<sub>ℓ</sub>, "
                 "P<sub>ℓ</sub>, N<sub>ℓ</sub>), each reading only the layer below. <b>Layer 1</b> reads the "
                 "input x:"),
        f(r"u_1 = \sigma(x),\quad v_1 = \sigma(-x),\quad h_1 = \sigma(w_1^\top x + b_1),\quad "
          r"P_1 = N_1 = 0."),
        pdf.text("<b>Layer ℓ = 2…n</b> reads layer ℓ − 1:"),
        f(r"u_\ell = \sigma(u_{\ell-1}),\quad v_\ell = \sigma(v_{\ell-1}),\quad "
          r"h_\ell = \sigma\left(w_\ell^\top (u_{\ell-1} - v_{\ell-1}) + b_\ell\right),"),
        f(r"P_\ell = \sigma\left(P_{\ell-1} + \alpha_{\ell-1}^{+}\,h_{\ell-1}\right),\qquad "
          r"N_\ell = \sigma\left(N_{\ell-1} + \alpha_{\ell-1}^{-}\,h_{\ell-1}\right)."),
        pdf.text("As σ is the identity on non-negative values, by induction u<sub>ℓ</sub> = σ(x), v<sub>ℓ</sub> "
                 "= σ(−x), so u<sub>ℓ−1</sub> − v<sub>ℓ−1</sub> = x and h<sub>ℓ</sub> = "
                 "σ(w<sub>ℓ</sub><super>⊤</super>x + b<sub>ℓ</sub>) is the ℓ-th hidden unit, and P<sub>ℓ</sub> = "
                 "Σ<sub>j&lt;ℓ</sub> α<sub>j</sub><super>+</super>h<sub>j</sub>, N<sub>ℓ</sub> = "
                 "Σ<sub>j&lt;ℓ</sub> α<sub>j</sub><super>−</super>h<sub>j</sub>. A linear output neuron on layer n "
                 "gives"),
        f(r"f(x) = \left(P_n + \alpha_n^{+} h_n\right) - \left(N_n + \alpha_n^{-} h_n\right) "
          r"= \sum_{j=1}^{n} (\alpha_j^{+} - \alpha_j^{-})\,h_j = \sum_{j=1}^{n}\alpha_j\,h_j."),
        pdf.text("That is (2d + 3)n + 1 = O(n) neurons for a fixed input dimension d (O(nd) in general), for any "
                 "signs of α<sub>j</sub> and any input."),
        pdf.heading("3. Training complexity vs. NP-completeness", 2),
        pdf.text("No contradiction. NP-completeness (e.g. Blum and Rivest: does a small network have weights that "
                 "fit a training set exactly?) concerns the <i>global</i> optimum. Gradient descent stops wherever "
                 "the gradient vanishes (a local minimum, a saddle point, a plateau) and certifies nothing about "
                 "global optimality: from a bad initialization it can stop at a poor point while a perfect fit "
                 "exists. So a fixed number of operations to reach <i>a</i> stationary point decides nothing. Nor "
                 "need that number be small: fixed for every initialization, it may still grow exponentially with "
                 "the size of the network and the data. A contradiction (P = NP) would follow only if the count "
                 "were polynomial in the problem size <i>and</i> the point reached were a global minimum on every "
                 "instance."),
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
    title = submission_name(names)
    report = check_report_path(names, args.out)
    for record in (BENCH_RESULTS, BLIND_NAMING, Q2_BUDGET, Q2_SWEEP):  # a damaged record is named now, not later
        read_bench(record)
    listed_photos()  # images/SOURCES.txt, read by Q1, Q2 and the ZIP: a broken line is named before the computing
    start = time.perf_counter()
    results = ensure_results(args)
    story = title_page(names, results) + code_section(results)
    for question, section in (("q1", q1_section), ("q2", q2_section), ("q3", q3_section), ("q4", q4_section)):
        story += checked_section(section, results, question)
    story += theory_section()
    existed = report.is_file()
    try:
        path = pdf.build(report, story, title="Assignment 2: Visualizing and Fooling a CNN",
                         author=", ".join(names), footer=f"{title} — {' and '.join(names)} — results: "
                                                         f"{network_name(results['q1'])}",
                         keywords=sources_line([r["folder"] / RESULTS_FILE for r in results.values()], args.out))
    except OSError as e:
        raise UserError(f"the report {report} was not written ({files.reason(e)}): "
                        f"{'the earlier report there is unchanged' if existed else 'no report was made'}, the four "
                        f"questions' results are kept under {args.out} and the names were not remembered; "
                        f"{files.remedy(e)} and run python make_report.py again (it reuses the results).") from None
    print(f"wrote {path} ({time.perf_counter() - start:.0f} s)", flush=True)
    if args.names:
        try:
            remember(names)  # only once the report exists
        except OSError as e:
            print(not_remembered(f"the report {path}", e), file=sys.stderr)
    for caption, points in pdf.small_text(story):
        print(f"warning: {caption}… prints text at {points:g} pt, under {pdf.MIN_TEXT_PT:g} pt: make its figure's "
              f"fonts larger or the figure narrower")
    return 0


def check_report_path(names, out):
    """Before the computing: the report's file name (and the ZIP's, in the project) fits, and no folder sits
    where the report goes; a stale temporary copy of a killed run is removed."""
    check_file_names(names, out, ROOT)
    report = out / f"{submission_name(names)}.pdf"
    if report.is_dir():
        raise UserError(f"{report} is a folder, where the report would be written; move it away or give another "
                        f"--out.")
    files.clean_stale_parts(out)
    return report


if __name__ == "__main__":
    cli.run(main)
