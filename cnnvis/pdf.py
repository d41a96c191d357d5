"""Building blocks of the PDF report: A4 pages of real, searchable text (reportlab), matplotlib's SVG
figures placed as vectors (svglib), formulas typeset by matplotlib's mathtext, and plain tables.

One font family (DejaVu Sans, shipped with matplotlib and used in every figure) covers Greek letters and
mathematical symbols, so text, tables, formulas and figures look alike; it also has Hebrew letters and Arabic
letters in their joined forms, for the students' names.
"""
import io
import math
import re
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import arabic_reshaper
import matplotlib
import numpy as np
from matplotlib import pyplot as plt
from PIL import Image as PILImage
from reportlab import rl_config
from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Group, Image as DrawnImage
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (Flowable, KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table,
                                TableStyle)
from bidi import get_display
from svglib.svglib import svg2rlg

from cnnvis.files import atomic_path

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
for name, file in (("Sans", "DejaVuSans.ttf"), ("Sans-Bold", "DejaVuSans-Bold.ttf"),
                   ("Sans-Oblique", "DejaVuSans-Oblique.ttf"), ("Sans-BoldOblique", "DejaVuSans-BoldOblique.ttf"),
                   ("Mono", "DejaVuSansMono.ttf")):
    pdfmetrics.registerFont(TTFont(name, FONT_DIR / file))
pdfmetrics.registerFontFamily("Sans", normal="Sans", bold="Sans-Bold", italic="Sans-Oblique",
                              boldItalic="Sans-BoldOblique")


PRINT_DPI = 200  # the most pixels per inch a figure's bitmap keeps at its printed size: print resolution for
# pictures at figure size, and what keeps a report of some 200 pictures under 3 MB
JPEG_QUALITY = 85  # without chroma subsampling: a pixel's colour stays its own
FEW_COLOURS = 1 / 8  # a bitmap with at most this many distinct colours per pixel stays lossless
rl_config.useA85 = 0  # binary streams: ASCII85 would add a quarter to every bitmap


def print_ready(bitmap, width_pt, lossless=None):
    """A figure's bitmap (PIL) as it goes into the PDF, printed `width_pt` points wide: at most PRINT_DPI,
    and JPEG unless it must stay lossless. lossless=None decides by the bitmap: one made of few colours (an
    amplified difference of a few grey levels, an enlarged crop, a flat plot), where a reader must see single
    grey levels, stays lossless, and compresses well so; one with about as many colours as pixels (a photo, an
    optimized image), where JPEG's error is far below what print shows, goes in as JPEG. A bitmap with
    transparency always stays lossless. Returns what ImageReader takes."""
    if bitmap.mode in ("RGBA", "LA") and bitmap.getchannel("A").getextrema()[0] == 255:
        bitmap = bitmap.convert("RGB")  # opaque: the alpha channel carries nothing
    most = math.ceil(width_pt / 72 * PRINT_DPI)
    if bitmap.width > most:
        bitmap = bitmap.resize((most, max(1, round(bitmap.height * most / bitmap.width))), PILImage.Resampling.LANCZOS)
    if lossless or bitmap.mode not in ("RGB", "L"):
        return bitmap
    pixels = np.asarray(bitmap.convert("RGB"), np.uint32)
    colours = len(np.unique(pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2]))
    if lossless is None and colours <= FEW_COLOURS * bitmap.width * bitmap.height:
        return bitmap
    jpeg = io.BytesIO()
    bitmap.save(jpeg, format="JPEG", quality=JPEG_QUALITY, subsampling=0)
    jpeg.seek(0)
    return jpeg


def _draw_image_object(renderer, image):
    """Figures' bitmaps (the optimized images inside matplotlib's SVGs) go into the PDF as image objects, at
    print resolution (print_ready). reportlab draws them as inline images, and large inline images make some
    readers (poppler) report syntax errors in the page."""
    if image.path is not None:
        a, b = renderer._canvas._currentMatrix[:2]
        width_pt = abs(image.width) * math.hypot(a, b)
        bitmap = print_ready(image.path, width_pt, image.path.info.get("lossless"))
        renderer._canvas.drawImage(ImageReader(bitmap), image.x, image.y, image.width, image.height)


renderPDF._PDFRenderer.drawImage = _draw_image_object

TEXT_WIDTH = A4[0] - 4 * cm
STYLES = {
    "body": ParagraphStyle("body", fontName="Sans", fontSize=9, leading=12, spaceAfter=4, autoLeading="max"),
    # autoLeading: a line with a subscript or superscript grows instead of running into its neighbours
    "small": ParagraphStyle("small", fontName="Sans", fontSize=8, leading=10.5, spaceAfter=3),
    "caption": ParagraphStyle("caption", fontName="Sans-Oblique", fontSize=8, leading=10, spaceAfter=7,
                              spaceBefore=2),
    "h1": ParagraphStyle("h1", fontName="Sans-Bold", fontSize=15, leading=19, spaceBefore=6, spaceAfter=8,
                         keepWithNext=1),  # a heading never ends a page
    "h2": ParagraphStyle("h2", fontName="Sans-Bold", fontSize=11.5, leading=14, spaceBefore=6, spaceAfter=3,
                         keepWithNext=1),
    "title": ParagraphStyle("title", fontName="Sans-Bold", fontSize=21, leading=27, alignment=TA_CENTER,
                            spaceAfter=12),
    "subtitle": ParagraphStyle("subtitle", fontName="Sans", fontSize=12, leading=17, alignment=TA_CENTER,
                               spaceAfter=6),
    "code": ParagraphStyle("code", fontName="Mono", fontSize=8, leading=10.5, spaceAfter=5, leftIndent=10),
    "cell": ParagraphStyle("cell", fontName="Sans", fontSize=7.5, leading=9.5),
}


def visual(text):
    """`text` in the order its characters are drawn, left to right. reportlab draws characters one after
    another, so right-to-left words (Hebrew, Arabic) are reordered here by the Unicode bidirectional algorithm
    (python-bidi), in a left-to-right line, after Arabic letters take their joined forms (arabic-reshaper).
    Left-to-right text is returned unchanged."""
    return get_display(arabic_reshaper.reshape(str(text)), base_dir="L")


def escape(user_text):
    """Text from a user, made safe for the markup of text(): shown as written, in its reading order, never read
    as markup."""
    return xml_escape(visual(user_text))


def names_markup(names):
    """["Ada Lovelace", "Alan Turing"] -> "Ada Lovelace and Alan Turing" as markup, each name on one line: a
    right-to-left name reordered for drawing would read wrong if split across two lines."""
    return " and ".join(escape(name).replace(" ", "\xa0") for name in names)


def unprintable(user_text):
    """The characters of `user_text` that the report's font has no glyph for, in order, without repeats."""
    glyphs = pdfmetrics.getFont("Sans").face.charToGlyph
    return list(dict.fromkeys(ch for ch in visual(user_text) if not ch.isspace() and ord(ch) not in glyphs))


def text(markup, style="body"):
    """A paragraph; markup is reportlab's mini-HTML (<b>, <i>, <sub>, <super>, <font name='Mono'>)."""
    return Paragraph(markup, STYLES[style])


def heading(title, level=1):
    return Paragraph(title, STYLES[f"h{level}"])


MIN_TEXT_PT = 6.0  # no text in a figure prints smaller


def text_sizes(svg_path):
    """Font sizes (pt) of the text in a matplotlib SVG, which draws each text as glyph paths scaled by size/100."""
    svg = Path(svg_path).read_text(encoding="utf-8")
    return [round(100 * float(v), 2) for v in re.findall(r'<g id="text_\d+">\s*(?:<!--.*?-->\s*)?<g transform="[^"]*?'
                                               r'scale\(([\d.]+) -', svg, re.S)]


def figure(svg_path, caption, max_height=21 * cm, lossless=None):
    """A matplotlib SVG placed as vector graphics, scaled to the text width, with its caption. Its bitmaps go in
    at print resolution; lossless=True keeps every one of them lossless, False puts every opaque one in as JPEG
    (None: each decides, print_ready)."""
    drawing = svg2rlg(str(svg_path))
    for bitmap in bitmaps(drawing):
        if bitmap.path is not None:
            bitmap.path.info["lossless"] = lossless  # the PIL image svglib decoded; read when it is drawn
    scale = min(TEXT_WIDTH / drawing.width, max_height / drawing.height)
    drawing.scale(scale, scale)
    drawing.width, drawing.height = drawing.width * scale, drawing.height * scale
    sizes = text_sizes(svg_path)
    return Figure(drawing, text(caption, "caption"), min(sizes) * scale if sizes else None)


def bitmaps(node):
    """The bitmaps (reportlab Image shapes) anywhere in a drawing."""
    if isinstance(node, DrawnImage):
        yield node
    for child in getattr(node, "contents", []) if isinstance(node, Group) else []:
        yield from bitmaps(child)


class Figure(Flowable):
    """A drawing above its caption that shrinks, to no less than SMALLEST of its size and never so far that its
    smallest text prints under MIN_TEXT_PT, to fit the rest of a page: moved whole to the next page instead, a
    tall figure would leave this one half empty. text_pt: its smallest text in points as placed, if known."""
    SMALLEST = 0.7

    def __init__(self, drawing, caption, text_pt=None):
        super().__init__()
        self.drawing, self.caption, self.shrink, self.text_pt = drawing, caption, 1.0, text_pt
        self.smallest = min(1.0, max(self.SMALLEST, MIN_TEXT_PT / text_pt if text_pt else 0))

    def printed_text_pt(self):
        """The smallest text of the figure as printed (after any shrink), or None when it has no text."""
        return self.text_pt * self.shrink if self.text_pt else None

    def wrap(self, width, height):
        self.caption_height = self.caption.wrap(width, height)[1] + self.caption.style.spaceBefore
        room = (height - self.caption_height) / self.drawing.height
        self.shrink = min(room, 1.0) if room >= self.smallest else 1.0
        self.width, self.height = width, self.drawing.height * self.shrink + self.caption_height
        return self.width, self.height

    def getSpaceAfter(self):
        return self.caption.style.spaceAfter

    def draw(self):
        self.caption.drawOn(self.canv, 0, 0)
        self.canv.translate((self.width - self.drawing.width * self.shrink) / 2, self.caption_height)
        self.canv.scale(self.shrink, self.shrink)
        self.drawing.drawOn(self.canv, 0, 0)


def small_text(story):
    """The figures of a built story whose smallest text prints under MIN_TEXT_PT: [(caption start, points)]."""
    return [(f.caption.text[:40], round(f.printed_text_pt(), 1)) for f in story
            if isinstance(f, Figure) and f.text_pt and f.printed_text_pt() < MIN_TEXT_PT - 0.05]


def formula(tex, size=11):
    """A display formula typeset by matplotlib's mathtext (vector), centred."""
    fig = plt.figure(figsize=(0.01, 0.01))
    fig.text(0, 0, f"${tex}$", fontsize=size, math_fontfamily="dejavusans")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", pad_inches=0.03, transparent=True)
    plt.close(fig)
    buffer.seek(0)
    drawing = svg2rlg(buffer)
    if drawing.width > TEXT_WIDTH:  # never wider than the text
        scale = TEXT_WIDTH / drawing.width
        drawing.scale(scale, scale)
        drawing.width, drawing.height = TEXT_WIDTH, drawing.height * scale
    drawing.hAlign = "CENTER"
    return KeepTogether([Spacer(1, 2), drawing, Spacer(1, 5)])


def table(header, rows, widths=None, lead_in=None):
    """A compact table with a shaded header row; cells may hold markup. The sentence that introduces it
    (`lead_in`, markup) is kept on the table's page."""
    data = [[Paragraph(f"<b>{h}</b>", STYLES["cell"]) for h in header]]
    data += [[Paragraph(str(c), STYLES["cell"]) for c in row] for row in rows]
    t = Table(data, colWidths=widths, repeatRows=1, hAlign="CENTER")
    t.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e4e8ee")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, colors.HexColor("#55606e")),
        ("LINEBELOW", (0, -1), (-1, -1), 0.6, colors.HexColor("#55606e")),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f7f9")]),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return KeepTogether(([text(lead_in)] if lead_in else []) + [t, Spacer(1, 6)])


def page_break():
    return PageBreak()


def space(height_cm):
    return Spacer(1, height_cm * cm)


def keep_headings_with_tables(story):
    """A heading followed by a table (a KeepTogether) goes into the table's KeepTogether: reportlab's keepWithNext
    does not hold a heading to a KeepTogether, and the heading would end a page alone."""
    out = []
    for flowable in story:
        if (isinstance(flowable, KeepTogether) and out and isinstance(out[-1], Paragraph)
                and getattr(out[-1].style, "keepWithNext", 0)):
            flowable = KeepTogether([out.pop(), *flowable._content])
        out.append(flowable)
    return out


def build(path, story, title, author, footer, keywords=""):
    """Write the PDF atomically: A4, 2 cm side margins, `footer` (plain text, not markup) and the page number on every
    page but the first."""

    def decorate(canvas, doc):
        if doc.page > 1:
            canvas.setFont("Sans", 7.5)
            canvas.setFillColor(colors.HexColor("#55606e"))
            canvas.drawString(2 * cm, 1.2 * cm, visual(footer))
            canvas.drawRightString(A4[0] - 2 * cm, 1.2 * cm, f"page {doc.page}")

    with atomic_path(path) as tmp:
        doc = SimpleDocTemplate(str(tmp), pagesize=A4, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=1.5 * cm,
                                bottomMargin=1.8 * cm, title=title, author=author, keywords=keywords)
        doc.build(keep_headings_with_tables(story), onFirstPage=decorate, onLaterPages=decorate)
    return Path(path)

