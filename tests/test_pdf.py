"""The PDF's bitmaps: at print resolution, JPEG where print cannot show the difference, lossless (pixel-exact)
where a reader must see single grey levels."""
import base64
import io
import re

import numpy as np
import pypdf
import pytest
from matplotlib import pyplot as plt
from PIL import Image

from cnnvis import pdf
from cnnvis.imaging import save_figure


def two_bitmaps(tmp_path):
    """An SVG with a noisy image (like an optimized one) and a difference of single grey levels, amplified."""
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (120, 120, 3)).astype(np.uint8)
    difference = np.full((120, 120, 3), 128, np.uint8)
    difference[rng.random((120, 120)) < 0.05] += np.uint8(10)  # one grey level, amplified 10×
    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    for ax, img in zip(axes, (noise, difference)):
        ax.imshow(img, interpolation="nearest")
    svg = save_figure(fig, tmp_path / "figure").with_suffix(".svg")
    embedded = [Image.open(io.BytesIO(base64.b64decode(b))) for b in
                re.findall(r'xlink:href="data:image/png;base64,([^"]+)"', svg.read_text())]
    return svg, embedded


def pdf_images(path):
    page = pypdf.PdfReader(path).pages[0]
    xobjects = page["/Resources"]["/XObject"]
    found = []
    for name in xobjects:
        obj = xobjects[name].get_object()
        filters = obj["/Filter"]
        found.append((str(filters[0] if isinstance(filters, list) else filters), obj))
    return found


@pytest.mark.parametrize("lossless", [None, True])
def test_noise_goes_in_as_jpeg_and_single_grey_levels_stay_exact(tmp_path, lossless):
    svg, embedded = two_bitmaps(tmp_path)
    path = pdf.build(tmp_path / "f.pdf", [pdf.figure(svg, "Caption.", lossless=lossless)], title="t", author="a",
                     footer="f")
    images = pdf_images(path)
    assert len(images) == 2
    filters = sorted(f for f, _ in images)
    assert filters == (["/DCTDecode", "/FlateDecode"] if lossless is None else ["/FlateDecode"] * 2)
    flate = [obj for f, obj in images if f == "/FlateDecode"]
    exact = [np.frombuffer(obj.get_data(), np.uint8) for obj in flate]
    difference = np.asarray(embedded[1].convert("RGB")).ravel()
    assert any(e.size == difference.size and np.array_equal(e, difference) for e in exact)  # pixel for pixel


def test_bitmaps_keep_at_most_print_resolution():
    big = Image.fromarray(np.random.default_rng(1).integers(0, 256, (1200, 1200, 3)).astype(np.uint8))
    ready = pdf.print_ready(big, width_pt=72)  # printed one inch wide
    assert Image.open(ready).size == (pdf.PRINT_DPI, pdf.PRINT_DPI)
    flat = Image.fromarray(np.full((50, 50, 3), 7, np.uint8))
    assert np.array_equal(np.asarray(pdf.print_ready(flat, width_pt=72)), np.asarray(flat))  # few colours: exact
