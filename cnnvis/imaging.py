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
    """Any common photo file -> H×W×3 uint8 RGB; grey, palette, RGBA, CMYK, 16-bit and float images are
    converted at their true scale (grey_to_8_bits)."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder; give the path of a JPEG or PNG photo.")
    if not path.is_file():
        if path.exists():  # a named pipe or a device: reading it could wait forever
            raise UserError(f"{path} is not a regular file; give the path of a JPEG or PNG photo.")
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
            bits = sample_bits(img)  # before the transpose, whose copy no longer knows its file
            img = ImageOps.exif_transpose(img)  # a phone photo is stored sideways with an orientation tag
            if img.mode.startswith(("I", "F")):  # 16-bit, 32-bit or float grey: read at its true scale
                return np.repeat(grey_to_8_bits(path, img, bits)[..., None], 3, axis=2)
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


def sample_bits(img):
    """Bits per grey value an opened file stores: 16 for 16-bit PNG, PGM and TIFF, the TIFF's own tag otherwise
    (32 for a 32-bit integer or float TIFF); None for 8-bit modes."""
    if img.mode.startswith("I;16") or (img.mode == "I" and img.format in ("PNG", "PPM")):
        return 16
    if img.mode in ("I", "F"):
        tag = getattr(img, "tag_v2", {}).get(258) if img.format == "TIFF" else None
        return int(tag[0] if isinstance(tag, tuple) else tag) if tag else 32
    return None


def grey_to_8_bits(path, img, bits):
    """A 16-bit, 32-bit integer or float grey image (`bits` per value, sample_bits) -> H×W uint8 at its true
    scale, never stretched: an 8-bit and a 16-bit file of the same picture give the same pixels (16-bit ÷ 257;
    float 0..1 × 255). A scale the file does not tell (a 32-bit integer image, floats outside 0..1) is refused
    in one sentence."""
    grey = np.asarray(img, np.float64)
    if not np.isfinite(grey).all():
        raise UserError(f"{path} has pixels that are not finite numbers (NaN or infinity); give a photo "
                        f"whose pixels all have values.")
    sixteen = img.mode != "F" and bits == 16
    if sixteen and grey.min() >= 0 and grey.max() <= 65535:
        return np.round(grey / 257).astype(np.uint8)
    if img.mode == "F" and grey.min() >= 0 and grey.max() <= 1:
        return np.round(grey * 255).astype(np.uint8)
    what = "floating-point" if img.mode == "F" else f"{bits}-bit integer"
    raise UserError(f"{path} is a {what} grey image with values {grey.min():g} to {grey.max():g}, whose scale "
                    f"cannot be known (16-bit images are read as 0..65535, floating-point ones as 0..1); save it "
                    f"as an 8- or 16-bit image.")


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
    # Not "AlexNet weights not present": a user may have them and still choose the bundled network (net.reason).
    return "EfficientNet-Lite0 (the bundled ImageNet network, not AlexNet)"


def save_figure(fig, stem):
    """Save `fig` as stem.pdf and stem.svg (both vector), atomically; returns the PDF path."""
    stem = Path(stem)
    for suffix in (".pdf", ".svg"):
        with atomic_path(stem.with_suffix(suffix)) as tmp:
            fig.savefig(tmp, format=suffix[1:], bbox_inches="tight")
    plt.close(fig)
    return stem.with_suffix(".pdf")
