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


@pytest.mark.parametrize("lossless", [None, True, False])
def test_noise_goes_in_as_jpeg_and_single_grey_levels_stay_exact(tmp_path, lossless):
    svg, embedded = two_bitmaps(tmp_path)
    path = pdf.build(tmp_path / "f.pdf", [pdf.figure(svg, "Caption.", lossless=lossless)], title="t", author="a",
                     footer="f")
    images = pdf_images(path)
    assert len(images) == 2
    filters = sorted(f for f, _ in images)
    assert filters == {None: ["/DCTDecode", "/FlateDecode"], True: ["/FlateDecode"] * 2,
                       False: ["/DCTDecode"] * 2}[lossless]
    if lossless is False:
        return
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


def text_figure(tmp_path, points, width_in=6.7):
    fig, ax = plt.subplots(figsize=(width_in, 3))
    ax.plot([1, 2, 3])
    ax.set_title("title", fontsize=points), ax.tick_params(labelsize=points)
    return save_figure(fig, tmp_path / f"text{points}").with_suffix(".svg")


def test_figure_text_is_measured_and_never_shrunk_below_six_points(tmp_path):
    assert set(pdf.text_sizes(text_figure(tmp_path, 7))) == {7.0}
    fitting = pdf.figure(text_figure(tmp_path, 7), "Seven.")
    assert fitting.smallest == pytest.approx(6 / fitting.text_pt) and fitting.text_pt > 6.5
    caption = fitting.caption.wrap(pdf.TEXT_WIDTH, 100)[1] + fitting.caption.style.spaceBefore
    fitting.wrap(pdf.TEXT_WIDTH, (fitting.smallest + 0.02) * fitting.drawing.height + caption)
    assert fitting.printed_text_pt() == pytest.approx(6.0, abs=0.2)  # shrunk onto the page, text still 6 pt
    fitting.wrap(pdf.TEXT_WIDTH, (fitting.smallest - 0.02) * fitting.drawing.height + caption)
    assert fitting.shrink == 1.0  # shrinking further would print under 6 pt: it moves on whole instead
    tiny = pdf.figure(text_figure(tmp_path, 3.5), "Tiny.")
    assert tiny.text_pt < 5
    story = [tiny, fitting]
    pdf.build(tmp_path / "s.pdf", story, title="t", author="a", footer="f")
    assert [caption for caption, _ in pdf.small_text(story)] == ["Tiny."]


def test_a_heading_never_ends_a_page_above_its_table(tmp_path):
    """Filler that leaves room for the heading but not for the table below it: the heading moves with the table."""
    filler = [pdf.text("filler line " * 12) for _ in range(22)]
    story = filler + [pdf.heading("Lonely heading", 2),
                      pdf.table(["a", "b"], [[str(i), str(i)] for i in range(12)], lead_in="The table:")]
    pages = [p.extract_text() for p in pypdf.PdfReader(pdf.build(tmp_path / "a.pdf", story, "t", "a", "f")).pages]
    assert len(pages) == 2  # the filler fills page 1 but for a few lines
    heading_page = next(k for k, text in enumerate(pages) if "Lonely heading" in text)
    table_page = next(k for k, text in enumerate(pages) if "The table:" in text)
    assert heading_page == table_page == 1
