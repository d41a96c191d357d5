"""A hostile user's cases (issue 24): labels that never claim what was not checked now, and one sentence where a
path, a hash, an image's bit depth or a class name is wrong.

AlexNet is tested only with weights made here (synthetic or constant): the real ones cannot be shipped."""
import hashlib
import logging
import os
import signal
import struct
import zipfile
import zlib
from contextlib import contextmanager

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
import cnnvis
from cnnvis import optimize, param
from cnnvis.errors import UserError
from cnnvis.imaging import network_label, read_image
from cnnvis.quiet_tensorflow import tf
from conftest import ROOT
from test_network import write_bvlc_npy, write_per_layer_folder
from test_questions import run_script


def one_error_line(err):
    """stderr ends with exactly one "error: ..." line (the network line may precede it), and no traceback."""
    lines = [line for line in err.splitlines() if line.strip()]
    return [line for line in lines if line.startswith("error: ")] == lines[-1:] and "Traceback" not in err


class Hung(Exception):
    """Not an OSError (as TimeoutError is), so no `except OSError` in the code under test swallows it."""


@contextmanager
def within(seconds):
    """Fail instead of hanging: a blocking open() of a named pipe is interrupted by the alarm."""
    def alarm(signum, frame):
        raise Hung(f"still waiting after {seconds} s")
    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def fake_bvlc(synthetic_params, tmp_path_factory):
    """A bvlc_alexnet.npy of the right shapes that is not the published file."""
    return write_bvlc_npy(synthetic_params, tmp_path_factory.mktemp("fake") / "bvlc_alexnet.npy")


def load_fresh(path):
    alexnet.alexnet_once.cache_clear()  # a network judged under other test settings is not reused
    return alexnet.load(path, verbose=False)


# --------------------------------------------------------------------------------------------------
# 1. Why the network was chosen is said as it was
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def no_building(monkeypatch):
    """alexnet.load's choice and reason without building the bundled network (what these tests look at)."""
    monkeypatch.setattr(alexnet, "bundled", lambda variant, reason="": Bundled(variant, reason))


class Bundled:
    def __init__(self, name, reason):
        self.name, self.reason, self.weights = name, reason, f"the bundled {name} weights"


def title_statement(monkeypatch, q1):
    tables = []
    monkeypatch.setattr(make_report.pdf, "table", lambda header, rows, **kw: tables.append(rows) or [])
    make_report.title_page(["Ada Lovelace"], {"q1": q1})
    return tables[0][0][0]


@pytest.mark.parametrize("present", [True, False])
def test_title_page_says_the_user_chose_the_bundled_network(present, no_building, monkeypatch, tmp_path):
    if present:  # any AlexNet weights in weights/: the user had them and still chose the bundled network
        (tmp_path / "bvlc_alexnet.npy").write_bytes(b"x")
    net = alexnet.load("efficientnet-lite0", weights_dir=tmp_path, verbose=False)
    statement = title_statement(monkeypatch, {"network": net.name, "network_reason": net.reason,
                                              "network_weights": net.weights})
    assert "the user chose the bundled network with --net efficientnet-lite0" in statement
    assert ("AlexNet weights are present in" in statement) == present
    assert "were not present in weights/" not in statement
    assert ("alexnet.py --fetch" in statement) != present  # no download advice to someone who has the weights
    assert "not present" not in network_label(net)  # nor on the figures


def test_title_page_says_the_weights_were_missing_when_they_were(no_building, monkeypatch, tmp_path):
    net = alexnet.load(None, weights_dir=tmp_path, verbose=False)
    statement = title_statement(monkeypatch, {"network": net.name, "network_reason": net.reason,
                                              "network_weights": net.weights})
    assert "AlexNet weights not found in" in statement and "alexnet.py --fetch" in statement


# --------------------------------------------------------------------------------------------------
# 2. A network whose output does not depend on its input is not "the trained network"
# --------------------------------------------------------------------------------------------------
def test_a_constant_network_is_not_called_trained_and_a_trained_one_still_is(lite0, tmp_path):
    """Weights of the right shapes, all zero but fc8's biases (espresso 10, tabby 9): the same output for every
    photo, with espresso and tabby in its top 5, in a bvlc file and in a per-layer folder."""
    params = {k: (np.zeros(ks, np.float32), np.zeros(bs, np.float32)) for k, (ks, bs) in alexnet.ALEXNET_SHAPES.items()}
    classes = alexnet.ClassNames()
    params["fc8"][1][classes.index("espresso")], params["fc8"][1][classes.index("tabby")] = 10.0, 9.0
    net = alexnet.alexnet_from_params(params, "")
    folder = tmp_path / "per_layer"
    folder.mkdir()
    for source in (tmp_path / "bvlc_alexnet.npy", folder):  # the verdict on a file's and on a folder's weights
        net.weights = alexnet.judge_alexnet_weights(net, source)
        assert "do NOT behave like the trained AlexNet" in net.weights, net.weights
        assert "hardly depends on the input" in net.weights and "NOT" in network_label(net)
    # Not stricter than a trained network: the bundled ImageNet network passes the same check.
    assert alexnet.judge_alexnet_weights(lite0, folder).startswith("the course's per-layer AlexNet weight files")


# --------------------------------------------------------------------------------------------------
# 3, 6, 11. "SHA-256 verified" only for the bytes loaded, hashed now; no cache file can forge or hang it
# --------------------------------------------------------------------------------------------------
def test_an_edited_hash_cache_cannot_make_fake_weights_the_published_ones(fake_bvlc, monkeypatch, tmp_path):
    monkeypatch.setattr(alexnet, "KNOWN_PHOTOS", {})  # synthetic weights recognize nothing; behave "as trained"
    cache = tmp_path / ".sha256-cache.json"
    monkeypatch.setattr(alexnet, "HASH_CACHE", cache, raising=False)
    st = fake_bvlc.resolve().stat()
    key = f"{fake_bvlc.resolve()}|{st.st_size}|{st.st_mtime_ns}"  # the line once trusted
    cache.write_text(f'{{"{key}": "{alexnet.BVLC_SHA256}"}}')
    net = load_fresh(fake_bvlc)
    assert not net.weights.startswith("the published") and "BVLC" not in network_label(net)
    # "Published" is said for a match computed now, of exactly the bytes loaded.
    digest = hashlib.sha256()
    alexnet.read_alexnet_weights(fake_bvlc, digest)
    assert digest.hexdigest() == hashlib.sha256(fake_bvlc.read_bytes()).hexdigest()
    monkeypatch.setattr(alexnet, "BVLC_SHA256", digest.hexdigest())
    verdict = alexnet.judge_alexnet_weights(net, fake_bvlc, digest.hexdigest())
    assert verdict.startswith("the published BVLC AlexNet weights") and "computed at loading" in verdict


@pytest.mark.parametrize("content", ["fifo", "[]", "null", '"text"', "{"])  # "{": ignored before too
def test_no_hash_cache_content_hangs_or_breaks_hashing(content, monkeypatch, tmp_path):
    weights = tmp_path / "bvlc_alexnet.npy"  # what is hashed does not matter here, only that nothing waits or breaks
    weights.write_bytes(b"weights" * 1000)
    cache = tmp_path / ".sha256-cache.json"
    if content == "fifo":
        os.mkfifo(cache)
    else:
        cache.write_text(content)
    monkeypatch.setattr(alexnet, "HASH_CACHE", cache, raising=False)
    with within(5):
        assert alexnet.sha256_of(weights) == hashlib.sha256(weights.read_bytes()).hexdigest()


def test_a_named_pipe_as_weights_or_image_is_one_sentence(monkeypatch, capsys, tmp_path):
    pipe = tmp_path / "bvlc_alexnet.npy"
    os.mkfifo(pipe)
    with within(5):
        with pytest.raises(UserError, match="is not a regular file"):
            alexnet.read_alexnet_weights(pipe)
        with pytest.raises(UserError, match="is not a regular file"):
            read_image(pipe)
        code, out, err = run_script(q3_fool, ["--image", pipe, "--target", "ostrich", "--out", tmp_path / "o"],
                                    monkeypatch, capsys)
    assert code == 2 and "is not a regular file" in err and one_error_line(err), err


# --------------------------------------------------------------------------------------------------
# 4. Every bit depth read at its true scale, never stretched
# --------------------------------------------------------------------------------------------------
@pytest.fixture
def dark_grey():
    """A dark picture: values 10..60 of 255, so a min-to-max stretch would change every pixel."""
    return (10 + np.arange(64 * 80).reshape(64, 80) % 51).astype(np.uint8)


def write_png16(path, values, colour_type):
    """A 16-bit PNG (colour type 2: RGB, 4: grey and alpha), which Pillow reads but cannot write."""
    height, width = values.shape[:2]
    raw = b"".join(b"\x00" + row.tobytes() for row in values.reshape(height, -1).astype(">u2"))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) +
                     chunk(b"IEND", b""))


@pytest.mark.parametrize("colour_type", [2, 4])
def test_16_bit_colour_and_grey_alpha_pngs_read_at_their_scale(colour_type, dark_grey, tmp_path):
    """Cases beyond the issue's, which Pillow already reads right (kept right here): 16-bit RGB and grey+alpha."""
    planes = ([dark_grey, dark_grey // 2, dark_grey + 100] if colour_type == 2 else
              [dark_grey, np.full_like(dark_grey, 255)])
    write_png16(tmp_path / "x.png", np.stack(planes, -1).astype(np.uint16) * 257, colour_type)
    rgb = read_image(tmp_path / "x.png")
    np.testing.assert_array_equal(rgb, np.stack(planes[:3] if colour_type == 2 else [dark_grey] * 3, -1))


@pytest.mark.parametrize("name, to_file", [
    ("x16.png", lambda g: Image.fromarray(g.astype(np.uint16) * 257)),
    ("x16.tif", lambda g: Image.fromarray(g.astype(np.uint16) * 257)),
    ("x16.pgm", lambda g: Image.fromarray(g.astype(np.uint16) * 257)),
    ("xf.tif", lambda g: Image.fromarray(g.astype(np.float32) / 255)),
])
def test_a_deep_image_reads_as_the_same_picture_in_8_bits(name, to_file, dark_grey, tmp_path):
    Image.fromarray(dark_grey).save(tmp_path / "x8.png")
    to_file(dark_grey).save(tmp_path / name)
    eight, deep = read_image(tmp_path / "x8.png"), read_image(tmp_path / name)
    np.testing.assert_array_equal(deep, eight)
    np.testing.assert_array_equal(eight[..., 0], dark_grey)


@pytest.mark.parametrize("name, to_file, message", [
    ("f.tif", lambda g: Image.fromarray(g.astype(np.float32)), "floating-point grey image with values 10 to 60"),
    ("i.tif", lambda g: Image.fromarray(g.astype(np.int32) * 70000), "32-bit integer grey image"),
])
def test_a_depth_whose_scale_is_unknown_is_one_sentence(name, to_file, message, dark_grey, tmp_path):
    to_file(dark_grey).save(tmp_path / name)
    with pytest.raises(UserError, match=message):
        read_image(tmp_path / name)


# --------------------------------------------------------------------------------------------------
# 5. Q1's units are capped as Q2's classes are, before the network loads
# --------------------------------------------------------------------------------------------------
def test_q1_refuses_more_units_than_one_batch_holds(monkeypatch, capsys, tmp_path):
    def no_loading(args):
        raise AssertionError("the network was loaded before the units were counted")
    monkeypatch.setattr(q1_visualize.cli, "load_network", no_loading)
    code, out, err = run_script(q1_visualize, ["--layer", "logits", "--unit", *range(1000), "--out", tmp_path],
                                monkeypatch, capsys)
    assert code == 2 and "--unit names 1000 units; give at most 64" in err and one_error_line(err), err
    # a unit named many times is one unit
    monkeypatch.setattr(q1_visualize.cli, "load_network", lambda args: (_ for _ in ()).throw(UserError("loaded")))
    code, out, err = run_script(q1_visualize, ["--layer", "logits", "--unit", *[3] * 100, "--out", tmp_path],
                                monkeypatch, capsys)
    assert "error: loaded" in err


# --------------------------------------------------------------------------------------------------
# 8. A path too long for the file system, given to any path flag: one sentence at parsing
# --------------------------------------------------------------------------------------------------
LONG = "a" * 300


@pytest.mark.parametrize("script, args", [
    (q3_fool, ["--image", LONG, "--target", "ostrich"]),
    (q3_fool, ["--image", f"images/{LONG}/coffee.jpg", "--target", "ostrich"]),
    (q4_heatmap, ["--image", LONG]),
    (q2_fourier, ["--reference", LONG]),
    (q1_visualize, ["--weights", LONG]),
    (q1_visualize, ["--out", LONG]),
    (make_report, ["--names", "Ada Lovelace", "--weights", LONG]),
    (make_report, ["--names", "Ada Lovelace", "--out", LONG]),
    (make_submission, ["--names", "Ada Lovelace", "--report-dir", LONG]),
    (make_submission, ["--names", "Ada Lovelace", "--dest", LONG]),
])
def test_a_too_long_path_to_any_path_flag_is_one_sentence(script, args, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(make_report, "ensure_results", lambda args: pytest.fail("the questions started"))
    code, out, err = run_script(script, args, monkeypatch, capsys)
    assert code == 2 and "300 bytes long" in err and one_error_line(err), err


@pytest.mark.parametrize("args, message", [
    (["--net", LONG], "cannot be read (File name too long)"),
    (["--fetch", "--dest", f"{LONG}/bvlc_alexnet.npy"], "cannot be used (File name too long)"),
])
def test_alexnet_cli_long_paths_are_one_sentence(args, message, capsys):
    assert alexnet.main(args) == 2
    err = capsys.readouterr().err
    assert message in err and one_error_line(err), err


# --------------------------------------------------------------------------------------------------
# 18. An upper-case --sha256 is the same hash; a value that is no hash is refused before downloading
# --------------------------------------------------------------------------------------------------
def test_fetch_takes_an_upper_case_hash_and_refuses_a_non_hash_first(tmp_path):
    source = tmp_path / "source.npy"
    source.write_bytes(b"weights" * 1000)
    url, dest = source.as_uri(), tmp_path / "out" / "bvlc_alexnet.npy"
    upper = hashlib.sha256(source.read_bytes()).hexdigest().upper()
    assert alexnet.fetch(url, dest, upper) == dest and dest.read_bytes() == source.read_bytes()
    dest.unlink()
    with pytest.raises(UserError, match="--sha256 'xyz' is not a SHA-256 hash; give 64 hexadecimal digits"):
        alexnet.fetch(url, dest, "xyz")
    assert not dest.exists()


# --------------------------------------------------------------------------------------------------
# 20. A damaged .npy header is told in the project's words, never with numpy's advice to allow pickles
# --------------------------------------------------------------------------------------------------
def write_long_header_npy(path, shape):
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"
    header += " " * (20000 - len(header) - 1) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() +
                     bytes(4 * int(np.prod(shape))))
    return path


def test_a_numpy_header_error_never_advises_allow_pickle(synthetic_params, tmp_path):
    folder = write_per_layer_folder({k: synthetic_params[k] for k in alexnet.ALEXNET_SHAPES}, tmp_path / "layers")
    write_long_header_npy(folder / "conv1b.npy", (96,))
    with pytest.raises(UserError) as info:
        alexnet.read_per_layer_folder(folder)
    assert "conv1b.npy" in str(info.value) and "header" in str(info.value)
    assert "allow_pickle" not in str(info.value)
    with pytest.raises(UserError) as info:
        alexnet.read_bvlc_npy(write_long_header_npy(tmp_path / "bvlc_alexnet.npy", (1,)))
    assert "header" in str(info.value) and "allow_pickle" not in str(info.value)


@pytest.mark.parametrize("damage", [b"not a zip archive", None])
def test_damaged_bundled_weights_are_one_sentence(damage, monkeypatch, tmp_path):
    """The same kind of case for the bundled network's archive: garbage, or a member with an oversized header."""
    from cnnvis import efficientnet_lite
    monkeypatch.setattr(efficientnet_lite, "WEIGHTS_DIR", tmp_path)
    archive = efficientnet_lite.weights_file("efficientnet-lite0")
    if damage is None:
        member = write_long_header_npy(tmp_path / "member.npy", (1,)).read_bytes()
        with zipfile.ZipFile(archive, "w") as zf:
            zf.writestr("stem_conv/kernel.npy", member)
    else:
        archive.write_bytes(damage)
    with pytest.raises(UserError) as info:
        alexnet.bundled.__wrapped__("efficientnet-lite0")
    assert "the weights of the bundled efficientnet-lite0, cannot be read" in str(info.value)
    assert "allow_pickle" not in str(info.value)


# --------------------------------------------------------------------------------------------------
# 21. No "retracing" warning from loops that build and trace one step function per call
# --------------------------------------------------------------------------------------------------
class Identity:
    """All optimize() asks of a network: the map into its input space."""
    rgb_to_x = staticmethod(lambda rgb: rgb)


def test_several_short_optimizations_warn_of_no_retracing():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf.get_logger().addHandler(handler)
    try:
        for seed in range(7):  # seven optimizations, each traced once: what Q2's methods and Q1's variants do
            optimize.optimize(Identity(), param.pixels(np.full((1, 8, 8, 3), 128.0, np.float32)),
                              lambda x: tf.reduce_mean(x, axis=[1, 2, 3]), steps=1, seed=seed)
    finally:
        tf.get_logger().removeHandler(handler)
    assert not [r for r in records if "retracing" in r.getMessage()]


# --------------------------------------------------------------------------------------------------
# 22. A name several classes share lists them with their indices; an empty name is said to be empty
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("query, expected", [
    ("crane", ["crane (134, between bittern and limpkin)", "crane (517, between cradle and crash helmet)",
               "give its index"]),
    ("cardigan", ["(264,", "(474,"]),
    ("maillot", ["(638,", "(639,"]),
])
def test_a_name_two_classes_share_lists_both_with_their_indices(query, expected):
    with pytest.raises(UserError) as info:
        alexnet.ClassNames().find(query)
    message = str(info.value)
    assert all(part in message for part in expected) and "longer name" not in message, message


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_class_name_is_called_empty(query, monkeypatch, capsys, tmp_path):
    with pytest.raises(UserError, match="an empty class name was given"):
        alexnet.ClassNames().find(query)
    code, out, err = run_script(q2_fourier, ["--target", query, "--out", tmp_path], monkeypatch, capsys)
    assert code == 2 and "an empty class name was given" in err and "several" not in err and one_error_line(err)


# --------------------------------------------------------------------------------------------------
# 23. --version on every script, from one place
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("script", [q1_visualize, q2_fourier, q3_fool, q4_heatmap, make_report, make_submission])
def test_every_script_says_its_version(script, monkeypatch, capsys):
    code, out, err = run_script(script, ["--version"], monkeypatch, capsys)
    assert code == 0 and out.strip().endswith(cnnvis.__version__) and not err


def test_alexnet_says_its_version(capsys):
    with pytest.raises(SystemExit) as info:
        alexnet.main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.strip().endswith(f" {cnnvis.__version__}")
