"""The deliverable: the submission rules the packager enforces, atomic writing, the report builder's
message for missing results, and a report built from (small, made-up) results."""
import argparse
import shutil
import subprocess
import zipfile

import pytest
from matplotlib import pyplot as plt

import make_report
import make_submission
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
    assert not any("npz" in n or n.endswith(".npy") for n in names)  # weights are not shipped
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
            "regularizers": {"l2": 1.0}, "image_file": "x.png"}
    logit = {**unit, "layer": "logits", "unit": 9, "label": "logits #9 (ostrich)", "judge_top1": "ostrich"}
    fake_set(out, "q1", {"recognition_rate": {"L2": 0.0, "Yosinski": 0.0, "robust": 1.0}, "units": [
        {**unit, "variant": "L2", "target": None, "achieved": 9.5},
        {**unit, "variant": "Yosinski", "target": None, "achieved": 4.5, "regularizers": {"jitter": 8}},
        {**unit, "variant": "robust", "target": None, "achieved": 3.5},
        {**logit, "variant": "L2", "target": None, "achieved": 40.0, "recognized": False, "judge_top1": "kite"},
        {**logit, "variant": "Yosinski", "target": None, "achieved": 30.0, "recognized": False, "judge_top1": "kite"},
        {**logit, "variant": "robust", "target": None, "achieved": 20.0, "recognized": True},
        {**unit, "variant": "target", "target": 2.0, "achieved": 2.01}]}, ["q1_layers_1"])
    methods = ("image-norm prior", "1/w term", "1/w term + robustness", "Fourier parameterization")
    fake_set(out, "q2", {"fourier_weight": 30.0, "fourier_size": 64, "l2": 1.0, "steps": 5, "reference_slope": -1.3,
                         "recognition_rate": {m: r for m, r in zip(methods, (0.0, 0.0, 1.0, 1.0))}, "classes": [
        {"class_index": 9, "class_name": "ostrich", "method": m, "target_logit": None, "logit": 29.9, "steps": 5,
         "prob": 0.99, "top_class": "ostrich", "spectral_slope": s, "image_file": "y.png", "recognized": r == 1.0,
         "judge_top1": "ostrich" if r else "kite", "judge_prob_of_class": r * 0.9}
        for m, s, r in zip(methods, (0.02, -1.1, -1.0, -1.0), (0.0, 0.0, 1.0, 1.0))]}, ["q2_classes_1", "q2_spectra"])
    fake_set(out, "q3", {"min_prob": 0.98, "step": 0.5, "rung": 10, "cases": [
        {"image": "images/coffee.jpg", "original_class": "espresso", "original_index": 967, "original_prob": 0.83,
         "target_class": "ostrich", "target_index": 9, "target_prob_before": 1e-6, "final_prob": 0.981,
         "final_top_class": "ostrich", "norm": "linf", "steps": 12, "l2": 1500.0, "linf": 11.0, "psnr": 35.1,
         "output_file": "z.png"}]}, ["q3"])
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


def test_report_builds_with_every_section(tmp_path, monkeypatch):
    fake_results(tmp_path)
    monkeypatch.setattr("sys.argv", ["make_report.py", "--names", "Ada Lovelace", "Alan Turing", "--out",
                                     str(tmp_path), "--net", "efficientnet-lite0"])
    monkeypatch.setattr(make_report, "remember", lambda names: None)
    monkeypatch.setattr(make_report, "resolve_names", lambda given: resolve_names(given, tmp_path / "names.json"))
    assert make_report.main() == 0
    report = tmp_path / f"{STEM}.pdf"
    data = report.read_bytes()
    assert data.startswith(b"%PDF") and data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 6
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed; the PDF was built but its text is not checked")
    text = subprocess.run(["pdftotext", str(report), "-"], capture_output=True, text=True).stdout
    for expected in ("Ada Lovelace and Alan Turing", "not by AlexNet", "1. The code", "(Q1)", "(Q2)", "(Q3)",
                     "(Q4)", "6. Theoretical questions", "1.1 Receptive field", "9×9", "NP-completeness",
                     "espresso", "PSNR", "Grad-CAM on both means", "0.100 vs 0.200"):
        assert expected in text, expected
