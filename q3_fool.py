"""Q3 — Fooling the network: the smallest change that makes it see a completely different class.

Start from a photo the network classifies correctly (at its input resolution, S×S) and take a few
gradient steps on the pixels that raise the chosen target class (minimal change, maximal influence), in
one of two senses of "little" (cnnvis.fooling.fool):
- L∞ (the largest change of any pixel): sign-gradient steps inside a budget that starts at one grey level
  and grows by one every 10 steps while the network is not fooled; it stops at the first fooled image.
- L2 (the total change): steps along the normalized gradient with the change rescaled to a length that
  shrinks while the image fools the network and grows while it does not (DDN); the smallest fooling change
  is kept.
The network always sees the image *as saved in 8 bits*: fooled means the target is the top class with
p_target > --min-prob on that image. The fooled image is written losslessly and re-read from disk before it
is judged. bench/bench.py compares both with the minimal-norm attack of foolbox 3 (FMN).

    python q3_fool.py                                        # the report's experiment
    python q3_fool.py --image images/coffee.jpg --target ostrich --norm l2
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

import numpy as np
from matplotlib import pyplot as plt

from alexnet import shown
from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.files import short_stem
from cnnvis.imaging import network_label, read_image, save_figure, save_image
from cnnvis.fooling import DEFAULT_CASES, change_metrics, fool, probabilities

NORMS = {"linf": "smallest L∞", "l2": "smallest L2"}


# ---------------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------------
def top5_bars(ax, net, prob, highlight, title):
    top = prob.argsort()[::-1][:5]
    colours = ["tab:red" if i == highlight else "tab:blue" for i in top]
    ax.barh(range(5)[::-1], prob[top], color=colours)
    ax.set_yticks(range(5)[::-1], [net.classes[i] for i in top], fontsize=6.5)
    ax.set_xlim(0, 1)
    ax.tick_params(axis="x", labelsize=6)
    ax.set_title(title, fontsize=7.5)


def plot_cases(net, cases, stem):
    """Per case and norm: original, fooled, amplified difference, and the top-5 bars before and after."""
    fig, axes = plt.subplots(len(cases), 5, figsize=(11, 2.4 * len(cases)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.15, 1.15]})
    for row, case in zip(axes, cases):
        original, fooled, before, after, info = case
        amplified = 0.5 + (fooled.astype(np.float64) - original) / (2 * max(info["linf"], 1))
        row[0].imshow(original)
        row[0].set_title(f"original: {info['original_class']}\np = {info['original_prob']:.3f}", fontsize=7.5)
        row[1].imshow(fooled)
        row[1].set_title(f"fooled ({NORMS[info['norm']]}): {info['target_class']}\np = {info['final_prob']:.3f} "
                         f"(re-read file)",
                         fontsize=7.5)
        row[2].imshow(np.clip(amplified, 0, 1))
        row[2].set_title(f"difference ×{127.5 / max(info['linf'], 1):.0f}\nL∞ {info['linf']:.0f}, "
                         f"L2 {info['l2']:.0f}, PSNR {info['psnr']:.1f} dB", fontsize=7.5)
        for ax in row[:3]:
            ax.axis("off")
        top5_bars(row[3], net, before, info["target_index"], "top-5 before")
        top5_bars(row[4], net, after, info["target_index"], f"top-5 after {info['steps']} steps")
    fig.suptitle(f"Q3: fooling — {network_label(net)}", fontsize=9)
    fig.tight_layout()
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
                   help="gradient steps at most (default: 30 for linf, 100 for l2, which always takes them all)")
    p.add_argument("--step", type=cli.number(float, 0, 1, low_open=True), default=0.5,
                   help="linf: first step within each budget, as a fraction of the budget")
    p.add_argument("--rung", type=cli.number(int, 1, 10000), default=10,
                   help="linf: steps at each budget before it grows by one grey level")
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
                                         "step": args.step, "rung": args.rung, "cases": rows,
                                         "figures": [result_set.relative(figure)]})
    for r in rows:
        print(f"{r['image']}: {r['original_class']} (p {r['original_prob']:.3f}) -> {r['target_class']} "
              f"(p {r['final_prob']:.4f}), {NORMS[r['norm']]}, {r['steps']} steps; L∞ {r['linf']:.0f}, L2 {r['l2']:.1f}, "
              f"PSNR {r['psnr']:.1f} dB")
    print(f"wrote {result_set.final}/: {path.name}, {figure.name}, {len(rows) + len(cases)} images")
    return 0


def fool_case(net, args, image_path, target, norm, result_set):
    """Fool the network on one photo; the fooled image is saved losslessly, re-read and judged as saved."""
    original = net.resize_to_input(read_image(image_path))
    before = probabilities(net, original)
    if before.argmax() == target:
        raise UserError(f"{shown(image_path)} is already classified as {net.classes[target]}; choose another target.")
    max_steps = args.max_steps or {"linf": 30, "l2": 100}[norm]
    fooled, steps = fool(net, original, target, args.min_prob, max_steps, norm, args.step, args.rung)
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
            **change_metrics(original, reread), "output_file": result_set.relative(out_file)}
    return info, (original, reread, before, after)


if __name__ == "__main__":
    cli.run(main)
