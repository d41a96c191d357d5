"""The network: AlexNet against an independent NumPy implementation of the Caffe definition, safe and
checked weight loading in both formats, and the EfficientNet-Lite0 port against PyTorch's golden logits."""
import os
import subprocess
import sys

import numpy as np
import pytest

import alexnet
from cnnvis.quiet_tensorflow import tf
from conftest import ROOT, read_rgb


# --------------------------------------------------------------------------------------------------
# An independent NumPy AlexNet, written from the BVLC Caffe definition (float64)
# --------------------------------------------------------------------------------------------------
def np_conv(x, kernel, bias, stride=1, pad=0, groups=1):
    """x [N,H,W,C]; kernel [kh,kw,C/groups,O]; Caffe convolution with zero padding and channel groups."""
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    kh, kw, cin, cout = kernel.shape
    outs = []
    for g in range(groups):
        patches = np.lib.stride_tricks.sliding_window_view(x[..., g * cin:(g + 1) * cin], (kh, kw), axis=(1, 2))
        patches = patches[:, ::stride, ::stride]  # N, oh, ow, cin, kh, kw
        w = kernel[..., g * cout // groups:(g + 1) * cout // groups].transpose(2, 0, 1, 3)  # cin, kh, kw, o
        outs.append(np.tensordot(patches, w, axes=([3, 4, 5], [0, 1, 2])))
    return np.concatenate(outs, axis=-1) + bias


def np_lrn(a, local_size=5, alpha=1e-4, beta=0.75, k=1.0):
    """Caffe LRN across channels: a / (k + alpha/n * sum of squares over n neighbouring channels)^beta."""
    sq = np.pad(a ** 2, ((0, 0), (0, 0), (0, 0), (local_size // 2, local_size // 2)))
    window = sum(sq[..., i:i + a.shape[-1]] for i in range(local_size))
    return a / (k + alpha / local_size * window) ** beta


def np_maxpool(x, size=3, stride=2):
    return np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride].max(
        axis=(-2, -1))


def relu(a):
    return np.maximum(a, 0)


def np_alexnet(x, p):
    out = {}
    out["conv1"] = relu(np_conv(x, *p["conv1"], stride=4))
    h = np_maxpool(np_lrn(out["conv1"]))
    out["conv2"] = relu(np_conv(h, *p["conv2"], pad=2, groups=2))
    h = np_maxpool(np_lrn(out["conv2"]))
    out["conv3"] = relu(np_conv(h, *p["conv3"], pad=1))
    out["conv4"] = relu(np_conv(out["conv3"], *p["conv4"], pad=1, groups=2))
    out["conv5"] = relu(np_conv(out["conv4"], *p["conv5"], pad=1, groups=2))
    h = np_maxpool(out["conv5"]).reshape(len(x), -1)
    out["fc6"] = relu(h @ p["fc6"][0] + p["fc6"][1])
    out["fc7"] = relu(out["fc6"] @ p["fc7"][0] + p["fc7"][1])
    out["fc8"] = out["fc7"] @ p["fc8"][0] + p["fc8"][1]
    e = np.exp(out["fc8"] - out["fc8"].max(axis=1, keepdims=True))
    out["prob"] = e / e.sum(axis=1, keepdims=True)
    return out


def write_per_layer_folder(params, folder):
    folder.mkdir(parents=True, exist_ok=True)
    for layer, (stem, bias_stem, groups) in alexnet.PER_LAYER_FILES.items():
        kernel, bias = params[layer]
        if groups == 1:
            np.save(folder / f"{stem}.npy", kernel), np.save(folder / f"{bias_stem}.npy", bias)
        else:
            for g, k, b in zip("ab", np.split(kernel, 2, axis=3), np.split(bias, 2)):
                np.save(folder / f"{stem}_{g}.npy", k), np.save(folder / f"{bias_stem}_{g}.npy", b)
    return folder


def write_bvlc_npy(params, path):
    np.save(path, np.array({k: [w, b] for k, (w, b) in params.items()}, dtype=object), allow_pickle=True)
    return path


@pytest.fixture(scope="module")
def weight_files(synthetic_params, tmp_path_factory):
    root = tmp_path_factory.mktemp("alexnet")
    return {"folder": write_per_layer_folder(synthetic_params, root / "per_layer"),
            "bvlc": write_bvlc_npy(synthetic_params, root / "bvlc_alexnet.npy")}


@pytest.mark.parametrize("fmt", ["folder", "bvlc"])
def test_alexnet_matches_numpy_caffe_definition(fmt, synthetic_params, weight_files):
    net = alexnet.load(weight_files[fmt], verbose=False)
    assert (net.name, net.input_size, net.logits_layer) == ("alexnet", 227, "fc8")
    assert net.layers == ["conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8", "prob"]
    x = np.stack([net.preprocess(read_rgb("chelsea.jpg")), net.preprocess(read_rgb("coffee.jpg"))])
    ours = {k: v.numpy() for k, v in net.activations(x).items()}
    ref = np_alexnet(x.astype(np.float64), {k: (w.astype(np.float64), b.astype(np.float64))
                                            for k, (w, b) in synthetic_params.items()})
    for layer in net.layers:
        assert ours[layer].shape == ref[layer].shape, layer
        rel = np.abs(ours[layer] - ref[layer]).max() / np.abs(ref[layer]).max()
        assert rel <= 1e-4, f"{layer}: relative error {rel:.2e}"
    assert 0.05 < (ref["conv1"] > 0).mean() < 0.95  # the test exercises ReLU, not an all-zero or linear regime
    assert ref["prob"].max() < 0.999  # and a softmax that is not saturated


def test_alexnet_preprocess_is_bgr_minus_caffe_mean(weight_files):
    net = alexnet.load(weight_files["folder"], verbose=False)
    rgb = np.zeros((300, 400, 3), np.uint8)
    rgb[..., 0] = 200  # pure red
    x = net.preprocess(rgb)
    assert x.shape == (227, 227, 3)
    np.testing.assert_allclose(x[0, 0], [0 - 104.00698793, 0 - 116.66876762, 200 - 122.67891434], rtol=1e-6)
    np.testing.assert_array_equal(net.deprocess(x), np.asarray(rgb[:227, :227]))


def test_auto_load_prefers_alexnet_when_weights_are_placed(synthetic_params, tmp_path):
    assert alexnet.load(weights_dir=tmp_path, verbose=False).name == "efficientnet-lite0"
    write_bvlc_npy(synthetic_params, tmp_path / "bvlc_alexnet.npy")
    net = alexnet.load(weights_dir=tmp_path, verbose=False)
    assert net.name == "alexnet" and "bvlc_alexnet.npy" in net.reason



def test_alexnet_is_built_once_until_its_weights_change(synthetic_params, tmp_path):
    """make_report's four questions share one network; weights replaced on disk are read again."""
    path = write_bvlc_npy(synthetic_params, tmp_path / "bvlc_alexnet.npy")
    first, again = alexnet.load(path, verbose=False), alexnet.load("alexnet", weights_dir=tmp_path, verbose=False)
    assert again.model is first.model and again.reason != first.reason  # each load keeps its own reason
    changed = {**synthetic_params, "fc8": tuple(2 * p for p in synthetic_params["fc8"])}
    write_bvlc_npy(changed, path)
    x = first.preprocess(read_rgb("coffee.jpg"))[None]
    reloaded = alexnet.load(path, verbose=False)
    assert reloaded.model is not first.model
    np.testing.assert_allclose(reloaded.logits(x).numpy(), 2 * first.logits(x).numpy(), rtol=1e-4, atol=1e-4)

def test_default_load_needs_no_download():
    out = subprocess.run([sys.executable, "-c", "import alexnet; n = alexnet.load(); print(n.name)"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "no_proxy": "*", "http_proxy": "http://127.0.0.1:9"})
    assert out.returncode == 0 and out.stdout.strip() == "efficientnet-lite0", out.stderr
    assert "AlexNet weights not found" in out.stderr


# --------------------------------------------------------------------------------------------------
# Safety and clear errors
# --------------------------------------------------------------------------------------------------
class RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_crafted_pickle_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "bvlc_alexnet.npy"
    np.save(evil, np.array({"conv1": [RunsACommand(marker), 0]}, dtype=object), allow_pickle=True)
    with open(evil, "rb") as f:
        assert b"system" in f.read()  # the file really carries the command
    with pytest.raises(alexnet.UserError, match="refused"):
        alexnet.read_bvlc_npy(evil)
    assert not marker.exists()


def test_malformed_bvlc_files_get_one_clear_sentence(synthetic_params, weight_files, tmp_path):
    data = weight_files["bvlc"].read_bytes()
    truncated = tmp_path / "truncated.npy"
    truncated.write_bytes(data[: len(data) // 3])
    foreign = tmp_path / "foreign.npy"
    np.save(foreign, np.zeros((3, 3), np.float32))
    wrong = dict(synthetic_params, fc8=(np.zeros((4096, 10), np.float32), np.zeros(10, np.float32)))
    missing = {k: v for k, v in synthetic_params.items() if k != "conv3"}
    cases = [(truncated, "truncated"), (foreign, "plain float32 array"),
             (write_bvlc_npy(wrong, tmp_path / "wrong.npy"), r"fc8 weights should have shape \(4096, 1000\), "
                                                             r"found \(4096, 10\)"),
             (write_bvlc_npy(missing, tmp_path / "missing.npy"), "missing layers conv3")]
    for path, message in cases:
        with pytest.raises(alexnet.UserError, match=message) as err:
            alexnet.load(path, verbose=False)
        assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_malformed_per_layer_folder_names_the_file(synthetic_params, tmp_path):
    folder = write_per_layer_folder(synthetic_params, tmp_path / "w")
    (folder / "conv4_b.npy").unlink()
    with pytest.raises(alexnet.UserError, match=r"conv4_b\.npy: missing"):
        alexnet.load(folder, verbose=False)
    np.save(folder / "conv4_b.npy", np.zeros((3, 3, 192, 100), np.float32))
    with pytest.raises(alexnet.UserError, match=r"conv4_b\.npy: conv4 group b weights should have shape "
                                                r"\(3, 3, 192, 192\), found \(3, 3, 192, 100\)"):
        alexnet.load(folder, verbose=False)
    np.save(folder / "conv4_b.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(alexnet.UserError, match=r"conv4_b\.npy: not a plain numpy array file"):
        alexnet.load(folder, verbose=False)


def test_what_was_verified_is_said_for_a_folder_of_weights(synthetic_params, weight_files, monkeypatch, tmp_path):
    """The course's per-layer files have no published checksum: the title page says they were checked by
    behaviour only. A folder that holds bvlc_alexnet.npy is checked by that file's SHA-256."""
    monkeypatch.setattr(alexnet, "KNOWN_PHOTOS", {})  # synthetic weights recognize nothing; behave "as trained"
    per_layer = alexnet.judge_alexnet_weights(None, weight_files["folder"])
    assert "per-layer" in per_layer and "no checksum is published for them, so they were not verified" in per_layer
    assert alexnet.alexnet_label(per_layer) == "AlexNet (the course's per-layer weights, not checksum-verified)"
    folder = tmp_path / "weights"
    folder.mkdir()
    write_bvlc_npy(synthetic_params, folder / "bvlc_alexnet.npy")
    monkeypatch.setattr(alexnet, "BVLC_SHA256", alexnet.sha256_of(folder / "bvlc_alexnet.npy"))
    assert alexnet.judge_alexnet_weights(None, folder).startswith("the published BVLC AlexNet weights")


def test_missing_bundled_weights_are_named_in_one_sentence(monkeypatch, tmp_path):
    from cnnvis import efficientnet_lite
    monkeypatch.setattr(efficientnet_lite, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(alexnet.UserError, match="efficientnet_lite0.npz, the weights of the bundled "
                                                "efficientnet-lite0, is missing; copy weights/"):
        alexnet.bundled.__wrapped__("efficientnet-lite0")


def test_cli_reports_bad_weights_in_one_line(tmp_path):
    bad = tmp_path / "bvlc_alexnet.npy"
    bad.write_bytes(b"not a numpy file")
    out = subprocess.run([sys.executable, "alexnet.py", "--net", str(bad)], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


# --------------------------------------------------------------------------------------------------
# The embedded EfficientNet-Lite0
# --------------------------------------------------------------------------------------------------
def test_lite0_port_matches_pytorch_golden_logits(lite0):
    golden = np.load(ROOT / "weights" / "efficientnet_lite0_golden.npz")
    for name, x in zip(golden["images"], golden["x"]):
        np.testing.assert_allclose(lite0.preprocess(read_rgb(str(name))), x, atol=1e-6)
    logits = lite0.logits(golden["x"]).numpy()
    assert np.abs(logits - golden["logits"]).max() <= 1e-4


@pytest.mark.parametrize("image, expected", [("chelsea.jpg", {"Egyptian cat", "tabby", "tiger cat"}),
                                             ("coffee.jpg", {"espresso"}),
                                             ("grace_hopper.jpg", {"military uniform"})])
def test_lite0_classifies_bundled_images(lite0, image, expected):
    prob = lite0.activations(lite0.preprocess(read_rgb(image))[None], ["prob"])["prob"].numpy()[0]
    assert lite0.classes[prob.argmax()] in expected
    assert abs(prob.sum() - 1) < 1e-5


def test_bundled_images_span_high_and_low_confidence(lite0):
    x = np.stack([lite0.preprocess(read_rgb(p.name)) for p in sorted((ROOT / "images").glob("*.jpg"))])
    top = lite0.activations(x, ["prob"])["prob"].numpy().max(axis=1)
    assert top.max() > 0.8 and top.min() < 0.4


def test_class_lookup_by_index_and_name(lite0):
    classes = lite0.classes
    assert len(classes) == 1000 and classes[285] == "Egyptian cat" and classes[9] == "ostrich"
    assert classes.find("9") == 9 and classes.find("ostrich") == 9 and classes.find("Struthio") == 9
    with pytest.raises(alexnet.UserError, match=r"nearest matches: ostrich \(9\)"):
        classes.find("ostrch")
    with pytest.raises(alexnet.UserError, match="out of range"):
        classes.find(1000)
    with pytest.raises(alexnet.UserError, match="unknown class name '²'"):  # a digit to str.isdigit(), not to int()
        classes.find("²")


def test_unknown_layer_lists_valid_names(lite0):
    with pytest.raises(alexnet.UserError, match="valid layers are: stem, stage1"):
        lite0.activations(np.zeros((1, 224, 224, 3), np.float32), ["conv9"])


@pytest.mark.parametrize("kernel, stride, size", [(11, 4, 227), (11, 4, 30), (5, 2, 17), (3, 3, 20), (4, 4, 12)])
def test_conv1_block_gradient_equals_tensorflows_own(kernel, stride, size):
    """conv1's faster input gradient (space-to-depth blocks) against TensorFlow's gradient of the plain
    convolution, including sizes where rows past the last window get no gradient."""
    rng = np.random.default_rng(kernel + size)
    x = tf.constant(rng.normal(size=(2, size, size, 3)).astype(np.float32))
    layer = alexnet.BlockGradientConv2D(5, kernel, strides=stride, activation="relu")
    layer.build(x.shape)
    layer.set_weights([rng.normal(size=(kernel, kernel, 3, 5)).astype(np.float32), rng.normal(size=5).astype(np.float32)])
    weights = rng.normal(size=layer.compute_output_shape(x.shape)[1:]).astype(np.float32)

    def input_gradient(conv):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_sum(conv(x) * weights)
        return tape.gradient(score, x).numpy()

    reference = input_gradient(lambda v: tf.nn.relu(tf.nn.conv2d(v, layer.kernel, stride, "VALID") + layer.bias))
    assert np.abs(reference).max() > 0
    np.testing.assert_allclose(input_gradient(layer), reference, atol=1e-4 * np.abs(reference).max())
