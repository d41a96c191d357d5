"""Q4 — Classification heat map by occlusion.

Slide an *occlusion block* of B×B pixels over the network's input image with stride S, set the pixels
under it to zero, and record the probability of the image's class each time. Cell (i, j) of the map is
the probability with the block's top-left corner at (i·S, j·S); the map has ⌊(size−B)/S⌋+1 cells a side.
Where the probability drops, the network was looking. "Zero" is the network's input-space zero, which
is the mean colour of its training images (`--fill black` uses black pixels instead).

Each block changes only a window of every layer's output, so only that window is recomputed, in batches of
block positions (cnnvis.incremental; the map equals the one from full forward passes up to float rounding).

    python q4_heatmap.py                                     # the report's experiment
    python q4_heatmap.py --image images/coffee.jpg --block 48 --stride 8
"""
from pathlib import Path

import numpy as np
from matplotlib import pyplot as plt

from alexnet import ROOT, shown
from cnnvis import cli
from cnnvis.errors import UserError
from cnnvis.files import write_npy
from cnnvis.imaging import network_label, read_image, save_figure
from cnnvis.incremental import IncrementalOcclusion

DEFAULT_IMAGES = tuple(ROOT / "images" / name for name in ("chelsea.jpg", "coffee.jpg", "grace_hopper.jpg"))
DEFAULT_BLOCKS = (32, 64)
FILLS = {"mean": "input-space zero (the mean colour of the network's training images)",
         "black": "black pixels (RGB 0, 0, 0)"}


# ---------------------------------------------------------------------------------------------
# The experiment
# ---------------------------------------------------------------------------------------------
def plot_maps(net, entries, stem):
    """Per image: the photo, each block size's heat map, and an overlay of the first, with colorbars."""
    blocks = sorted({e["block"] for e in entries})
    images = list(dict.fromkeys(e["image"] for e in entries))
    cols = 2 + len(blocks)
    fig, axes = plt.subplots(len(images), cols, figsize=(2.35 * cols, 2.35 * len(images)), squeeze=False)
    for row, image in zip(axes, images):
        mine = [e for e in entries if e["image"] == image]
        rgb = mine[0]["rgb"]
        row[0].imshow(rgb)
        row[0].set_title(f"{Path(image).name}\n{mine[0]['class_name']} p={mine[0]['base_prob']:.2f}", fontsize=7)
        for ax, e in zip(row[1:], mine):
            shown = ax.imshow(e["map"], cmap="inferno", vmin=0, vmax=max(e["base_prob"], e["map"].max()))
            ax.set_title(f"block {e['block']}, stride {e['stride']}\n{e['map'].shape[0]}×{e['map'].shape[1]} "
                         f"cells", fontsize=7)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=5.5)
        e = mine[0]  # overlay: each cell drawn where its block's centre lies
        half, n = e["block"] / 2, e["map"].shape[0]
        lo, hi = half - e["stride"] / 2, half + (n - 1) * e["stride"] + e["stride"] / 2
        row[-1].imshow(rgb)
        row[-1].imshow(e["map"], cmap="inferno", alpha=0.55, extent=(lo, hi, hi, lo),
                       vmin=0, vmax=max(e["base_prob"], e["map"].max()))
        row[-1].set_xlim(0, rgb.shape[1]), row[-1].set_ylim(rgb.shape[0], 0)
        row[-1].set_title(f"overlay, block {e['block']}", fontsize=7)
        for ax in row:
            ax.set_xticks([]), ax.set_yticks([])
    fig.suptitle(f"Q4: occlusion heat maps, p(class) with the block at each place — {network_label(net)}\n"
                 f"occluded pixels set to {FILLS[entries[0]['fill']]}", fontsize=8.5)
    fig.tight_layout()
    return save_figure(fig, stem)


def main():
    p = cli.parser("Q4: occlusion heat map of the probability of an image's class.")
    p.add_argument("--image", type=cli.existing_file, nargs="+", help="photos; without it, the report's three images")
    p.add_argument("--class", dest="class_name", help="class to map, by index or name; without it, each image's top class")
    p.add_argument("--block", type=cli.number(int, 1, 1024), nargs="+",
                   help=f"occlusion block sides in pixels; without it, {' '.join(map(str, DEFAULT_BLOCKS))}")
    p.add_argument("--stride", type=cli.number(int, 1, 1024), default=16,
                   help="pixels between neighbouring block positions")
    p.add_argument("--fill", choices=sorted(FILLS), default="mean", help="what the occluded pixels are set to")
    p.add_argument("--batch-size", type=cli.number(int, 1, 1024), default=64, help="occluded copies evaluated at once")
    args = p.parse_args()
    net = cli.load_network(args)
    images = args.image or list(DEFAULT_IMAGES)
    blocks = args.block or DEFAULT_BLOCKS
    size = net.input_size
    for block in blocks:
        if block >= size or (size - block) // args.stride < 1:
            raise UserError(f"--block {block} with --stride {args.stride} leaves fewer than 2×2 block positions on "
                            f"the {size}×{size} input; give blocks below {size} and a stride of at most "
                            f"{size} minus the block.")
    class_index = None if args.class_name is None else net.classes.find(args.class_name)

    fill_rgb = np.zeros((1, 1, 3), np.float32) if args.fill == "black" else None
    fill = np.zeros(3, np.float32) if fill_rgb is None else np.asarray(net.rgb_to_x(fill_rgb))[0, 0]

    occluder = IncrementalOcclusion(net.model)
    photos = [net.resize_to_input(read_image(image)) for image in images]  # every file checked before any work
    with cli.result_set(p, args, "q4", net) as result_set:
        entries, rows = [], []
        for number, (image, rgb) in enumerate(zip(images, photos), 1):
            x = np.asarray(net.rgb_to_x(rgb.astype(np.float32)))
            prob = net.activations(x[None], ["prob"])["prob"].numpy()[0]
            index = int(prob.argmax()) if class_index is None else class_index
            for block in blocks:
                heat = occluder.map(x, index, block, args.stride, fill, args.batch_size)
                map_file = result_set.path(f"maps/{number}_{Path(image).stem[:60]}_{index}_b{block}_s{args.stride}.npy")
                write_npy(map_file, heat)
                entry = {"image": shown(image), "class_index": index, "class_name": net.classes[index],
                         "base_prob": float(prob[index]), "block": block, "stride": args.stride,
                         "cells": heat.shape[0], "fill": args.fill,
                         "fill_meaning": FILLS[args.fill], "min_prob": float(heat.min()),
                         "min_at": [int(v) * args.stride for v in np.unravel_index(heat.argmin(), heat.shape)],
                         "heatmap_file": result_set.relative(map_file)}
                rows.append(entry)
                entries.append({**entry, "map": heat, "rgb": rgb})
        figure = plot_maps(net, entries, result_set.path("figures/q4"))
        path = result_set.write_results({**cli.header(args, net, result_set.final.name), "maps": rows,
                                         "figures": [result_set.relative(figure)]})
    for r in rows:
        print(f"{r['image']}: {r['class_name']} p={r['base_prob']:.3f}; block {r['block']}, stride {r['stride']}: "
              f"lowest p={r['min_prob']:.3f} with the block at (row, col) {tuple(r['min_at'])}")
    print(f"wrote {result_set.final}/: {path.name}, {figure.name}, {len(rows)} maps")
    return 0


if __name__ == "__main__":
    cli.run(main)
