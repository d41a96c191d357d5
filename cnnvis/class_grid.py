"""The grid of class images that Q2's figures and the equal-work benchmark (bench/q2_budget.py) draw: each image
large enough to judge on paper, a canvas by the central part its crops concentrated on, and under each image the
sibling judge's verdict on what is shown."""
import textwrap

import numpy as np
from matplotlib import pyplot as plt
from PIL import Image

from cnnvis.imaging import for_display, network_label, save_figure

FIGURE_SIDE = 224  # an image is drawn from at most this many pixels a side
CELL_INCHES = 1.45  # an image 3.7 cm wide: four a row at the report's text width (17 cm)
VERDICT_WIDTH = 27  # characters a line of a verdict (6.5 pt in a 3.8 cm column)


def central(rgb_uint8, fraction):
    """The central square of an image, `fraction` of its side: where a canvas's crops were centred."""
    side = rgb_uint8.shape[0]
    start = round(side * (1 - fraction) / 2)
    return rgb_uint8[start:side - start, start:side - start]


def verdict_lines(row, prefix=""):
    """The sibling judge's verdict as two items: its top-1 class with its p, and its p of the intended class."""
    if prefix + "judge_top1" not in row:  # the judge's weights are absent (cnnvis.judge)
        return [f"{'centre' if prefix else 'judge'}: absent"]
    top = textwrap.fill(f"judge: {row[prefix + 'judge_top1']} {row[prefix + 'judge_top1_prob']:.2f}"
                        f" {'✓' if row[prefix + 'recognized'] else '✗'}", VERDICT_WIDTH)
    return [top, f"p({row['class_name']}) {row[prefix + 'judge_prob_of_class']:.2f}"]


def shown_part(img, row, crops):
    """What a figure shows of an image, and the verdict on that: a canvas's central part (where the crops
    concentrated), else the whole image."""
    if crops:
        return central(img, crops.start), verdict_lines(row, "centre_")
    return img, verdict_lines(row)


def plot_grid(net, cells, columns, stem, row_labels=None):
    """cells: (image, title, verdict lines) in reading order, `columns` a row, each image CELL_INCHES wide:
    at the report's text width (17 cm) the figure prints at its own size (≥ 3.5 cm an image, text ≥ 6.5 pt).
    Images are contrast-stretched for display; the judge saw them as saved."""
    rows = -(-len(cells) // columns)
    label_space = 0.35 if row_labels else 0.0
    titled = sum(any(title for _, title, _ in cells[r * columns:(r + 1) * columns]) for r in range(rows))
    height = (CELL_INCHES + 0.38) * rows + 0.17 * titled + 0.3
    fig, axes = plt.subplots(rows, columns, squeeze=False, figsize=(label_space + CELL_INCHES * columns, height))
    for ax in axes.flat:
        ax.axis("off")
    for k, (img, title, lines) in enumerate(cells):
        if img is None:  # a short row's empty place
            continue
        ax = axes.flat[k]
        ax.axis("on")
        ax.imshow(for_display(np.asarray(Image.fromarray(img).resize((FIGURE_SIDE,) * 2, Image.Resampling.BOX))
                              if img.shape[0] > FIGURE_SIDE else img))
        ax.set_xticks([]), ax.set_yticks([])
        if title:
            ax.set_title(title, fontsize=8)
        ax.set_xlabel("\n".join(lines), fontsize=6.5, linespacing=1.05, labelpad=2)
    for r, label in enumerate(row_labels or []):
        axes[r, 0].set_ylabel(textwrap.fill(label, 22), fontsize=7.5)
    fig.suptitle(f"{network_label(net)}; judge: EfficientNet-Lite1, a sibling network", fontsize=7.5)
    fig.tight_layout(pad=0.2, h_pad=0.2, w_pad=0.3, rect=(0, 0, 1, 1 - 0.2 / height))
    return save_figure(fig, stem)
