"""Q3 — Fooling the network: the smallest change that makes it see a completely different class.

Start from a photo the network classifies correctly (at its input resolution, S×S) and take a few
gradient steps on the pixels that raise the chosen target class (minimal change, maximal influence), in
one of two senses of "little" (cnnvis.fooling):
- L∞ (the largest change of any pixel): the smallest integer budget ε, in grey levels, whose 8-bit image fools
  the network. Sign-gradient steps inside the budget; a quick climb (one start, 10 steps a budget, ε = 1, 2, …)
  gives an upper bound, then bisection searches each budget hard (4 starts, the photo and 3 random points of the
  budget, × 30 steps) until the answer's ε−1 has failed that search. Every budget tried is recorded.
- L2 (the total change): steps along the normalized gradient with the change rescaled to a length that
  shrinks while the image fools the network and grows while it does not (decoupled direction and norm, DDN);
  the smallest fooling change of 100 steps is kept.
The network always sees the image *as saved in 8 bits*: fooled means the target is the top class with
p_target > --min-prob on that image. The fooled image is written losslessly and re-read from disk before it
is judged. bench/bench.py compares both with foolbox's minimal-norm attacks run until they converge.

    python q3_fool.py                                        # the report's experiment
    python q3_fool.py --image images/coffee.jpg --target ostrich --norm l2
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt

from alexnet import shown
from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.files import short_stem
from cnnvis.imaging import network_label, read_image, save_figure, save_image
from cnnvis.fooling import CONFIRM_STEPS, DEFAULT_CASES, RESTARTS, change_metrics, fool, probabilities

NORMS = {"linf": "smallest L∞", "l2": "smallest L2"}


# ---------------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------------
FONT = 7  # points at print size: the report places this figure (about 60% of a page) at the text width, 17 cm,
#  a little under its saved width, and never shrinks it so far that text prints under 6 pt
CROP = 32  # side of the zoomed crop, in pixels
SIDE, GAP, LINE = 1.14, 0.06, 0.16  # inches at print size: an image (2.9 cm), the gap between panels, a text line
WIDTH = 6.69  # the report's text width, in inches


def top5_bars(ax, net, prob, highlight):
    """The five most probable classes as bars, each named with its p above it (target in red)."""
    top = prob.argsort()[::-1][:5]
    for y, i in enumerate(top):
        ax.barh(-y, prob[i], height=0.3, color="tab:red" if i == highlight else "tab:blue")
        ax.text(0, -y + 0.17, f"{net.classes[i]} {prob[i]:.3f}", fontsize=FONT, va="bottom")
    ax.set_xlim(0, 1)
    ax.set_ylim(-4.2, 0.9)
    ax.axis("off")


def fitted(fig, text, width_in):
    """`text`, its part before " → " shortened with "…" until it is at most `width_in` inches wide in bold."""
    renderer = fig.canvas.get_renderer()
    label = fig.text(0, 0, text, fontsize=FONT, weight="bold")
    head, tail = text.split(" → ", 1) if " → " in text else (text, "")
    while label.get_window_extent(renderer).width / fig.dpi > width_in and len(head) > 4:
        head = head[:-2] + "…"
        label.set_text(f"{head} → {tail}" if tail else head)
    label.remove()
    return label.get_text()


def plot_cases(net, cases, stem):
    """Per case (photo and norm) a row: the original, the fooled image, their difference amplified so that the
    largest change is black or white, a crop of that difference enlarged pixel for pixel, and the top-5 classes
    of the fooled image; a line above the row names the case and the amplification."""
    rows = len(cases)
    height = 2 * LINE + rows * (LINE + SIDE + GAP)
    fig = plt.figure(figsize=(WIDTH, height))
    size = cases[0][0].shape[0]
    corner = (size - CROP) // 2
    zoom = size // CROP  # each pixel of the crop becomes zoom×zoom pixels: no interpolation can blur it
    x = [i * (SIDE + GAP) for i in range(5)]  # left edges of the columns, in inches
    bars = WIDTH - x[4]

    def at(x_in, y_in):  # inches from the top left -> figure fraction
        return x_in / WIDTH, 1 - y_in / height

    fig.text(*at(WIDTH / 2, 0), f"Q3: fooling — {network_label(net)}", fontsize=FONT, ha="center", va="top")
    for col, title in enumerate(("original", "fooled (8-bit file)", "change, amplified", f"red box, enlarged ×{zoom}",
                                 "fooled: top 5 classes")):
        fig.text(*at(x[col] + (SIDE / 2 if col < 4 else 0), 2 * LINE - 0.02), title, fontsize=FONT,
                 ha="center" if col < 4 else "left", va="bottom", style="italic")
    for r, case in enumerate(cases):
        original, fooled, before, after, info = case
        top = 2 * LINE + r * (LINE + SIDE + GAP) + LINE  # the images' top edge, in inches
        gain = 127.5 / max(info["linf"], 1)
        amplified = np.clip(0.5 + gain * (fooled.astype(np.float64) - original) / 255.0, 0, 1)
        crop = np.repeat(np.repeat(amplified[corner:corner + CROP, corner:corner + CROP], zoom, 0), zoom, 1)
        for col, image in enumerate((original, fooled, amplified, crop)):
            ax = fig.add_axes([*at(x[col], top + SIDE), SIDE / WIDTH, SIDE / height])
            ax.imshow(image, interpolation="none")  # embedded as it is: a vector file would resample it at 72 dpi
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 2:
                ax.add_patch(plt.Rectangle((corner - 0.5, corner - 0.5), CROP, CROP, fill=False, edgecolor="red",
                                           lw=1.5))
        top5_bars(fig.add_axes([*at(x[4], top + SIDE), bars / WIDTH, SIDE / height]), net, after,
                  info["target_index"])
        heading = f"{Path(info['image']).name} → {info['target_class']}, {NORMS[info['norm']]}"
        for x_in, text, style in ((x[0], fitted(fig, heading, 2 * SIDE + GAP), {"weight": "bold"}),
                                  (x[2] + SIDE / 2, f"change ×{gain:.0f}", {"ha": "center"}),
                                  (x[4], fitted(fig, f"before: {info['original_class']} {info['original_prob']:.2f}",
                                                bars), {})):
            fig.text(*at(x_in, top - 0.03), text, fontsize=FONT, va="bottom", **style)
    return save_figure(fig, stem)


def main():
    p = cli.parser("Q3: change an image as little as possible so the network classifies it as another class.")
    p.add_argument("--image", type=cli.existing_file,
                   help="photo to fool the network with; without it, the report's two cases run")
    p.add_argument("--target", type=cli.class_name,
                   help="class to make the network see, by index or (partial) name")
    p.add_argument("--min-prob", type=cli.number(float, 0, 0.9999), default=0.98,
                   help="stop only once p(target) exceeds this")
    p.add_argument("--norm", nargs="+", choices=sorted(NORMS), default=["linf", "l2"],
                   help="which change to minimize: the largest per pixel (linf) or the total (l2); default both")
    p.add_argument("--max-steps", type=cli.number(int, 1, 10000),
                   help=f"linf: steps of each start when a budget is searched hard (default {CONFIRM_STEPS}); l2: "
                        "steps, all taken (default 100)")
    p.add_argument("--restarts", type=cli.number(int, 1, 256), default=RESTARTS,
                   help="linf: starts when a budget is searched hard (the photo, then random points of the budget)")
    p.add_argument("--step", type=cli.number(float, 0, 1, low_open=True), default=0.5,
                   help="linf: first step within each budget, as a fraction of the budget")
    p.add_argument("--rung", type=cli.number(int, 1, 10000), default=10,
                   help="linf: steps at each budget of the quick climb before it grows by one grey level")
    args = p.parse_args()
    if (args.image is None) != (args.target is None):
        raise UserError("give both --image and --target, or neither for the report's experiment.")
    net = cli.load_network(args)
    cases = DEFAULT_CASES if args.image is None else ((args.image, args.target),)
    cases = [(image, net.classes.find(target)) for image, target in cases]  # every name checked before any work
    with cli.result_set(p, args, "q3", net) as result_set:
        rows, plotted = [], []
        for image_path, target in cases:
            for norm in dict.fromkeys(args.norm):  # a norm named twice runs once
                info, pictures = fool_case(net, args, image_path, target, norm, result_set)
                rows.append(info)
                plotted.append((*pictures, info))
        figure = plot_cases(net, plotted, result_set.path("figures/q3"))
        path = result_set.write_results({**cli.header(args, net, result_set.final.name), "min_prob": args.min_prob,
                                         "step": args.step, "rung": args.rung, "restarts": args.restarts,
                                         "confirm_steps": args.max_steps or CONFIRM_STEPS, "cases": rows,
                                         "figures": [result_set.relative(figure)]})
    for r in rows:
        print(f"{r['image']}: {r['original_class']} (p {r['original_prob']:.3f}) -> {r['target_class']} "
              f"(p {r['final_prob']:.4f}), {NORMS[r['norm']]}, {r['gradient_steps']} gradient steps; "
              f"L∞ {r['linf']:.0f}, L2 {r['l2']:.1f}, PSNR {r['psnr']:.1f} dB")
    print(f"wrote {result_set.final}/: {path.name}, {figure.name}, {len(rows) + len(cases)} images")
    return 0


def fool_case(net, args, image_path, target, norm, result_set):
    """Fool the network on one photo; the fooled image is saved losslessly, re-read and judged as saved."""
    original = net.resize_to_input(read_image(image_path))
    before = probabilities(net, original)
    if before.argmax() == target:
        raise UserError(f"{shown(image_path)} is already classified as {net.classes[target]}; choose another target.")
    fooled, record = fool(net, original, target, args.min_prob, args.max_steps, norm, args.step, args.rung,
                          args.restarts, args.seed)
    if norm == "linf":  # the steps of the start that fooled; the steps of all starts of the whole search
        steps = next(r["steps"] for r in reversed(record) if r["fooled"])
        work = {"gradient_steps": sum(r["restarts"] * r["steps"] for r in record), "search": record}
    else:
        steps, work = record, {"gradient_steps": record}
    stem = short_stem(image_path)  # file names stay short in bytes whatever the photo is called
    save_image(result_set.path(f"images/{stem}_original.png"), original)
    out_file = save_image(result_set.path(f"images/{stem}_to_{target}_{norm}.png"), fooled)
    reread = read_image(out_file)  # judged as saved, not as held in memory
    after = probabilities(net, reread)
    info = {"image": shown(image_path), "original_class": net.classes[int(before.argmax())],
            "original_index": int(before.argmax()), "original_prob": float(before.max()),
            "target_class": net.classes[target], "target_index": target,
            "target_prob_before": float(before[target]), "final_prob": float(after[target]),
            "final_top_class": net.classes[int(after.argmax())], "norm": norm, "steps": steps,
            **work, **change_metrics(original, reread),
            "changed_fraction": float(np.mean(reread != original)),  # of the S×S×3 pixel values
            "output_file": result_set.relative(out_file)}
    return info, (original, reread, before, after)


if __name__ == "__main__":
    cli.run(main)
