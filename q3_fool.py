"""Q3 — Fooling the network: the smallest change that makes it see a completely different class.

Start from a photo the network classifies correctly (at its input resolution, S×S) and take a few
gradient steps on the pixels that raise the chosen target class (minimal change, maximal influence):
each step moves every pixel by one grey level against the sign of ∇(-log p_target) — the largest
first-order gain for the largest change per pixel — inside an L∞ budget around the photo that grows by
2/3 of a grey level per step, so the change grows only while the network is not yet fooled. The loop
stops as soon as the image *as saved in 8 bits* has the target as its top class (and, with --min-prob P,
p_target > P). The fooled image is written losslessly and re-read from disk before it is judged, so
surviving 8-bit quantization is part of the method.

    python q3_fool.py                                        # the report's experiment
    python q3_fool.py --image images/coffee.jpg --target ostrich --min-prob 0.98
"""
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt

from alexnet import ROOT, shown
from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.imaging import network_label, read_image, save_figure, save_image
from cnnvis.fooling import change_metrics, fool, probabilities

# (image, target class): one photo the network is sure of, one it is unsure of.
DEFAULT_CASES = ((ROOT / "images" / "coffee.jpg", "ostrich"), (ROOT / "images" / "chelsea.jpg", "fire engine"))


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
    """Per case: original, fooled, amplified difference, and the top-5 bars before and after."""
    fig, axes = plt.subplots(len(cases), 5, figsize=(11, 2.4 * len(cases)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1, 1.15, 1.15]})
    for row, case in zip(axes, cases):
        original, fooled, before, after, info = case
        amplified = 0.5 + (fooled.astype(np.float64) - original) / (2 * max(info["linf"], 1))
        row[0].imshow(original)
        row[0].set_title(f"original: {info['original_class']}\np = {info['original_prob']:.3f}", fontsize=7.5)
        row[1].imshow(fooled)
        row[1].set_title(f"fooled: {info['target_class']}\np = {info['final_prob']:.3f} (re-read file)",
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
    p.add_argument("--target", help="class to make the network see, by index or (partial) name")
    p.add_argument("--min-prob", type=cli.number(float, 0, 0.9999), default=0.98,
                   help="stop only once p(target) exceeds this")
    p.add_argument("--max-steps", type=cli.number(int, 1, 10000), default=50, help="give up after this many steps")
    p.add_argument("--step", type=cli.number(float, 0, 255, low_open=True), default=1.0,
                   help="change of a pixel per step, in 0..255 grey levels")
    p.add_argument("--growth", type=cli.number(float, 0, 100, low_open=True), default=2 / 3,
                   help="the L∞ budget grows by this many steps per step (1: plain iterative sign steps)")
    args = p.parse_args()
    if (args.image is None) != (args.target is None):
        raise UserError("give both --image and --target, or neither for the report's experiment.")
    net = cli.load_network(args)
    cases = DEFAULT_CASES if args.image is None else ((args.image, args.target),)
    cases = [(image, net.classes.find(target)) for image, target in cases]  # every name checked before any work
    with cli.result_set(p, args, "q3", net) as result_set:
        rows, plotted = [], []
        for image_path, target in cases:
            info, pictures = fool_case(net, args, image_path, target, result_set)
            rows.append(info)
            plotted.append((*pictures, info))
        figure = plot_cases(net, plotted, result_set.path("figures/q3"))
        path = result_set.write_results({**cli.header(args, net, result_set.final.name), "min_prob": args.min_prob,
                                         "step": args.step, "growth": args.growth, "cases": rows,
                                         "figures": [result_set.relative(figure)]})
    for r in rows:
        print(f"{r['image']}: {r['original_class']} (p {r['original_prob']:.3f}) -> {r['target_class']} "
              f"(p {r['final_prob']:.4f}) in {r['steps']} steps; L∞ {r['linf']:.0f}, L2 {r['l2']:.1f}, "
              f"PSNR {r['psnr']:.1f} dB")
    print(f"wrote {result_set.final}/: {path.name}, {figure.name}, {2 * len(rows)} images")
    return 0


def fool_case(net, args, image_path, target, result_set):
    """Fool the network on one photo; the fooled image is saved losslessly, re-read and judged as saved."""
    original = net.resize_to_input(read_image(image_path))
    before = probabilities(net, original)
    if before.argmax() == target:
        raise UserError(f"{shown(image_path)} is already classified as {net.classes[target]}; choose another target.")
    fooled, steps = fool(net, original, target, args.min_prob, args.max_steps, args.step, args.growth)
    stem = Path(image_path).stem[:60]  # file names stay short whatever the photo is called
    save_image(result_set.path(f"images/{stem}_original.png"), original)
    out_file = save_image(result_set.path(f"images/{stem}_to_{target}.png"), fooled)
    reread = read_image(out_file)  # judged as saved, not as held in memory
    after = probabilities(net, reread)
    info = {"image": shown(image_path), "original_class": net.classes[int(before.argmax())],
            "original_index": int(before.argmax()), "original_prob": float(before.max()),
            "target_class": net.classes[target], "target_index": target,
            "target_prob_before": float(before[target]), "final_prob": float(after[target]),
            "final_top_class": net.classes[int(after.argmax())], "steps": steps,
            **change_metrics(original, reread), "output_file": result_set.relative(out_file)}
    return info, (original, reread, before, after)


if __name__ == "__main__":
    cli.run(main)
