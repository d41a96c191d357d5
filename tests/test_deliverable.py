"""The deliverable: the submission rules the packager enforces, atomic writing, the report builder's
message for missing results, a report built from (small, made-up) results and read back, and a submission
that runs when unpacked."""
import argparse
import json
import re
import shutil
import subprocess
import sys
import unicodedata
import zipfile

import pypdf
import pytest
from matplotlib import pyplot as plt

import make_report
import make_submission
from cnnvis import pdf
from cnnvis.errors import UserError
from cnnvis.files import atomic_path, write_json
from cnnvis.imaging import save_figure
from cnnvis.names import remember, resolve_names, submission_name

STEM = "Ex2_AdaLovelace_AlanTuring"


def test_submission_name_follows_the_rule(tmp_path):
    assert submission_name(["Ada Lovelace", "Alan Turing"]) == STEM
    assert submission_name(["Yann  LeCun"]) == "Ex2_YannLeCun"
    names_file = tmp_path / "names.json"
    assert resolve_names(["Ada  Lovelace"], names_file) == ["Ada Lovelace"]
    assert not names_file.exists()  # checked names are remembered only once the command succeeds
    remember(["Ada Lovelace"], names_file)
    assert resolve_names(None, names_file) == ["Ada Lovelace"]
    with pytest.raises(UserError, match="one or two student names"):
        resolve_names(["A B", "C D", "E F"], names_file)


@pytest.fixture
def entries(tmp_path):
    report = tmp_path / f"{STEM}.pdf"
    report.write_bytes(b"%PDF-1.4 report")
    return make_submission.submission_entries(STEM, report)


def test_packager_accepts_the_real_tree(entries, tmp_path):
    names = list(entries)
    make_submission.check_rules(STEM, names)
    assert f"{STEM}/q1_visualize.py" in names and f"{STEM}/images/chelsea.jpg" in names
    assert f"{STEM}/weights/efficientnet_lite0.npz" in names
    assert not any("efficientnet_lite1" in n and n.endswith(".npz") for n in names)  # the judge only evaluates
    assert not any(n.endswith(".npy") or ".sha256" in n for n in names)  # never AlexNet's weights
    path = make_submission.write_zip(tmp_path / f"{STEM}.zip", entries)
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == sorted(names) and zf.read(f"{STEM}.pdf") == b"%PDF-1.4 report"


@pytest.mark.parametrize("extra, message", [
    ({f"{STEM}/images/preview.PNG": None}, "must not contain PNG files"),
    ({f"{STEM}/notes.pdf": None}, "exactly one PDF"),
])
def test_packager_refuses_broken_rules(entries, extra, message):
    with pytest.raises(UserError, match=message):
        make_submission.check_rules(STEM, list(entries) + list(extra))


def test_packager_refuses_misnamed_report(entries):
    names = [n for n in entries if not n.endswith(".pdf")] + ["Ex2_Someone.pdf"]
    with pytest.raises(UserError, match=f"must be named {STEM}.pdf"):
        make_submission.check_rules(STEM, names)


def test_atomic_path_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "result.json"
    write_json(target, {"good": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text('{"half": ')
            raise RuntimeError("interrupted")
    assert target.read_text() == '{\n  "good": 1\n}\n' and list(tmp_path.iterdir()) == [target]


def question_script(folder, name, body):
    """A stand-in question script that runs `body` inside cli.run, as the real ones do."""
    path = folder / name
    path.write_text(f"from cnnvis import cli\nfrom cnnvis.errors import UserError\ndef main():\n    {body}\n"
                    f"cli.run(main)\n")
    return str(path)


def test_failed_questions_stop_the_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(make_report, "QUESTIONS", {
        "q1": question_script(tmp_path, "q1.py", "raise UserError('no such layer')"),
        "q2": question_script(tmp_path, "q2.py", "return 0"),
        "q3": question_script(tmp_path, "q3.py", "return 1")})
    args = argparse.Namespace(out=tmp_path / "out", rerun=False, net="efficientnet-lite0", weights=None, seed=0)
    with pytest.raises(UserError, match=r"^q1, q3 could not be made on efficientnet-lite0 .* no report was written"):
        make_report.ensure_results(args)
    output = capsys.readouterr()
    assert "error: no such layer" in output.err and "[2/4] q2: done" in output.out


def test_an_interrupted_question_interrupts_the_report(tmp_path, monkeypatch):
    ran = tmp_path / "q2 ran"
    monkeypatch.setattr(make_report, "QUESTIONS", {
        "q1": question_script(tmp_path, "q1.py", "raise KeyboardInterrupt"),
        "q2": question_script(tmp_path, "q2.py", f"open({str(ran)!r}, 'w')")})
    args = argparse.Namespace(out=tmp_path / "out", rerun=False, net="efficientnet-lite0", weights=None, seed=0)
    with pytest.raises(SystemExit) as stopped:
        make_report.ensure_results(args)
    assert stopped.value.code == 130 and not ran.exists()


# --------------------------------------------------------------------------------------------------
# The report, built from small made-up results (the real ones take minutes to compute)
# --------------------------------------------------------------------------------------------------
def fake_set(out, question, payload, figures):
    """A made-up result set <out>/efficientnet-lite0/<question>/ with results.json and figures."""
    folder = out / "efficientnet-lite0" / question
    names = []
    for name in figures:
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([1, 2, 3])
        names.append(str(save_figure(fig, folder / "figures" / name).relative_to(folder)))
    net = {"network": "efficientnet-lite0", "network_reason": "test", "network_weights": "bundled", "seed": 0}
    write_json(folder / "results.json", {**net, **payload, "figures": names})


def fake_results(out):
    unit = {"layer": "stage3", "unit": 1, "position": "centre", "label": "stage3 #1", "steps": 5, "seed": 0,
            "stands_for": "stage3 (conv4)", "contrast": 12.0,
            "regularizers": {"l2": 1.0}, "image_file": "x.png"}
    logit = {**unit, "layer": "logits", "unit": 9, "label": "logits #9 (ostrich)", "judge_top1": "ostrich",
             "stands_for": "logits (fc8)"}
    fake_set(out, "q1", {"recognition_rate": {"L2": 0.0, "Yosinski": 0.0, "robust": 1.0}, "class_method": {},
                         "units": [
        {**unit, "variant": "L2", "shown_as": "L2", "target": None, "achieved": 9.5},
        {**unit, "variant": "Yosinski", "shown_as": "Yosinski", "target": None, "achieved": 4.5,
         "regularizers": {"jitter": 8}},
        {**unit, "variant": "robust", "shown_as": "robust", "target": None, "achieved": 3.5},
        {**logit, "variant": "L2", "shown_as": "L2", "target": None, "achieved": 40.0, "recognized": False,
         "judge_top1": "kite"},
        {**logit, "variant": "Yosinski", "shown_as": "Yosinski", "target": None, "achieved": 30.0, "recognized": False,
         "judge_top1": "kite"},
        {**logit, "variant": "robust", "shown_as": "magnitude-constrained", "target": None, "achieved": 20.0,
         "recognized": True},
        {**unit, "variant": "target", "shown_as": "target", "target": 2.0, "achieved": 2.01},
        *[{**unit, "variant": "lambda sweep", "shown_as": "lambda sweep", "target": None, "achieved": a, "l2": lam}
          for lam, a in ((0.0, 9.0), (100.0, 9.5), (1e6, 7.0))]],
        "curves": {m: {"steps": 5, "units": 2, "rise_last_quarter": 0.01, "mean_activation": [1, 2, 3, 4, 5]}
                   for m in ("L2", "Yosinski", "robust", "magnitude-constrained")},
        "convergence": {"recorded": True, "file": "bench/q1_convergence.json", "steps": 50,
                        "units": ["stage3 #1", "logits #9 (ostrich)"],
                        "methods": {"L2": {"achieved": [19.0, 80.0], "rise_last_quarter": 0.005},
                                    "Yosinski": {"achieved": [-1.0, 45.0], "rise_last_quarter": -0.05}}}},
             ["q1_layers_1", "q1_layers_2", "q1_curves", "q1_lambda", "q1_targets"])
    methods = ("image-norm prior", "1/w term", "1/w term + robustness", "Fourier parameterization",
               "magnitude-constrained", "magnitude-constrained, 1/w law")
    canvas = {"centre_recognized": True, "centre_judge_top1": "ostrich", "centre_judge_prob_of_class": 0.8}
    fake_set(out, "q2", {"fourier_weight": 30.0, "fourier_size": 64, "l2": 1.0, "steps": 5, "reference_slope": -1.3,
                         "default_method": methods[4], "compared_method": methods[5],
                         "crops": {"count": 2, "canvas": 64, "resolution": 32, "start": 0.5, "end": 0.05, "noise": 10},
                         "recognition_rate": {m: r for m, r in zip(methods, (0.0, 0.0, 1.0, 1.0, 0.0, 1.0))},
                         "centre_recognition_rate": {m: 1.0 for m in methods[4:]}, "classes": [
        {"class_index": 9, "class_name": "ostrich", "method": m, "target_logit": None, "logit": 29.9, "steps": 5,
         "prob": 0.99, "top_class": "ostrich", "spectral_slope": s, "image_file": "y.png", "recognized": r == 1.0,
         "judge_top1": "ostrich" if r else "kite", "judge_prob_of_class": r * 0.9, **(canvas if "magn" in m else {})}
        for m, s, r in zip(methods, (0.02, -1.1, -1.0, -1.0, -1.3, -1.1), (0.0, 0.0, 1.0, 1.0, 0.0, 1.0))]},
             ["q2_classes", "q2_magnitudes", "q2_spectra"])
    fake_set(out, "q3", {"min_prob": 0.98, "step": 0.5, "rung": 10, "restarts": 4, "confirm_steps": 30, "cases": [
        {"image": "images/coffee.jpg", "original_class": "espresso", "original_index": 967, "original_prob": 0.83,
         "target_class": "ostrich", "target_index": 9, "target_prob_before": 1e-6, "final_prob": 0.981,
         "final_top_class": "ostrich", "norm": "linf", "steps": 12, "gradient_steps": 52, "l2": 1500.0, "linf": 2.0,
         "psnr": 35.1, "changed_fraction": 0.8, "output_file": "z.png", "search": [
             {"phase": "climb", "budget": 1, "restarts": 1, "steps": 10, "fooled": False, "best_p_target": 0.2},
             {"phase": "climb", "budget": 2, "restarts": 1, "steps": 12, "fooled": True, "best_p_target": 0.981},
             {"phase": "confirm", "budget": 1, "restarts": 4, "steps": 30, "fooled": False,
              "best_p_target": 0.5}]}]}, ["q3"])
    faithful = (("occlusion 32", 0.1, 0.8), ("Grad-CAM", 0.2, 0.7), ("random", 0.3, 0.4))
    fake_set(out, "q4", {"maps": [
        {"image": "images/coffee.jpg", "class_index": 967, "class_name": "espresso", "base_prob": 0.83,
         "block": 32, "stride": 8, "cells": 25, "fill": "mean", "fill_meaning": "input-space zero",
         "min_prob": 0.47, "min_at": [56, 96], "heatmap_file": "m.npy"}],
        "faithfulness": {"steps": 2, "deletion_to": "zero", "insertion_from": "a blurred copy", "grad_cam_layer": "head",
                         "mean": {m: {"deletion": d, "insertion": i} for m, d, i in faithful},
                         "per_image": [{"image": "images/coffee.jpg", "class_name": "espresso", "method": m,
                                        "deletion": d, "insertion": i, "deletion_curve": [0.8, 0.1, 0.0],
                                        "insertion_curve": [0.1, 0.7, 0.8]} for m, d, i in faithful]}},
             ["q4", "q4_faithfulness"])


NAMES = ["שרה כהן", "Tom & <b>Jerry</b>"]  # a right-to-left name, and one with markup characters


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report, built once by make_report from the made-up results, for NAMES."""
    out = tmp_path_factory.mktemp("out")
    fake_results(out)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", ["make_report.py", "--names", *NAMES, "--out", str(out), "--net", "efficientnet-lite0"])
        patch.setattr(make_report, "remember", lambda names: None)
        assert make_report.main() == 0
    return out / f"{submission_name(NAMES)}.pdf"


def page_texts(path):
    """Each page's text as a reader gets it (pypdf: right-to-left words in reading order), without spaces:
    readers place the space between a right-to-left and a left-to-right word on either side."""
    return ["".join(page.extract_text().split()) for page in pypdf.PdfReader(path).pages]


def test_report_builds_with_every_section(report):
    text = "".join(page_texts(report))
    assert len(page_texts(report)) >= 6
    for expected in ("not by AlexNet", "1. The code", "(Q1)", "(Q2)", "(Q3)", "(Q4)", "6. Theoretical questions",
                     "1.1 Receptive field", "9×9", "NP-completeness", "espresso", "PSNR", "synthetic",
                     "never ran here", "vision-language model", "deletion -0.100 (within the spread"):
        assert "".join(expected.split()) in text, expected
    assert "supportsAlexNetfully" not in text
    assert not pdf.unprintable(text)  # every character has a glyph in the report's font


def faith(per_photo):
    """Deletion/insertion results for photos: {photo: {map: (deletion, insertion)}}."""
    rows = [{"image": photo, "method": m, "deletion": d, "insertion": i}
            for photo, maps in per_photo.items() for m, (d, i) in maps.items()]
    methods = list(next(iter(per_photo.values())))
    return {"per_image": rows, "mean": {m: {} for m in methods}}


def test_a_difference_within_its_spread_over_photos_is_no_win():
    mixed = faith({"a": {"occlusion 32": (0.10, 0.80), "Grad-CAM": (0.20, 0.70)},   # better on a ...
                   "b": {"occlusion 32": (0.30, 0.60), "Grad-CAM": (0.21, 0.69)}})  # ... worse on b
    said = make_report.faithfulness_sentences(mixed)
    assert "deletion -0.005 ± 0.134 (within the spread; better on 1 of 2 photos)" in said
    assert "insertion +0.005 ± 0.134 (within the spread; better on 1 of 2 photos)" in said
    assert said.startswith("no occlusion map differs from Grad-CAM by more than the spread over the photos")
    steady = faith({p: {"occlusion 32": (0.10 + k, 0.80), "Grad-CAM": (0.20 + k, 0.70 + k / 10)}
                    for k, p in ((0.0, "a"), (0.01, "b"), (0.02, "c"))})
    said = make_report.faithfulness_sentences(steady)
    assert "deletion -0.100 ± 0.000 (better; better on 3 of 3 photos)" in said
    assert "insertion +0.099 ± 0.001 (better; better on 3 of 3 photos)" in said
    assert said.startswith("occlusion 32 is better than Grad-CAM by deletion; occlusion 32 is better than Grad-CAM "
                           "by insertion, beyond the spread over the photos")


def test_the_title_page_names_each_stand_in_for_alexnets_layers():
    layers = ["stem", "stage1", "stage2", "stage3", "stage4", "stage5", "stage6", "logits"]
    alexnet_layers = ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8"]
    q1 = {"units": [{"layer": layer, "stands_for": f"{layer} ({alex})"} for layer, alex in zip(layers, alexnet_layers)]
          + [{"layer": "x", "stands_for": "x"}]}  # a layer Q1 names without an AlexNet counterpart is left out
    assert make_report.stand_ins({"units": [{"layer": "x", "stands_for": "x"}]}) == ""
    said = make_report.stand_ins(q1)
    assert "stem for conv1, stage1 for conv2" in said
    assert "stage4 for conv5, stage5 for fc6, stage6 for fc7, logits for fc8" in said
    assert "no fc6 or fc7" in said and "stage5 and stage6 stand in for fc6 and fc7" in said


def test_names_read_as_typed_in_their_own_direction_on_every_page(report):
    """The Hebrew name right to left (reportlab alone draws it backwards), the other with its "<b>" and "&"
    as typed, on the title page and in every footer (which once showed "&lt;b&gt;")."""
    pages = page_texts(report)
    assert all("שרהכהןandTom&<b>Jerry</b>" in page for page in pages), pages[0][:300]
    assert not any("&lt;" in page or "&amp;" in page for page in pages)


FRAME_HEIGHT = pdf.A4[1] - 3.8 * pdf.cm - 12  # a page's text frame: 1.8 and 2 cm margins, 6 pt padding each side


def test_a_figure_that_nearly_fits_shrinks_onto_the_page_of_its_lead_in(tmp_path):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.plot([1, 2, 3])
    svg = save_figure(fig, tmp_path / "figure").with_suffix(".svg")
    height = pdf.figure(svg, "Caption").wrap(pdf.TEXT_WIDTH, FRAME_HEIGHT)[1]
    left = 0.85 * height  # the figure would move on whole and leave this much of the page empty
    story = [pdf.space((FRAME_HEIGHT - left) / pdf.cm), pdf.figure(svg, "Caption of the figure."),
             pdf.text("After the figure.")]
    pdf.build(tmp_path / "f.pdf", story, title="t", author="a", footer="f")
    first, *rest = page_texts(tmp_path / "f.pdf")
    assert "Captionofthefigure." in first and not any("Captionofthefigure." in page for page in rest)


def test_a_table_starts_on_the_page_of_the_sentence_that_introduces_it(tmp_path):
    story = [pdf.space((FRAME_HEIGHT - 40) / pdf.cm),  # room for the lead-in's line, not for the table
             pdf.table(["neuron", "value"], [["unit 1", "0.5"], ["unit 2", "0.7"]], lead_in="The values:")]
    pdf.build(tmp_path / "t.pdf", story, title="t", author="a", footer="f")
    pages = page_texts(tmp_path / "t.pdf")
    assert [("Thevalues:" in page, "unit1" in page) for page in pages] == [(False, False), (True, True)]


def test_arabic_names_are_joined_and_in_reading_order(tmp_path):
    name = "محمد علي"
    pdf.build(tmp_path / "a.pdf", [pdf.text(pdf.names_markup([name])), pdf.page_break(), pdf.text("page 2")],
              title="t", author=name, footer=name)
    for text in page_texts(tmp_path / "a.pdf"):
        assert "محمدعلي" in unicodedata.normalize("NFKC", text)  # in reading order ...
        assert "محمدعلي" not in text and any(0xFE70 <= ord(ch) <= 0xFEFF for ch in text)  # ... as joined letters


def test_a_name_without_letters_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr("sys.argv", ["make_report.py", "--names", "-", "--out", str(tmp_path)])
    monkeypatch.setattr(make_report, "ensure_results", lambda args: pytest.fail("the questions ran"))
    with pytest.raises(UserError, match="the name '-' has no letters"):
        make_report.main()
    assert not list(tmp_path.iterdir())


def test_contradictory_network_flags_are_refused_before_anything_runs(tmp_path, monkeypatch):
    (tmp_path / "junk").write_text("not weights")
    monkeypatch.setattr("sys.argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(tmp_path / "out"),
                                     "--net", "efficientnet-lite0", "--weights", str(tmp_path / "junk")])
    monkeypatch.setattr(make_report, "ensure_results", lambda args: pytest.fail("the questions ran"))
    with pytest.raises(UserError, match="cannot be combined with --net efficientnet-lite0"):
        make_report.main()


@pytest.mark.parametrize("damage, detail", [
    (lambda results: [case.pop("psnr") for case in results["cases"]], "KeyError: 'psnr'"),
    (lambda results: results.update(cases=[]), "ValueError: "),
])
def test_results_lacking_what_the_report_reads_are_named_with_their_command(damage, detail, tmp_path, monkeypatch):
    fake_results(tmp_path)
    path = tmp_path / "efficientnet-lite0" / "q3" / "results.json"
    results = json.loads(path.read_text())
    damage(results)
    path.write_text(json.dumps(results))
    monkeypatch.setattr("sys.argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(tmp_path), "--net",
                                     "efficientnet-lite0"])
    monkeypatch.setattr(make_report, "remember", lambda names: None)
    with pytest.raises(UserError, match=re.escape(f"{path} lacks what the report reads ({detail}") + ".*"
                       + re.escape(f"remake it with python q3_fool.py --out {tmp_path} --net efficientnet-lite0")):
        make_report.main()
    assert not list(tmp_path.glob("*.pdf"))


def test_names_are_remembered_only_once_the_report_exists(tmp_path, monkeypatch):
    monkeypatch.setattr(make_report, "QUESTIONS", {"q1": question_script(tmp_path, "q1.py", "return 1")})
    monkeypatch.setattr("sys.argv", ["make_report.py", "--names", "Ada Lovelace", "--out", str(tmp_path / "out"),
                                     "--net", "efficientnet-lite0"])
    remembered = []
    monkeypatch.setattr(make_report, "remember", remembered.append)
    with pytest.raises(UserError, match="q1 could not be made"):
        make_report.main()
    assert remembered == []


# --------------------------------------------------------------------------------------------------
# The submission: only the report the results made, and it runs when unpacked
# --------------------------------------------------------------------------------------------------
def test_submission_takes_only_the_pdf_the_results_beside_it_made(report, tmp_path):
    folder = shutil.copytree(report.parent, tmp_path / "out")
    copy = folder / report.name
    make_submission.check_report(copy)
    copy.with_name("Ex2_Ada.pdf").write_text("not a pdf at all")
    with pytest.raises(UserError, match="Ex2_Ada.pdf is not a readable PDF"):
        make_submission.check_report(copy.with_name("Ex2_Ada.pdf"))
    shutil.rmtree(folder / "efficientnet-lite0" / "q3")
    with pytest.raises(UserError, match=re.escape(f"{copy} does not match the results beside it "
                                                  "(efficientnet-lite0/q3/results.json: deleted, or made again")):
        make_submission.check_report(copy)


def test_submission_dest_that_is_a_file_is_refused_first(tmp_path, monkeypatch):
    (tmp_path / "taken").write_text("a file")
    monkeypatch.setattr("sys.argv", ["make_submission.py", "--names", "Ada Lovelace", "--report-dir", str(tmp_path),
                                     "--dest", str(tmp_path / "taken")])
    with pytest.raises(UserError, match="--dest .*taken is a file; give a folder"):
        make_submission.main()


# Every question on a small subject, each as its command line would run it, in one process (TensorFlow loads once).
QUESTION_RUNS = (["q1_visualize.py", "--layer", "logits", "--unit", "9", "--steps", "2"],
                 ["q2_fourier.py", "--target", "ostrich", "--steps", "4", "--crops", "1", "--canvas", "64",
                  "--crop-resolution", "32"],
                 ["q3_fool.py", "--image", "images/coffee.jpg", "--target", "ostrich", "--norm", "linf"],
                 ["q4_heatmap.py", "--image", "images/coffee.jpg", "--block", "112", "--stride", "112"])
RUN_ALL = """import runpy, sys
for argv in {runs!r}:
    sys.argv = argv + ["--out", {out!r}]
    try:
        runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as e:
        if e.code:
            raise
"""


def test_unpacked_submission_runs_every_question(tmp_path):
    """The ZIP carries the bundled network's weights but not the judge's, so every question runs in the unpacked
    copy as it is, and says once that the judge is absent."""
    report = tmp_path / "Ex2_X.pdf"
    report.write_bytes(b"%PDF-1.4")
    path = make_submission.write_zip(tmp_path / "Ex2_X.zip", make_submission.submission_entries("Ex2_X", report))
    with zipfile.ZipFile(path) as zf:
        zf.extractall(tmp_path / "unpacked")
    out = tmp_path / "results"
    run = subprocess.run([sys.executable, "-c", RUN_ALL.format(runs=QUESTION_RUNS, out=str(out))],
                         cwd=tmp_path / "unpacked" / "Ex2_X", capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("sibling judge (efficientnet-lite1) is absent") == 2  # Q1 and Q2 each say it once
    results = {p.parent.name.split("_")[0]: json.loads(p.read_text()) for p in out.rglob("results.json")}
    assert sorted(results) == ["q1", "q2", "q3", "q4"]
    assert {r["network"] for r in results.values()} == {"efficientnet-lite0"}
    assert results["q3"]["cases"][0]["final_top_class"] == "ostrich"
    assert results["q2"]["judge"] is None and not any("recognized" in r for r in results["q2"]["classes"])


def test_report_builds_from_results_made_without_the_sibling_judge(tmp_path, monkeypatch):
    """The unpacked ZIP has no judge: its Q1 and Q2 results carry no verdicts, and the report says so instead of
    taking the results for damaged ones."""
    fake_results(tmp_path)
    for question in ("q1", "q2"):
        path = tmp_path / "efficientnet-lite0" / question / "results.json"
        results = json.loads(path.read_text())
        for row in results.get("units", []) + results.get("classes", []):
            for key in [k for k in row if k.startswith(("judge", "centre_judge", "recognized", "centre_recognized"))]:
                del row[key]
        results["recognition_rate"] = {m: None for m in results["recognition_rate"]}
        results["centre_recognition_rate"] = {}
        path.write_text(json.dumps(results))
    monkeypatch.setattr("sys.argv", ["make_report.py", "--names", "Ada", "--out", str(tmp_path), "--net",
                                     "efficientnet-lite0"])
    monkeypatch.setattr(make_report, "remember", lambda names: None)
    assert make_report.main() == 0
    text = " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(tmp_path / "Ex2_Ada.pdf").pages)
    assert "sibling judge was absent in this run" in text and "absent" in text  # wherever the lines break
