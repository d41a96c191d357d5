"""Reading photos, writing images and figures: the one place where pixels meet files.

Every write is atomic (files.atomic_path). Figures are saved as vector PDF (to read) and SVG (for the
report builder, which embeds them as vectors).
"""
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)
import numpy as np  # noqa: E402
from PIL import Image, ImageOps, UnidentifiedImageError  # noqa: E402

from alexnet import alexnet_label  # noqa: E402
from cnnvis.errors import UserError  # noqa: E402
from cnnvis.files import atomic_path  # noqa: E402

MIN_SIDE, MAX_SIDE = 32, 8000


def read_image(path):
    """Any common photo file -> H×W×3 uint8 RGB; grey, palette, RGBA, CMYK and 16-bit images are converted."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; give the path of a JPEG or PNG photo.")
    if not path.is_file():
        raise UserError(f"image file {path} not found; give the path of a JPEG or PNG photo.")
    try:
        with warnings.catch_warnings():
            # Pillow warns of a "decompression bomb" above 89 million pixels, in two lines of its own; such an
            # image has a side over MAX_SIDE and is refused below, in one sentence.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            width, height = img.size
            if min(width, height) < MIN_SIDE or max(width, height) > MAX_SIDE:
                raise UserError(f"{path} is {width}x{height} pixels; give an image whose sides are between "
                                f"{MIN_SIDE} and {MAX_SIDE} pixels.")
            img = ImageOps.exif_transpose(img)  # a phone photo is stored sideways with an orientation tag
            if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float grey: scale to 8 bits
                grey = np.asarray(img, np.float64)
                if not np.isfinite(grey).all():
                    raise UserError(f"{path} has pixels that are not finite numbers (NaN or infinity); give a photo "
                                    f"whose pixels all have values.")
                span = grey.max() - grey.min()
                grey = (grey - grey.min()) / (span if span else 1.0) * 255
                return np.repeat(np.round(grey).astype(np.uint8)[..., None], 3, axis=2)
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
            return np.asarray(img.convert("RGB"))
    except UserError:
        raise
    except UnidentifiedImageError:
        raise UserError(f"{path} is not an image file Pillow can read; give a JPEG or PNG photo.") from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise UserError(f"{path} could not be read as an image ({e}).") from None


def save_image(path, rgb_uint8, **options):
    """Write H×W×3 uint8 RGB atomically; the format follows the suffix (e.g. quality=95 for JPEG)."""
    with atomic_path(path) as tmp:
        Image.fromarray(np.asarray(rgb_uint8, np.uint8)).save(tmp, format=Image.registered_extensions()[
            Path(path).suffix.lower()], **options)
    return Path(path)


def for_display(rgb, min_range=48.0):
    """Contrast-stretch an optimized image for viewing (1st-99th percentile to 0..1), as is usual for
    visualizations; a nearly flat image is not stretched beyond `min_range` grey levels, so faint noise is
    not blown up into black and white. The saved files keep the raw pixels."""
    rgb = np.asarray(rgb, np.float64)
    lo, hi = np.percentile(rgb, [1, 99])
    if hi - lo < min_range:
        middle = (hi + lo) / 2
        lo, hi = middle - min_range / 2, middle + min_range / 2
    return np.clip((rgb - lo) / (hi - lo), 0, 1)


def network_label(net):
    """How figures and tables name the network that produced them."""
    if net.name == "alexnet":
        return alexnet_label(net.weights)
    return "EfficientNet-Lite0 (bundled ImageNet network; AlexNet weights not present)"


def save_figure(fig, stem):
    """Save `fig` as stem.pdf and stem.svg (both vector), atomically; returns the PDF path."""
    stem = Path(stem)
    for suffix in (".pdf", ".svg"):
        with atomic_path(stem.with_suffix(suffix)) as tmp:
            fig.savefig(tmp, format=suffix[1:], bbox_inches="tight")
    plt.close(fig)
    return stem.with_suffix(".pdf")
