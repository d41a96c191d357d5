"""Nothing lost, nothing mixed, nothing faked, and one clear sentence for every user mistake.

Each test stands for a case that once lost or mixed results, or ended in a stack trace."""
import contextlib
import json
import os
import pickle
import shlex
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import alexnet
import make_report
import make_submission
import q1_visualize
import q2_fourier
import q3_fool
import q4_heatmap
from cnnvis import pdf
from cnnvis.efficientnet_lite import weights_file
from cnnvis.errors import UserError
from cnnvis.files import write_json
from cnnvis.imaging import network_label, read_image
from cnnvis.results import ResultSet, clean_stale, set_name
from conftest import ROOT, read_rgb
from test_network import write_bvlc_npy
from test_questions import run_script


def one_error_line(err):
    """stderr ends with exactly one "error: ..." line (the network line may precede it), and no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    return errors == lines[-1:] and "Traceback" not in err


# --------------------------------------------------------------------------------------------------
# Every run owns its outputs
# --------------------------------------------------------------------------------------------------
def test_result_set_appears_whole_or_not_at_all(tmp_path):
    with ResultSet(tmp_path, "net", "q9") as rs:
        rs.write_results({"run": 1})
    with pytest.raises(RuntimeError):
        with ResultSet(tmp_path, "net", "q9") as rs:
            (rs.path("figures/half.svg")).write_text("<svg")
            rs.write_results({"run": 2})
            raise RuntimeError("interrupted")
    assert json.loads((tmp_path / "net" / "q9" / "results.json").read_text()) == {"run": 1}
    assert [p.name for p in (tmp_path / "net").iterdir()] == ["q9"]  # no temporary folder left


def test_stale_temporary_folders_of_dead_runs_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".q1.tmp-{dead.pid}"
    (stale / "figures").mkdir(parents=True)
    mine = tmp_path / f".q2.tmp-{os.getpid()}"  # a live run's folder is left alone
    mine.mkdir()
    cut_off = tmp_path / f".q3.old-{dead.pid}"  # killed between its two renames: the old set comes back
    cut_off.mkdir()
    clean_stale(tmp_path)
    assert not stale.exists() and mine.exists() and (tmp_path / "q3").is_dir() and not cut_off.exists()


def test_set_names_keep_subjects_folders_and_defaults_apart(tmp_path):
    a, b = tmp_path / "a" / "cat.jpg", tmp_path / "b" / "cat.jpg"
    assert set_name("q4", {}) == "q4"
    assert set_name("q4", {"image": [a]}) != set_name("q4", {"image": [b]})  # same stem, other folder
    assert set_name("q2", {"target": ["ostrich"], "steps": 2}) != "q2"
    assert set_name("q2", {"target": ["ostrich"], "steps": 2}) == set_name("q2", {"steps": 2, "target": ["ostrich"]})


def test_custom_q2_run_does_not_replace_the_reports_set(monkeypatch, capsys, tmp_path):
    report_set = tmp_path / "efficientnet-lite0" / "q2"
    report_set.mkdir(parents=True)
    (report_set / "results.json").write_text('{"report": true}')
    code, out, err = run_script(q2_fourier, ["--target", "ostrich", "--steps", "2", "--out", tmp_path,
                                             "--net", "efficientnet-lite0"], monkeypatch, capsys)
    assert code == 0, err
    assert (report_set / "results.json").read_text() == '{"report": true}'
    custom = [p for p in (tmp_path / "efficientnet-lite0").iterdir() if p.name != "q2"]
    assert len(custom) == 1 and (custom[0] / "results.json").is_file()
    rows = json.loads((custom[0] / "results.json").read_text())["classes"]
    assert {r["method"] for r in rows} == set(q2_fourier.methods(argparse_defaults()))
    assert len({r["image_file"] for r in rows}) == len(rows)  # one file per image: no method overwrites another's
    judged = {"judge_top1", "judge_prob_of_class"} if weights_file(q2_fourier.JUDGE).is_file() else set()  # ZIP: absent
    for r in rows:  # what every image carries, and its file is that image
        assert {"class_index", "method", "spectral_slope", "image_file"} | judged <= set(r)
        assert q2_fourier.spectral_slope(read_image(custom[0] / r["image_file"])) == r["spectral_slope"]


def argparse_defaults():
    class Args:
        fourier_weight, fourier_size, l2, rho_power = q2_fourier.FOURIER_WEIGHT, 64, 1.0, q2_fourier.RHO_POWER
        crops, canvas, crop_resolution = q2_fourier.CROPS.count, q2_fourier.CROPS.canvas, q2_fourier.CROPS.resolution
    return Args()


def test_same_image_name_from_two_folders_keeps_two_maps(monkeypatch, capsys, tmp_path):
    for folder, photo in (("a", "coffee.jpg"), ("b", "chelsea.jpg")):
        (tmp_path / folder).mkdir()
        Image.fromarray(read_rgb(photo)).save(tmp_path / folder / "cat.jpg")
    code, out, err = run_script(q4_heatmap, ["--image", tmp_path / "a" / "cat.jpg", tmp_path / "b" / "cat.jpg",
                                             "--block", "112", "--stride", "112", "--out", tmp_path / "out"],
                                monkeypatch, capsys)
    assert code == 0, err
    results = next((tmp_path / "out").rglob("results.json"))
    maps = json.loads(results.read_text())["maps"]
    files = [results.parent / m["heatmap_file"] for m in maps]
    assert len(set(files)) == 2 and all(f.is_file() for f in files)
    assert {m["class_name"] for m in maps} == {"espresso", "Egyptian cat"}
    assert not np.array_equal(np.load(files[0]), np.load(files[1]))


@pytest.mark.parametrize("script, args, rows", [
    (q1_visualize, ["--layer", "stage3", "--unit", "5", "5", "7", "--steps", "2"], "units"),
    (q3_fool, ["--image", ROOT / "images" / "coffee.jpg", "--target", "ostrich", "--norm", "linf", "linf"],
     "cases"),
])
def test_a_subject_named_twice_gives_one_image_file_per_row(script, args, rows, monkeypatch, capsys, tmp_path):
    code, out, err = run_script(script, [*args, "--out", tmp_path], monkeypatch, capsys)
    assert code == 0, err
    results = next(tmp_path.rglob("results.json"))
    files = [r.get("image_file") or r["output_file"] for r in json.loads(results.read_text())[rows]]
    assert len(files) == len(set(files)) == (2 if script is q1_visualize else 1)


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_interrupted_run_keeps_the_previous_set_and_leaves_no_temporary_files(sig, code, tmp_path):
    args = ["--layer", "stage3", "--unit", "1", "--steps", "100000", "--net", "efficientnet-lite0"]
    name = set_name("q1", {"layer": "stage3", "unit": [1], "steps": 100000})
    previous = tmp_path / "efficientnet-lite0" / name
    previous.mkdir(parents=True)
    (previous / "results.json").write_text('{"previous": true}')
    run = subprocess.Popen([sys.executable, str(ROOT / "q1_visualize.py"), *args, "--out", str(tmp_path)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    deadline = time.time() + 120
    while not list((tmp_path / "efficientnet-lite0").glob(".*.tmp-*")):
        assert time.time() < deadline and run.poll() is None, run.communicate()
        time.sleep(0.2)
    time.sleep(3)  # well inside the optimization
    run.send_signal(sig)
    out, err = run.communicate(timeout=60)
    assert run.returncode == code, err
    assert "interrupted" in err and "Traceback" not in err
    assert [p.name for p in (tmp_path / "efficientnet-lite0").iterdir()] == [name]
    assert (previous / "results.json").read_text() == '{"previous": true}'
    assert not [p for p in tmp_path.rglob("*") if ".part" in p.name]


def sigint_caught(pid):
    """Whether process `pid` has a handler of its own for SIGINT (the SigCgt mask of /proc/PID/status)."""
    mask = next(line for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask.split()[1], 16) >> (signal.SIGINT - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="watches the process through /proc (Linux)")
@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["from a terminal", "from a background job"])
def test_ctrl_c_while_tensorflow_loads_stops_the_run_with_one_line(sigint_ignored, tmp_path):
    """A shell starts a background job with SIGINT ignored, and Python then installs no handler: the project's
    must be in place before the heavy imports. Ctrl-C while TensorFlow loads: 130, one line, nothing written."""
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
    run = subprocess.Popen([sys.executable, str(ROOT / "q3_fool.py"), "--image", str(ROOT / "images" / "coffee.jpg"),
                            "--target", "ostrich", "--norm", "linf", "--out", str(tmp_path)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ignore)
    deadline = time.time() + 60
    while True:
        assert run.poll() is None and time.time() < deadline, run.communicate()
        caught = sigint_caught(run.pid)
        if "/tensorflow/" in Path(f"/proc/{run.pid}/maps").read_text():  # TensorFlow's libraries are loading
            break
        time.sleep(0.005)
    assert caught, "no SIGINT handler of the project's was in place when TensorFlow started loading"
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("interrupted"), err
    assert not list(tmp_path.iterdir())


SIGNAL_IN_A_FINALIZER = """
import os, signal, sys
import make_report
from reportlab.platypus import Flowable

class Finalized:
    def __del__(self):  # the signal lands while Python runs a finalizer, as it often does inside TensorFlow
        os.kill(os.getpid(), signal.{name})  # or reportlab: Python prints "Exception ignored in ..." and goes on
        for _ in range(1000):  # Python runs the handler here, inside __del__
            pass

class SignalWhileDrawing(Flowable):
    def wrap(self, width, height):
        return 0, 0

    def draw(self):
        Finalized()

theory_section = make_report.theory_section
make_report.theory_section = lambda: theory_section() + [SignalWhileDrawing()]
make_report.remember = lambda names: None
sys.argv[0] = "make_report.py"
make_report.cli.run(make_report.main)
"""


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_python_swallows_while_the_pdf_is_built_still_stops_the_report(sig, code, tmp_path):
    from test_deliverable import fake_results
    fake_results(tmp_path)
    previous = tmp_path / "Ex2_AdaLovelace.pdf"
    previous.write_bytes(b"the previous report")
    run = subprocess.run([sys.executable, "-c", SIGNAL_IN_A_FINALIZER.replace("{name}", sig.name),
                          "--names", "Ada Lovelace", "--out", str(tmp_path), "--net", "efficientnet-lite0"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert "Exception ignored" in run.stderr  # the interrupt was swallowed, as it is at random in real runs
    assert run.returncode == code, run.stderr
    assert previous.read_bytes() == b"the previous report"
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


# --------------------------------------------------------------------------------------------------
# make_report never builds a PDF from results it could not make
# --------------------------------------------------------------------------------------------------
def test_report_refuses_when_alexnet_is_asked_for_and_missing(tmp_path, monkeypatch, capsys):
    old = tmp_path / "efficientnet-lite0" / "q1"  # another network's results must not stand in
    old.mkdir(parents=True)
    (old / "results.json").write_text('{"network": "efficientnet-lite0", "figures": []}')
    monkeypatch.setattr(make_report, "QUESTIONS", {"q1": "q1_visualize.py"})
    monkeypatch.setattr(make_report, "WEIGHTS_DIR", tmp_path / "no_weights")
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "Ada Lovelace", "--rerun", "--net", "alexnet",
                                      "--out", str(tmp_path)])
    monkeypatch.setattr(make_report, "remember", lambda names: None)
    with pytest.raises(UserError, match="q1 could not be made on alexnet"):
        make_report.main()
    assert not list(tmp_path.glob("*.pdf"))


@pytest.mark.parametrize("damage, message", [
    (lambda folder: (folder / "results.json").write_text("{garbage"), "is unreadable or incomplete"),
    (lambda folder: (folder / "figures" / "q3.svg").unlink(), "the figure .*q3.svg is missing; remake it with "
                                                              "python q3_fool.py"),
])
def test_damaged_results_are_named_with_the_command_that_remakes_them(damage, message, tmp_path):
    from test_deliverable import fake_results
    fake_results(tmp_path)
    damage(tmp_path / "efficientnet-lite0" / "q3")
    args = make_report_args(tmp_path)
    with pytest.raises(UserError, match=message):
        make_report.ensure_results(args)


def make_report_args(out):
    import argparse
    return argparse.Namespace(out=out, rerun=False, net="efficientnet-lite0", weights=None, seed=0)


def test_synthetic_alexnet_weights_are_not_called_alexnets(tmp_path):
    rng = np.random.default_rng(0)
    params = {k: (rng.normal(0, np.sqrt(2 / np.prod(ks[:-1])), ks).astype(np.float32), np.zeros(bs, np.float32))
              for k, (ks, bs) in alexnet.ALEXNET_SHAPES.items()}
    net = alexnet.load(write_bvlc_npy(params, tmp_path / "bvlc_alexnet.npy"), verbose=False)
    assert "do NOT behave like the trained AlexNet" in net.weights
    assert "NOT" in network_label(net) and "BVLC" not in network_label(net)
    name = make_report.network_name({"network": "alexnet", "network_weights": net.weights})
    assert "NOT" in name and "BVLC" not in name


# --------------------------------------------------------------------------------------------------
# One clear sentence for every user mistake, before any computing
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("script, args, message", [
    (q1_visualize, ["--seed=-1"], "argument --seed: -1 is out of range"),
    (q1_visualize, ["--layer", "stage3", "--jitter", "-3"], "argument --jitter: -3 is out of range"),
    (q1_visualize, ["--steps", "1000000000000"], "argument --steps: 1000000000000 is out of range"),
    (q1_visualize, ["--lr", "inf"], "argument --lr: inf is out of range"),
    (q1_visualize, ["--layer", "stage3", "--decay", "2"], "argument --decay: 2 is out of range"),
    (q1_visualize, ["--layer", "stage3", "--blur-every", "-1"], "argument --blur-every: -1 is out of range"),
    (q1_visualize, ["--unit", "5", "--jitter", "8"], "--unit, --jitter only apply to one layer's neurons"),
    (q1_visualize, ["--out", ""], "argument --out: an empty path"),
    (q1_visualize, ["--weights", ""], "argument --weights: an empty path"),
    (q2_fourier, ["--fourier-weight", "inf"], "argument --fourier-weight: inf is out of range"),
    (q3_fool, ["--image", "images/coffee.jpg", "--target", "ostrich", "--step", "nan"],
     "argument --step: nan is out of range"),
    (q3_fool, ["--image", "images", "--target", "ostrich"], "argument --image: images is a folder"),
    (q4_heatmap, ["--stride", "1000"], "--block 32 with --stride 1000 leaves fewer than 2×2 block positions"),
    (q4_heatmap, ["--batch-size", "100000"], "argument --batch-size: 100000 is out of range"),
    (q1_visualize, ["--seed", "2147483648"], "argument --seed: 2147483648 is out of range; give an integer from 0 "
                                             "to 2147483647."),
    (q1_visualize, ["--layer", "stage3", "--position", "-1,-1"], "position (-1, -1) is outside layer stage3's "
                                                                 "feature map (28x28)"),
    (q2_fourier, ["--target", "ostrich", "²"], "argument --target: unknown class name '²'"),
    (q3_fool, ["--image", "images/coffee.jpg", "--target", "²"], "argument --target: unknown class name '²'"),
    (q4_heatmap, ["--class", "²"], "argument --class: unknown class name '²'"),
    (q4_heatmap, ["--out", "a" * 300], "argument --out: the name 'aaaa"),
])
def test_bad_values_get_one_sentence_before_any_work(script, args, message, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(ROOT)
    code, out, err = run_script(script, args + ["--net", "efficientnet-lite0", "--out", tmp_path / "out"],
                                monkeypatch, capsys) if "--out" not in args else \
        run_script(script, args + ["--net", "efficientnet-lite0"], monkeypatch, capsys)
    assert code == 2 and message in err and one_error_line(err), err
    assert not list(tmp_path.rglob("results.json"))


def test_out_that_is_a_file_or_unwritable_is_refused_first(monkeypatch, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, out, err = run_script(q4_heatmap, ["--out", blocker], monkeypatch, capsys)
    assert code == 2 and f"--out {blocker} is a file" in err and one_error_line(err)
    code, out, err = run_script(q4_heatmap, ["--out", blocker / "below"], monkeypatch, capsys)
    assert code == 2 and "cannot be written to" in err and one_error_line(err)


def test_an_image_with_nan_pixels_is_refused_not_made_black(monkeypatch, capsys, tmp_path):
    grey = np.full((64, 64), 0.5, np.float32)
    grey[10, 20] = np.nan
    Image.fromarray(grey, mode="F").save(tmp_path / "nan.tif")
    code, out, err = run_script(q4_heatmap, ["--image", tmp_path / "nan.tif", "--out", tmp_path / "out"],
                                monkeypatch, capsys)
    assert code == 2 and "nan.tif has pixels that are not finite numbers" in err and one_error_line(err), err
    assert not list(tmp_path.rglob("results.json"))


def test_a_huge_image_gets_only_the_projects_sentence(tmp_path):
    Image.new("1", (10000, 9000)).save(tmp_path / "huge.png")  # 90 million pixels: Pillow warns of a "bomb"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(UserError, match="is 10000x9000 pixels; give an image whose sides are between"):
            read_image(tmp_path / "huge.png")
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


@contextlib.contextmanager
def immutable(folder):
    """`folder` made immutable (chattr +i: not even root may rename it or write into it) for the block."""
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(folder)]).returncode:
        pytest.skip("chattr +i is not available here (needs root and a file system that supports it)")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


@pytest.mark.parametrize("frozen", ["the set", "the network folder"])
def test_an_immutable_folder_is_refused_before_the_computing(frozen, monkeypatch, capsys, tmp_path):
    image = ROOT / "images" / "coffee.jpg"
    previous = tmp_path / "efficientnet-lite0" / set_name("q4", {"image": [image], "block": [112], "stride": 112})
    previous.mkdir(parents=True)
    (previous / "results.json").write_text('{"previous": true}')
    with immutable(previous if frozen == "the set" else previous.parent):
        code, out, err = run_script(q4_heatmap, ["--image", image, "--block", "112", "--stride", "112", "--net",
                                                 "efficientnet-lite0", "--out", tmp_path], monkeypatch, capsys)
    assert code == 2 and f"the result set {previous} cannot be written (Operation not permitted)" in err, err
    assert one_error_line(err) and "occluding" not in err  # refused before the first occlusion batch
    assert (previous / "results.json").read_text() == '{"previous": true}'
    assert [p.name for p in previous.parent.iterdir()] == [previous.name]


def test_no_run_writes_inside_a_result_set_or_replaces_one_holding_another(monkeypatch, capsys, tmp_path):
    q3 = tmp_path / "efficientnet-lite0" / "q3"
    q3.mkdir(parents=True)
    (q3 / "results.json").write_text('{"network": "efficientnet-lite0", "run": "q3"}')  # a set says it is one
    code, out, err = run_script(q4_heatmap, ["--out", q3], monkeypatch, capsys)
    assert code == 2 and f"--out {q3} lies inside the result set {q3}" in err and one_error_line(err), err
    nested = tmp_path / "other" / "efficientnet-lite0" / "q3" / "efficientnet-lite0" / "q4_x"
    nested.mkdir(parents=True)  # made before the q3 set around it existed
    (nested / "results.json").write_text('{"network": "efficientnet-lite0", "run": "q4_x"}')
    with pytest.raises(UserError, match="q3 holds another run's results .*q4_x.*, which replacing it would delete"):
        with ResultSet(tmp_path / "other", "efficientnet-lite0", "q3"):
            pass
    assert (nested / "results.json").read_text() == '{"network": "efficientnet-lite0", "run": "q4_x"}'


def test_a_folder_called_alexnet_is_a_path_not_the_keyword(monkeypatch, capsys, tmp_path):
    (tmp_path / "alexnet").mkdir()
    monkeypatch.chdir(tmp_path)
    code, out, err = run_script(q4_heatmap, ["--weights", "alexnet", "--out", tmp_path / "out"], monkeypatch, capsys)
    assert code == 2 and "alexnet/conv1.npy: missing" in err and one_error_line(err)


def test_weight_files_get_the_right_diagnosis(tmp_path):
    rng = np.random.default_rng(0)
    params = {k: (rng.normal(0, 0.01, ks).astype(np.float32), np.zeros(bs, np.float32))
              for k, (ks, bs) in alexnet.ALEXNET_SHAPES.items()}
    whole = write_bvlc_npy(params, tmp_path / "bvlc_alexnet.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(whole[:len(whole) // 2])
    with pytest.raises(UserError, match="truncated"):
        alexnet.read_bvlc_npy(tmp_path / "cut.npy")
    huge = tmp_path / "huge"  # a per-layer file whose header asks for 2**44 elements is refused unread
    huge.mkdir()
    with open(huge / "conv1.npy", "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (2 ** 44,)})
    with pytest.raises(UserError, match=r"conv1 weights should have shape \(11, 11, 3, 96\), found \(17592186044416,\)"):
        alexnet.read_per_layer_folder(huge)


def test_pickle_claiming_a_huge_array_is_refused_without_allocating(tmp_path):
    class Huge:  # pickles as numpy's own reconstruction of a 2**44-element array with 4 bytes of data
        def __reduce__(self):
            return (alexnet._reconstruct, (np.ndarray, (0,), b"b"),
                    (1, (2 ** 44,), np.dtype("<f4"), False, b"\0\0\0\0"))
    path = tmp_path / "bvlc_alexnet.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "|O", "fortran_order": False, "shape": ()})
        pickle.dump({"conv1": [Huge(), Huge()]}, f, protocol=2)
    with pytest.raises(UserError, match=str(path)):
        alexnet.read_bvlc_npy(path)


@pytest.mark.parametrize("make, message", [
    (lambda p: Image.new("RGB", (1, 1)).save(p, format="PNG"), "is 1x1 pixels"),
    (lambda p: p.mkdir(), "is a folder"),
])
def test_images_get_the_right_diagnosis(make, message, tmp_path):
    path = tmp_path / "x.png"
    make(path)
    with pytest.raises(UserError, match=message):
        read_image(path)


@pytest.mark.parametrize("args, message", [
    (["--fetch", "--dest", "."], "is a folder; give the file to save"),
    (["--fetch", "--url", "notaurl", "--dest", "x.npy"], "'notaurl' is not a web address"),
    (["--fetch", "--url", "http://[::1", "--dest", "x.npy"], "--url 'http://[::1' is not a valid web address "
                                                             "(Invalid IPv6 URL)"),
    (["--fetch", "--url", "http://localhost:abc/x", "--dest", "x.npy"], "--url 'http://localhost:abc/x' is not a "
                                                                        "valid web address (Port could not be cast"),
    (["--net", ""], "--net is empty; give auto, alexnet, efficientnet-lite0 or the path of AlexNet weights."),
])
def test_fetch_mistakes_are_named_not_blamed_on_the_internet(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert alexnet.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and one_error_line(err)


# --------------------------------------------------------------------------------------------------
# Text from users is text; names are bounded before anything is saved
# --------------------------------------------------------------------------------------------------
def test_names_are_escaped_and_unprintable_characters_named():
    assert pdf.escape("Ada <Lovelace> & co") == "Ada &lt;Lovelace&gt; &amp; co"
    assert pdf.unprintable("Ada Lovelace Ωμέγα אבג محمد") == []
    assert pdf.unprintable("李 小龙 Lee") == ["李", "小", "龙"]


def test_long_name_is_refused_before_it_is_saved(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "A" * 300, "--out", str(tmp_path)])
    with pytest.raises(UserError, match="has 300 characters; give at most 60"):
        make_report.main()
    assert not list(tmp_path.iterdir())


def test_cjk_name_is_refused_with_the_characters(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["make_report.py", "--names", "李小龙", "--out", str(tmp_path)])
    with pytest.raises(UserError, match="cannot print 李 小 龙 in --names"):
        make_report.main()


def test_submission_does_not_remember_names_when_it_fails(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr(make_submission, "remember", saved.append)
    monkeypatch.setattr(sys, "argv", ["make_submission.py", "--names", "Ada Lovelace", "--report-dir", str(tmp_path)])
    with pytest.raises(UserError, match="does not exist yet"):
        make_submission.main()
    assert saved == []


# --------------------------------------------------------------------------------------------------
# Files: usual permissions, EXIF orientation, and a ZIP of only what the code uses
# --------------------------------------------------------------------------------------------------
def test_outputs_get_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "x.json", {})
    finally:
        os.umask(old)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644


def test_exif_orientation_is_honoured(tmp_path):
    img = Image.fromarray(read_rgb("coffee.jpg")[:100, :200])  # landscape pixels ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... stored with "rotate 90° clockwise to view"
    img.save(tmp_path / "phone.jpg", exif=exif)
    assert read_image(tmp_path / "phone.jpg").shape == (200, 100, 3)


def test_zip_takes_only_real_used_jpegs_and_no_hidden_or_stray_files(tmp_path):
    import shutil
    root = tmp_path / "project"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".venv", ".git", "report", "*.npz", "__pycache__"))
    (root / "images" / ".hidden.jpg").write_bytes((ROOT / "images" / "coffee.jpg").read_bytes())
    (root / "stray.py").write_text("print('not part of the solution')")
    (root / "images" / "unused.jpg").write_bytes((ROOT / "images" / "coffee.jpg").read_bytes())
    entries = make_submission.submission_entries("Ex2_X", tmp_path / "r.pdf", root)
    names = list(entries)
    assert "Ex2_X/q1_visualize.py" in names and "Ex2_X/images/coffee.jpg" in names
    assert not any(".hidden" in n or "stray" in n or "unused" in n for n in names)
    Image.fromarray(read_rgb("coffee.jpg")).save(root / "images" / "coffee.jpg", format="PNG")  # fake.jpg
    with pytest.raises(UserError, match="images/coffee.jpg is listed in images/SOURCES.txt but is not a JPEG"):
        make_submission.submission_entries("Ex2_X", tmp_path / "r.pdf", root)


def test_long_image_name_and_another_working_directory(monkeypatch, capsys, tmp_path):
    long_name = tmp_path / "my photos" / ("a" * 200 + ".jpg")  # a space too: the recorded command quotes it
    long_name.parent.mkdir()
    long_name.write_bytes((ROOT / "images" / "coffee.jpg").read_bytes())
    monkeypatch.chdir(tmp_path)  # default photos and folders are found from anywhere
    args = ["--image", str(long_name), "--block", "112", "--stride", "112", "--out", str(tmp_path / "out")]
    code, out, err = run_script(q4_heatmap, args, monkeypatch, capsys)
    assert code == 0, err
    command = json.loads(next((tmp_path / "out").rglob("results.json")).read_text())["command"]
    assert shlex.split(command) == ["python", "q4_heatmap.py", *args]  # runs again as written
    code, out, err = run_script(q4_heatmap, ["--block", "112", "--stride", "112", "--out", tmp_path / "out2"],
                                monkeypatch, capsys)
    assert code == 0, err
    maps = json.loads(next((tmp_path / "out2").rglob("results.json")).read_text())["maps"]
    assert len(maps) == len(q4_heatmap.DEFAULT_IMAGES)


def test_garbage_names_file_is_named(tmp_path):
    from cnnvis.names import resolve_names
    (tmp_path / "names.json").write_text("[1, 2")
    with pytest.raises(UserError, match="names.json is unreadable or holds no valid names; give them again"):
        resolve_names(None, tmp_path / "names.json")


def test_an_interrupt_python_swallowed_still_stops_the_next_progress_step():
    """A signal whose KeyboardInterrupt was raised inside a __del__ is only printed as "ignored" by Python; the
    handler also leaves it pending, and the next progress step raises it (Terminated for SIGTERM)."""
    from cnnvis import interrupts, progress
    with pytest.raises(interrupts.Terminated):
        interrupts._handler(signal.SIGTERM, None)  # as if this exception had been swallowed
    with pytest.raises(interrupts.Terminated):
        for _ in progress.ProgressBar(range(5), disable=True):
            pass
    assert not interrupts.PENDING
    interrupts.PENDING.append("SIGINT")
    bar = progress.ProgressBar(total=5, disable=True)
    with pytest.raises(KeyboardInterrupt) as caught:
        bar.update(1)
    assert not isinstance(caught.value, interrupts.Terminated) and not interrupts.PENDING
    assert list(progress.ProgressBar(range(3), disable=True)) == [0, 1, 2]  # nothing pending: no effect
