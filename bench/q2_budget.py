"""Q2 at equal compute: every method at the default's network work, and the sweep that chose the 1/w term's β and ρ.

Network work per class image is counted as steps × views × pixels of each view the network scores
(cnnvis.spectrum.work). The default (magnitude-constrained, the photos' spectrum) does 64 steps × 8 crops × 128²;
here every method gets that much (a method that scores one 224² view a step: 167 steps), which the main command
cannot pay for. Every image is measured on the network (its class logit, seen whole), its spectrum measured
(slope of the radially averaged magnitude, NumPy), and shown to the sibling judge; the JSON records each image
file's SHA-256, so the report quotes these numbers only for the very files it shows (and says when they differ).

    python bench/q2_budget.py                # both parts: bench/q2_budget.json and bench/q2_sweep.json
    python bench/q2_budget.py --part sweep   # only the sweep of β and ρ

The sweep (--part sweep): the two penalty methods (the 1/w term on pixels; with lucid's transformations and
decorrelated colour) at β ∈ SWEEP_WEIGHTS and ρ ∝ w^-p, p ∈ SWEEP_POWERS (one varied at a time, SWEEP_GRID),
at the default's work, on SWEEP_CLASSES,
classes that are not the report's. A setting is *on the law* when its images' mean slope is within LAW_TOLERANCE
of -1; among those, the one whose images reach the highest mean class logit is chosen (`choose`); the best few
were then named blind (bench/blind_naming.json).
"""
import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root, wherever this is run from
from cnnvis import __version__  # noqa: E402  (after the project root is on the path)
import alexnet  # noqa: E402
from cnnvis import spectrum  # noqa: E402
from cnnvis.class_grid import central, plot_grid, verdict_lines  # noqa: E402
from cnnvis.files import read_json, write_json  # noqa: E402
from cnnvis.imaging import save_image  # noqa: E402
from cnnvis.judge import JUDGE, Judge  # noqa: E402
from cnnvis.optimize import Neuron, seen_whole, visualize  # noqa: E402

HERE = Path(__file__).resolve().parent
SWEEP_CLASSES = ("king penguin", "jellyfish", "fire engine", "broccoli")  # none of the report's ten
SWEEP_WEIGHTS = (5.0, 20.0, 80.0)  # β
SWEEP_POWERS = (1.0, 2.0, 3.0)  # ρ(w) ∝ w^-p
# One value varied at a time about the former setting (β 20, p 3): every β at p 3, every p at β 20 — five
# settings, not all nine pairs (the sweep's CPU time; the grid is recorded in the JSON).
SWEEP_GRID = tuple([(b, 3.0) for b in SWEEP_WEIGHTS] + [(20.0, p) for p in SWEEP_POWERS if p != 3.0])
SWEEP_METHODS = ("1/w term", "1/w term + robustness")
LAW_TOLERANCE = 0.2  # |mean slope + 1| of a setting on the law


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def tag(text):
    return "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")


def measured(net, judge, images, classes, crops, files):
    """One row per image: its class logit and p on the network (seen whole), slope, the judge's verdict (and
    on the central part where the crops were, for a canvas), its file and the file's SHA-256."""
    acts = net.activations(seen_whole(net, images), [net.logits_layer, "prob"])
    logits, prob = acts[net.logits_layer].numpy(), acts["prob"].numpy()
    verdicts = judge(images, classes)
    if crops:
        centres = judge([central(img, crops.start) for img in images], classes)
        verdicts = [{**v, **{"centre_" + k: x for k, x in c.items()}} for v, c in zip(verdicts, centres)]
    return [{"class_index": int(c), "class_name": net.classes[c], "logit": float(logits[i, c]),
             "prob": float(prob[i, c]), "top_class": net.classes[int(prob[i].argmax())],
             "spectral_slope": spectrum.spectral_slope(images[i]), **verdicts[i],
             "image_file": f.relative_to(HERE.parent).as_posix(), "image_sha256": sha256(f)}
            for i, (c, f) in enumerate(zip(classes, files))]


def run(net, method, prior, steps, classes, seed=0):
    rgb = visualize(net, [Neuron(net.logits_layer, c) for c in classes], None, method, steps, seed, prior)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def equal_budget(net, judge, folder, classes, only=None):
    """Every Q2 method (or those named in `only`) at the default's work, on the report's classes (LAW on its
    first COMPARED)."""
    table = spectrum.methods()
    budget = spectrum.work(table[spectrum.DEFAULT][0], net, spectrum.STEPS)
    rows, settings = [], {}
    for name, (method, prior) in table.items():
        if only and name not in only:
            continue
        mine = classes[:spectrum.COMPARED] if name == spectrum.LAW else classes
        method, steps = spectrum.at_work(method, net, budget)
        start = time.perf_counter()
        images = run(net, method, prior, steps, mine)
        seconds = time.perf_counter() - start
        files = [save_image(folder / f"{tag(name)}_{c}.png", img) for c, img in zip(mine, images)]
        if method.crops:  # what the report's figure shows of a canvas: the central part the crops concentrated on
            for c, img in zip(mine, images):
                save_image(folder / f"{tag(name)}_{c}_centre.png", central(img, method.crops.start))
        settings[name] = {**method.describe(), "fourier_weight": spectrum.FOURIER_WEIGHT if prior else None,
                          "rho_power": spectrum.RHO_POWER if prior else None, "steps": steps, "views": method.views(),
                          "view_side": spectrum.view_side(method, net), "work": spectrum.work(method, net, steps),
                          "seconds_per_image": seconds / len(mine)}
        rows += [{"method": name, **r} for r in measured(net, judge, images, mine, method.crops, files)]
        print(f"{name}: {steps} steps, {seconds / len(mine):.1f} s per image", flush=True)
    return {"budget_pixels": budget, "fourier_weight": spectrum.FOURIER_WEIGHT, "rho_power": spectrum.RHO_POWER,
            "methods": settings, "images": rows}


PENALTY = "1/w term + robustness"  # the assignment's term at its best honest shot: its β and ρ from the sweep
FIGURE_CLASSES = 4  # the report's Q2 figure shows every method on its first four classes; so does this one


def penalty_figure(net, record):
    """PENALTY's equal-work images of the first FIGURE_CLASSES classes, drawn as the report's Q2 figure draws its
    images (HERE/q2_budget_penalty.svg, beside the JSON that counts them), if every image file is the one `record`
    measured (SHA-256). Returns the figure's entry for the JSON, or None."""
    classes = list(dict.fromkeys(r["class_index"] for r in record["images"]))[:FIGURE_CLASSES]
    by = {(r["method"], r["class_index"]): r for r in record["images"]}
    rows = [by.get((PENALTY, c)) for c in classes]
    root = HERE.parent
    if any(r is None or not (root / r["image_file"]).is_file() or sha256(root / r["image_file"]) != r["image_sha256"]
           for r in rows):
        print(f"penalty figure not drawn: the image files of {PENALTY} are not the ones measured", flush=True)
        return None
    cells = [(np.asarray(Image.open(root / r["image_file"]).convert("RGB")), net.classes[r["class_index"]],
              verdict_lines(r)) for r in rows]
    path = plot_grid(net, cells, len(classes), HERE / "q2_budget_penalty",
                     [f"{PENALTY}, {record['methods'][PENALTY]['steps']} steps"])
    return {"file": f"bench/{path.with_suffix('.svg').name}", "method": PENALTY, "classes": classes,
            "image_sha256": [r["image_sha256"] for r in rows]}


def merged(new, before):
    """`new` with the other methods of `before` (an earlier run at the same work; each method records its own
    1/w settings), in the method table's order."""
    if before and all(before.get(k) == new[k] for k in ("network", "budget_pixels")):
        new = {**new, "methods": {**{m: s for m, s in before["methods"].items() if m not in new["methods"]},
                                  **new["methods"]},
               "images": [r for r in before["images"] if r["method"] not in new["methods"]] + new["images"]}
    order = list(spectrum.methods())
    return {**new, "methods": dict(sorted(new["methods"].items(), key=lambda kv: order.index(kv[0]))),
            "images": sorted(new["images"], key=lambda r: order.index(r["method"]))}


def choose(summary):
    """The setting on the law (|mean slope + 1| ≤ LAW_TOLERANCE) whose images reach the highest mean logit;
    if none is on the law, the one closest to it. summary: rows with mean_slope and mean_logit."""
    on_law = [s for s in summary if abs(s["mean_slope"] + 1) <= LAW_TOLERANCE]
    if on_law:
        return max(on_law, key=lambda s: s["mean_logit"])
    return min(summary, key=lambda s: abs(s["mean_slope"] + 1))


def sweep(net, judge, folder, classes):
    """β × ρ for each penalty method, all settings of a method in one batch (β and ρ per image)."""
    table = spectrum.methods()
    budget = spectrum.work(table[spectrum.DEFAULT][0], net, spectrum.STEPS)
    grid = SWEEP_GRID
    rows, summary = [], []
    for name in SWEEP_METHODS:
        method, steps = spectrum.at_work(table[name][0], net, budget)
        weights = [b for b, _ in grid for _ in classes]
        powers = [p for _, p in grid for _ in classes]
        prior = spectrum.fourier_prior(weights, spectrum.FOURIER_SIZE, powers)
        start = time.perf_counter()
        images = run(net, method, prior, steps, list(classes) * len(grid))
        print(f"sweep {name}: {len(images)} images, {steps} steps, {time.perf_counter() - start:.0f} s", flush=True)
        for k, (b, p) in enumerate(grid):
            part = images[k * len(classes):(k + 1) * len(classes)]
            files = [save_image(folder / f"{tag(name)}_b{b:g}_p{p:g}_{c}.png", img) for c, img in zip(classes, part)]
            mine = [{"method": name, "fourier_weight": b, "rho_power": p, "steps": steps, **r}
                    for r in measured(net, judge, part, classes, None, files)]
            rows += mine
            summary.append({"method": name, "fourier_weight": b, "rho_power": p,
                            "mean_logit": float(np.mean([r["logit"] for r in mine])),
                            "mean_slope": float(np.mean([r["spectral_slope"] for r in mine])),
                            "judge_recognized": sum(r["recognized"] for r in mine)})
    chosen = {name: choose([s for s in summary if s["method"] == name]) for name in SWEEP_METHODS}
    return {"classes": list(classes), "class_names": [net.classes[c] for c in classes],
            "grid": [list(g) for g in SWEEP_GRID],
            "law_tolerance": LAW_TOLERANCE, "budget_pixels": budget, "rule": choose.__doc__.split("\n")[0],
            "summary": summary, "chosen": chosen, "images": rows}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--part", choices=("both", "budget", "sweep"), default="both")
    p.add_argument("--methods", nargs="+", choices=list(spectrum.methods()), metavar="METHOD",
                   help="equal-work part: run only these methods, keeping the others' rows from bench/q2_budget.json "
                        "when it was made with the same settings")
    p.add_argument("--images", default=str(HERE.parent / "report" / "q2_budget"),
                   help="folder for the images (the JSON records their SHA-256)")
    args = p.parse_args()
    net = alexnet.load("efficientnet-lite0")
    judge = Judge()
    folder = Path(args.images)
    header = {"network": net.name, "judge": JUDGE, "command": "python bench/q2_budget.py --part " + args.part}
    if args.part in ("both", "sweep"):
        classes = [net.classes.find(c) for c in SWEEP_CLASSES]
        write_json(HERE / "q2_sweep.json", {**header, **sweep(net, judge, folder / "sweep", classes)})
    if args.part in ("both", "budget"):
        classes = [net.classes.find(c) for c in spectrum.CLASSES]
        new = {**header, **equal_budget(net, judge, folder / "budget", classes, args.methods)}
        path = HERE / "q2_budget.json"
        record = merged(new, read_json(path) if args.methods and path.is_file() else None)
        write_json(path, {**record, "penalty_figure": penalty_figure(net, record)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
