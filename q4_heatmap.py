"""Q4 — Classification heat map by occlusion.

Slide an *occlusion block* of B×B pixels over the network's input image with stride S, set the pixels
under it to zero, and record the probability of the image's class each time. Cell (i, j) of the map is
the probability with the block's top-left corner at (i·S, j·S); the map has ⌊(size−B)/S⌋+1 cells a side.
Where the probability drops, the network was looking. "Zero" is the network's input-space zero, which
is the mean colour of its training images (`--fill black` uses black pixels instead).

Is the map right? Deletion and insertion (cnnvis.faithfulness) remove pixels in the map's order of importance,
or put them into a blurred copy, and measure how fast the probability falls or rises; the occlusion maps
are scored beside Grad-CAM (tf-keras-vis) and a random order, on the same photos and pixel steps.

Each block changes only a window of every layer's output, so only that window is recomputed, in batches of
block positions (cnnvis.incremental; the map equals the one from full forward passes up to float rounding).

    python q4_heatmap.py                                     # the report's experiment
    python q4_heatmap.py --image images/coffee.jpg --block 48 --stride 8
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the heavy imports below)

import textwrap
from pathlib import Path

import numpy as np
from matplotlib import colors, pyplot as plt
from matplotlib.cm import ScalarMappable
from mpl_toolkits.axes_grid1 import make_axes_locatable

from alexnet import shown
from cnnvis import cli, faithfulness
from cnnvis.errors import UserError
from cnnvis.faithfulness import compare_maps, last_conv_layer, occlusion_saliency
from cnnvis.files import short_stem, write_npy
from cnnvis.imaging import network_label, read_image, save_figure
from cnnvis.incremental import IncrementalOcclusion
from cnnvis.occlusion import DEFAULT_IMAGES

DEFAULT_BLOCKS = (32, 64)
FILLS = {"mean": "input-space zero (the mean colour of the network's training images)",
         "black": "black pixels (RGB 0, 0, 0)"}


# ---------------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------------
def overlay(ax, rgb, values, cmap, norm):
    """The photo in dimmed grey, `values` in colour on top, opaque where they are far from the norm's centre."""
    ax.imshow(0.55 * rgb.mean(axis=2) + 60, cmap="gray", vmin=0, vmax=255)
    scaled = norm(values)
    centre = norm(0.0) if norm.vmin < 0 else 0.0
    colours = cmap(scaled)
    colours[..., 3] = 0.9 * np.clip(np.abs(scaled - centre) / max(1 - centre, centre, 1e-9), 0, 1) ** 0.7
    ax.imshow(colours)
    return ScalarMappable(norm, cmap)


PRINT_WIDTH = 6.7  # inches: the report's text width, so the figures' fonts print at their stated sizes (≥ 6 pt)


def title(*lines):
    """A figure title whose lines are wrapped to the print width (at 7 pt), so that it never widens the figure."""
    return "\n".join(textwrap.fill(line, 120) for line in lines)


def colour_bar(fig, ax, shown, ticks, labels):
    """A slim colour bar of its own beside one map, its ticks outside the bar and the image."""
    bar = fig.colorbar(shown, cax=make_axes_locatable(ax).append_axes("right", size="6%", pad=0.04))
    bar.set_ticks(ticks, labels=labels)
    bar.ax.tick_params(labelsize=6, length=2, pad=1)
    return bar


def plot_maps(net, photos, stem):
    """Per photo (row): the photo, the drop in p(class) for each block size and Grad-CAM, over the photo in grey;
    each map with its own colour scale and colour bar, so that the small block's weaker map is seen too."""
    blocks = sorted(photos[0]["drops"])
    columns = 2 + len(blocks)
    height = 1.42 * len(photos) + 0.55
    fig, axes = plt.subplots(len(photos), columns, figsize=(PRINT_WIDTH, height), squeeze=False, dpi=200,
                             gridspec_kw={"wspace": 0.38, "hspace": 0.08})
    fig.subplots_adjust(left=0.04, right=0.93, bottom=0.01, top=1 - 0.55 / height)
    for r, (row, photo) in enumerate(zip(axes, photos)):
        row[0].imshow(photo["rgb"])
        row[0].set_ylabel(f"{Path(photo['image']).name}\n{photo['class_name'][:22]}, p = {photo['base_prob']:.2f}",
                          fontsize=6.5)
        for ax, block in zip(row[1:], blocks):
            largest = float(np.abs(photo["drops"][block]).max()) or 1.0
            shown = overlay(ax, photo["rgb"], photo["drops"][block], plt.get_cmap("RdBu_r"),
                            colors.Normalize(-largest, largest))
            colour_bar(fig, ax, shown, [-largest, 0, largest], [f"{-largest:.2f}", "0", f"{largest:.2f}"])
            if r == 0:
                ax.set_title(f"drop in p(class), block {block},\nstride {photo['stride']}", fontsize=6.5)
        if r == 0:
            row[0].set_title("photo (class, p)", fontsize=6.5)
        top = float(photo["gradcam"].max()) or 1.0
        shown = overlay(row[-1], photo["rgb"], photo["gradcam"], plt.get_cmap("inferno"), colors.Normalize(0, top))
        colour_bar(fig, row[-1], shown, [0, top], ["0", "max"])
        if r == 0:
            row[-1].set_title("Grad-CAM\n(for comparison)", fontsize=6.5)
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(title("Q4: where hiding part of the photo lowers p(class) (red; blue: it rises), each map on its "
                       "own scale", network_label(net)), fontsize=7)
    return save_figure(fig, stem)


def plot_faithfulness(net, photos, stem):
    """Deletion (top) and insertion (bottom) curves of every map, one column per photo, one legend for all."""
    fig, axes = plt.subplots(2, len(photos), figsize=(PRINT_WIDTH, 3.4), squeeze=False, sharex=True, sharey=True)
    for column, photo in zip(axes.T, photos):
        for (method, score), colour in zip(photo["faithfulness"].items(), plt.cm.tab10(np.arange(10))):
            fraction = np.linspace(0, 1, len(score["deletion_curve"]))
            column[0].plot(fraction, score["deletion_curve"], color=colour, lw=1.2, label=method)
            column[1].plot(fraction, score["insertion_curve"], color=colour, lw=1.2, label=method)
        name = Path(photo["image"]).name
        column[0].set_title(f"{name}: deletion", fontsize=7)
        column[1].set_title(f"{name}: insertion", fontsize=7)
        column[1].set_xlabel("fraction of pixels", fontsize=7)
        for ax in column:
            ax.set_ylim(0, 1.02), ax.tick_params(labelsize=6.5)
    axes[0, 0].set_ylabel("p(class)", fontsize=7), axes[1, 0].set_ylabel("p(class)", fontsize=7)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, -0.01))
    fig.suptitle(title(f"Q4: deletion and insertion — {network_label(net)}",
                       "deletion: pixels removed in the map's order (lower area is better); insertion: pixels put "
                       "into a blurred copy in that order (higher is better)"), fontsize=7)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return save_figure(fig, stem)


def main():
    p = cli.parser("Q4: occlusion heat map of the probability of an image's class.")
    p.add_argument("--image", type=cli.existing_file, nargs="+", help="photos; without it, the report's four photos")
    p.add_argument("--class", dest="class_name", type=cli.class_name,
                   help="class to map, by index or name; without it, each image's top class")
    p.add_argument("--block", type=cli.number(int, 1, 1024), nargs="+",
                   help=f"occlusion block sides in pixels; without it, {' '.join(map(str, DEFAULT_BLOCKS))}")
    p.add_argument("--stride", type=cli.number(int, 1, 1024), default=16,
                   help="pixels between neighbouring block positions")
    p.add_argument("--fill", choices=sorted(FILLS), default="mean", help="what the occluded pixels are set to")
    p.add_argument("--batch-size", type=cli.number(int, 1, 1024), default=64, help="occluded copies evaluated at once")
    args = p.parse_args()
    net = cli.load_network(args)
    # A photo or block named twice is mapped once (the same map twice would be counted twice).
    images = list({Path(image).resolve(): image for image in args.image or DEFAULT_IMAGES}.values())
    blocks = list(dict.fromkeys(args.block or DEFAULT_BLOCKS))
    size = net.input_size
    for block in blocks:
        if block >= size or (size - block) // args.stride < 1:
            raise UserError(f"--block {block} with --stride {args.stride} leaves fewer than 2×2 block positions on "
                            f"the {size}×{size} input; give blocks below {size} and a stride of at most "
                            f"{size} minus the block.")
    class_index = None if args.class_name is None else net.classes.find(args.class_name)

    fill_rgb = np.zeros((1, 1, 3), np.float32) if args.fill == "black" else None
    fill = np.zeros(3, np.float32) if fill_rgb is None else np.asarray(net.rgb_to_x(fill_rgb))[0, 0]

    def prob_fn(batch):
        return net.activations(batch, ["prob"])["prob"]

    occluder = IncrementalOcclusion(net.model)
    rgbs = [net.resize_to_input(read_image(image)) for image in images]  # every file checked before any work
    with cli.result_set(p, args, "q4", net) as result_set:
        photos, rows, scores = [], [], []
        for number, (image, rgb) in enumerate(zip(images, rgbs), 1):
            x = np.asarray(net.rgb_to_x(rgb.astype(np.float32)))
            prob = prob_fn(x[None]).numpy()[0]
            index = int(prob.argmax()) if class_index is None else class_index
            photo = {"image": shown(image), "class_index": index, "class_name": net.classes[index],
                     "base_prob": float(prob[index]), "stride": args.stride, "rgb": rgb, "drops": {}}
            for block in blocks:
                heat = occluder.map(x, index, block, args.stride, fill, args.batch_size)
                map_file = result_set.path(f"maps/{number}_{short_stem(image)}_{index}_b{block}_s{args.stride}.npy")
                write_npy(map_file, heat)
                photo["drops"][block] = occlusion_saliency(prob[index] - heat, block, args.stride, size)
                rows.append({**{k: photo[k] for k in ("image", "class_index", "class_name", "base_prob", "stride")},
                             "block": block, "cells": heat.shape[0], "fill": args.fill,
                             "fill_meaning": FILLS[args.fill], "min_prob": float(heat.min()),
                             "min_at": [int(v) * args.stride for v in np.unravel_index(heat.argmin(), heat.shape)],
                             "heatmap_file": result_set.relative(map_file)})
            photo["faithfulness"], photo["gradcam"] = compare_maps(net, prob_fn, x, index, photo["drops"], fill,
                                                                   seed=args.seed)
            scores += [{"image": photo["image"], "class_name": photo["class_name"], "method": method, **score}
                       for method, score in photo["faithfulness"].items()]
            photos.append(photo)
        methods = list(photos[0]["faithfulness"])
        mean = {m: {k: float(np.mean([s[k] for s in scores if s["method"] == m])) for k in ("deletion", "insertion")}
                for m in methods}
        figures = [plot_maps(net, photos, result_set.path("figures/q4")),
                   plot_faithfulness(net, photos, result_set.path("figures/q4_faithfulness"))]
        path = result_set.write_results({
            **cli.header(args, net, result_set.final.name), "maps": rows,
            "faithfulness": {"steps": faithfulness.STEPS, "deletion_to": FILLS[args.fill],
                             "insertion_from": f"the photo blurred by a Gaussian of width "
                                               f"{faithfulness.BLUR_SIGMA:g} pixels",
                             "grad_cam_layer": last_conv_layer(net), "mean": mean, "per_image": scores},
            "figures": [result_set.relative(f) for f in figures]})
    for r in rows:
        print(f"{r['image']}: {r['class_name']} p={r['base_prob']:.3f}; block {r['block']}, stride {r['stride']}: "
              f"lowest p={r['min_prob']:.3f} with the block at (row, col) {tuple(r['min_at'])}")
    print("faithfulness, mean over the photos (deletion area: lower is better; insertion area: higher is better)")
    for method, score in mean.items():
        print(f"  {method:<22} deletion {score['deletion']:.3f}  insertion {score['insertion']:.3f}")
    print(f"wrote {result_set.final}/: {path.name}, {len(figures)} figures, {len(rows)} maps")
    return 0


if __name__ == "__main__":
    cli.run(main)
