"""The four practical questions: each method against a known answer or a property that fails when the
method is wrong, plus their command lines' handling of bad input."""
import json
import sys
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from cnnvis import cli
from cnnvis import fooling, occlusion, optimize, param, spectrum
import q1_visualize
import q2_fourier
import q3_fool
import q4_heatmap
from cnnvis.errors import UserError
from conftest import ROOT, read_rgb
from test_visualization_pieces import decorrelated_spectrum
from cnnvis.imaging import read_image
from cnnvis.optimize import Crops, Method, Neuron, Regularizers, visualize
from cnnvis.quiet_tensorflow import tf


def result_file(out):
    """The one results.json a run wrote under `out` (there must be exactly one)."""
    files = list(out.rglob("results.json"))
    assert len(files) == 1, files
    return files[0]


def run_script(module, args, monkeypatch, capsys):
    """Run a question script's main() in-process, as `python <script> args` would: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", [module.__file__] + [str(a) for a in args])
    with pytest.raises(SystemExit) as exit_info:
        cli.run(module.main)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


# --------------------------------------------------------------------------------------------------
# Q1
# --------------------------------------------------------------------------------------------------
def test_q1_reaches_requested_target_activations(lite0):
    neurons = [Neuron("logits", 9), Neuron("stage4", 5), Neuron("stage2", 3, "mean")]
    targets = [15.0, 2.0, 1.0]
    rgb = visualize(lite0, neurons, targets, Method("pixels", Regularizers(l2=1.0)), steps=100, seed=0)
    values = optimize.achieved(lite0, np.clip(np.round(rgb), 0, 255).astype(np.uint8), neurons)
    np.testing.assert_allclose(values, targets, rtol=0.05)


def test_neuron_values_take_each_neurons_own_image_and_layer(lite0):
    """Images stop at their own neuron's layer; the value must still be neuron i's on image i, whatever the
    order of the layers, as the whole network computes it on that image alone."""
    neurons = [Neuron("stage3", 1), Neuron("logits", 9), Neuron("stem", 2, (5, 7)), Neuron("stage3", 4, "mean"),
               Neuron("logits", 130)]
    x = tf.random.stateless_normal([len(neurons), 224, 224, 3], seed=[1, 2])
    expected = [n.value(lite0.activations(x[i:i + 1])[n.layer][0]).numpy() for i, n in enumerate(neurons)]
    np.testing.assert_allclose(optimize.neuron_values(lite0, x, neurons).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_q1_is_deterministic_per_seed(lite0):
    neurons = [Neuron("stage3", 1)]
    method = Method("pixels", q1_visualize.YOSINSKI)
    a, b = (visualize(lite0, neurons, None, method, steps=6, seed=3) for _ in range(2))
    c = visualize(lite0, neurons, None, method, steps=6, seed=4)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1


def test_receptive_fields_are_where_the_geometry_puts_them(lite0):
    boxes = q1_visualize.receptive_field_boxes(lite0, [Neuron("stem", 3), Neuron("stage1", 0), Neuron("logits", 9),
                                                       Neuron("stem", 5, (0, 0))])
    assert boxes[("stem", "centre")] == (112, 115, 112, 115)  # 3×3 stride 2, TF's 'same': rows 2i .. 2i+2
    assert boxes[("stem", (0, 0))] == (0, 3, 0, 3)  # the corner too: 'same' pads this stride only after
    assert boxes[("stage1", "centre")] == (110, 117, 110, 117)  # then a 3×3 depthwise: stem rows i-1 .. i+1
    assert boxes[("logits", "centre")] == (0, 224, 0, 224)


def test_q1_yosinski_operations_do_what_they_say():
    rgb = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)), tf.float32)
    grad = tf.ones_like(rgb)
    step = tf.constant(1)
    decayed = optimize.yosinski_step(rgb, grad, Regularizers(decay=0.5), step)
    np.testing.assert_allclose(decayed - 127.5, (rgb - 127.5) * 0.5, atol=1e-4)
    clipped = optimize.yosinski_step(rgb, grad, Regularizers(norm_pct=50), step).numpy()[0]
    norms = np.linalg.norm(rgb.numpy()[0] - 127.5, axis=-1)
    grey = np.all(clipped == 127.5, axis=-1)
    assert grey.sum() == (norms < np.sort(norms.ravel())[int(round(0.5 * 255))]).sum() and 100 < grey.sum() < 156
    assert np.all(norms[grey] <= norms[~grey].min())
    flat = tf.fill([1, 16, 16, 3], 200.0)
    blurred = optimize.yosinski_step(flat, grad, Regularizers(blur_every=1, blur_sigma=1.0), step).numpy()
    np.testing.assert_allclose(blurred[0, 4:12, 4:12], 200.0, atol=1e-3)  # blur keeps a flat region flat


def test_q1_non_finite_loss_stops_with_a_sentence(lite0):
    with pytest.raises(UserError, match="diverged"):
        optimize.optimize(lite0, param.pixels(np.full((1, 224, 224, 3), 127.5, np.float32)),
                          lambda x: tf.reduce_mean(x, axis=[1, 2, 3]) * np.nan, steps=3)


@pytest.mark.parametrize("args, message", [
    (["--layer", "conv9"], "unknown layer 'conv9' for efficientnet-lite0; valid layers are: stem, stage1"),
    (["--layer", "stage4", "--unit", "80"], "unit 80 is out of range for layer stage4, which has units 0..79"),
    (["--layer", "stage4", "--position", "middle"], "--position 'middle' is not understood"),
])
def test_q1_bad_input_gets_one_sentence(args, message, monkeypatch, capsys, tmp_path):
    code, out, err = run_script(q1_visualize, args + ["--net", "efficientnet-lite0", "--out", tmp_path],
                                monkeypatch, capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.splitlines()[-1]]
    assert not list(tmp_path.rglob("*.json")) and not list(tmp_path.rglob(".*"))  # nothing kept, nothing left


def test_q1_command_line_writes_results(monkeypatch, capsys, tmp_path):
    code, out, err = run_script(q1_visualize, ["--layer", "stage3", "--unit", "2", "--target", "3",
                                               "--net", "efficientnet-lite0", "--out", tmp_path], monkeypatch, capsys)
    assert code == 0
    path = result_file(tmp_path)
    result = json.loads(path.read_text())
    unit = result["units"][0]
    assert result["network"] == "efficientnet-lite0" and unit["target"] == 3 and abs(unit["achieved"] - 3) < 0.15
    assert (path.parent / unit["image_file"]).is_file() and (path.parent / result["figures"][0]).is_file()
    assert path.parent.parent.name == "efficientnet-lite0" and path.parent.name != "q1"  # not the report's set


def test_q1_rise_over_the_last_quarter_known_answer():
    """The mean over units doubles in the last quarter: +50% of its end value; flat there: 0; halved: -100%."""
    first, last = np.ones((48, 2)), np.ones((16, 2))
    units = np.array([1.0, 3.0])  # two units of different scale; their mean is what is measured
    assert q1_visualize.rise(np.vstack([first, 2 * last]) * units) == pytest.approx(0.5)
    assert q1_visualize.rise(np.vstack([first, last]) * units) == pytest.approx(0.0)
    assert q1_visualize.rise(np.vstack([first, 0.5 * last]) * units) == pytest.approx(-1.0)


def test_q1_one_lambda_per_image_is_the_same_as_separate_runs(lite0):
    """A λ sweep in one batch gives each image exactly what a run with that λ alone gives, and the history
    holds minus the activation of the image the network saw at each step."""
    neuron = Neuron("stage1", 3)
    history = []
    together = visualize(lite0, [neuron] * 2, None, Method("pixels", Regularizers(l2=(0.0, 1e4))), steps=3,
                         history=history)
    alone = [visualize(lite0, [neuron] * 2, None, Method("pixels", Regularizers(l2=lam)), steps=3)[k]
             for k, lam in enumerate((0.0, 1e4))]  # the same start images, each λ for both
    np.testing.assert_allclose(together, np.stack(alone), atol=1e-3)
    assert np.abs(together[1] - 127.5).mean() < np.abs(together[0] - 127.5).mean()  # the prior pulls to grey
    start = Method("pixels").parameterization(2, 224, 0).init  # the image seen at step 1 is the start, rounded
    first = optimize.neuron_values(lite0, lite0.rgb_to_x(np.round(start)), [neuron] * 2).numpy()
    assert len(history) == 3 and np.allclose(-history[0], first, atol=1e-3)


def test_q1_convergence_record_is_used_only_for_its_own_settings(lite0, monkeypatch, tmp_path):
    args = SimpleNamespace(l2=1.0, lr=4.0, seed=0)
    neurons = [Neuron("stage1", 3), Neuron("logits", 9)]
    record = tmp_path / "q1_convergence.json"
    monkeypatch.setattr(q1_visualize, "CONVERGENCE", record)
    assert q1_visualize.recorded_convergence(lite0, args, neurons) is None  # no record
    record.write_text(json.dumps({"fingerprint": q1_visualize.fingerprint(lite0, args, neurons), "methods": {}}))
    assert q1_visualize.recorded_convergence(lite0, args, neurons) is not None
    for changed in (SimpleNamespace(l2=2.0, lr=4.0, seed=0), SimpleNamespace(l2=1.0, lr=4.0, seed=1)):
        assert q1_visualize.recorded_convergence(lite0, changed, neurons) is None
    assert q1_visualize.recorded_convergence(lite0, args, neurons[:1]) is None


def test_q1_layers_are_named_with_the_alexnet_layer_they_stand_for(lite0):
    names = [q1_visualize.stands_for(lite0, layer) for layer in q1_visualize.default_layers(lite0)]
    assert names[0] == "stem (conv1)" and names[4] == "stage4 (conv5)" and names[-1] == "logits (fc8)"
    assert names[5:7] == ["stage5 (fc6)", "stage6 (fc7)"] and q1_visualize.stands_for(lite0, "head") == "head"


def test_q1_record_convergence_is_for_the_report_experiment_only(monkeypatch, capsys, tmp_path):
    code, out, err = run_script(q1_visualize, ["--layer", "stage3", "--record-convergence", "--out", tmp_path],
                                monkeypatch, capsys)
    assert code == 2 and "--record-convergence records the report's experiment; leave out --layer" in err


# --------------------------------------------------------------------------------------------------
# Q2
# --------------------------------------------------------------------------------------------------
def power_law_noise(exponent, size=224, seed=0):
    """Grey-level noise whose Fourier magnitude falls exactly as w**exponent, as uint8 RGB."""
    w = spectrum.radial_frequency(size)
    w[0, 0] = np.inf
    phase = np.exp(2j * np.pi * np.random.default_rng(seed).uniform(size=(size, size)))
    img = np.real(np.fft.ifft2(w ** exponent * phase))
    img = (img - img.mean()) / img.std() * 40 + 127.5
    return np.repeat(np.clip(np.round(img), 0, 255).astype(np.uint8)[..., None], 3, axis=2)


def test_q2_spectral_slope_measures_known_answers():
    assert q2_fourier.spectral_slope(power_law_noise(-1.0)) == pytest.approx(-1.0, abs=0.15)
    assert q2_fourier.spectral_slope(power_law_noise(0.0)) == pytest.approx(0.0, abs=0.15)
    assert -1.5 < q2_fourier.spectral_slope(read_rgb("chelsea.jpg")) < -1.1


def test_q2_prior_prefers_one_over_w_and_treats_channels_separately():
    prior = spectrum.fourier_prior(1.0)
    natural, white, steep = (prior(tf.constant(power_law_noise(e)[None], tf.float32)).numpy()[0]
                             for e in (-1.0, 0.0, -2.0))
    assert natural < 0.6 * min(white, steep)  # what remains at the optimum is the random-phase scatter
    mixed = np.stack([power_law_noise(-1.0, seed=1)[..., 0], power_law_noise(0.0, seed=2)[..., 0],
                      power_law_noise(-2.0, seed=3)[..., 0]], axis=-1)
    single = [prior(tf.constant(np.repeat(mixed[None, ..., c:c + 1], 3, axis=-1), tf.float32)).numpy()[0]
              for c in range(3)]
    assert prior(tf.constant(mixed[None], tf.float32)).numpy()[0] == pytest.approx(np.mean(single), rel=1e-4)


def test_q2_fourier_prior_gives_natural_spectrum(lite0):
    neurons = [Neuron(lite0.logits_layer, 9)]
    rgb = visualize(lite0, neurons, [30.0], Method("pixels", Regularizers(l2=1.0)), steps=160, seed=0,
                    prior=spectrum.fourier_prior(q2_fourier.FOURIER_WEIGHT))
    img = np.clip(np.round(rgb[0]), 0, 255).astype(np.uint8)
    assert -1.6 <= q2_fourier.spectral_slope(img) <= -0.8
    assert optimize.achieved(lite0, img[None], neurons)[0] > 25


def small_maco(magnitude="1/w", canvas=64, crops=2, resolution=64):
    """The magnitude-constrained method, small enough for a test."""
    return Method("magnitude", Regularizers(l2=0.0), magnitude=magnitude,
                  crops=Crops(count=crops, canvas=canvas, resolution=resolution))


def test_q2_maco_optimizes_only_the_phase_and_raises_the_class(lite0):
    """After optimizing, the image's spectrum is still exactly the fixed magnitude (gradients reached the phase
    only), the image differs from its random start, and the class logit rose on the image as saved."""
    neurons = [Neuron(lite0.logits_layer, 9), Neuron(lite0.logits_layer, 1)]
    method = small_maco("photos", canvas=96, crops=4, resolution=96)
    start = method.parameterization(2, 96, 0)
    before = start.to_rgb(tf.constant(start.init)).numpy()
    after = visualize(lite0, neurons, None, method, steps=24, seed=0)
    np.testing.assert_allclose(decorrelated_spectrum(after), decorrelated_spectrum(before), rtol=2e-3,
                               atol=2e-3 * decorrelated_spectrum(before).max())
    assert np.abs(after - before).mean() > 5  # the phase moved
    start_logit, end_logit = (optimize.achieved(lite0, np.round(rgb).astype(np.uint8), neurons)
                              for rgb in (before, after))
    assert (end_logit > start_logit + 1).all(), (start_logit, end_logit)


def test_q2_maco_is_deterministic_per_seed(lite0):
    neurons = [Neuron(lite0.logits_layer, 9)]
    a, b, c = (visualize(lite0, neurons, None, small_maco(), steps=3, seed=seed) for seed in (0, 0, 1))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1


def test_q2_maco_runs_on_alexnet_at_its_only_input_size(synthetic_params):
    import alexnet
    net = alexnet.alexnet_from_params(synthetic_params, "synthetic weights for a test")
    assert not net.any_size
    neurons = [Neuron("fc8", 9), Neuron("fc8", 130)]
    rgb = visualize(net, neurons, None, small_maco(canvas=256, resolution=128), steps=2, seed=0)
    assert rgb.shape == (2, 256, 256, 3) and np.isfinite(rgb).all()  # the crops were shown at 227, not 128
    with pytest.raises(UserError, match="takes only 227x227"):
        net.activations(tf.zeros([1, 128, 128, 3]))


def test_q2_crop_resolution_is_refused_for_alexnet_in_one_sentence(synthetic_params, monkeypatch, capsys, tmp_path):
    import alexnet
    net = alexnet.alexnet_from_params(synthetic_params, "synthetic weights for a test")
    monkeypatch.setattr(cli, "load_network", lambda args: net)
    code, out, err = run_script(q2_fourier, ["--crop-resolution", "96", "--out", tmp_path], monkeypatch, capsys)
    assert code == 2 and err.count("\n") == 1 and "--crop-resolution 96: alexnet takes only 227x227" in err


def test_q2_unknown_class_suggests_nearest(monkeypatch, capsys, tmp_path):
    code, out, err = run_script(q2_fourier, ["--target", "ostrch", "--out", tmp_path], monkeypatch, capsys)
    assert code == 2 and "unknown class name 'ostrch'; nearest matches: ostrich (9)" in err


# --------------------------------------------------------------------------------------------------
# Q3
# --------------------------------------------------------------------------------------------------
def test_q3_fooled_file_is_target_when_reread(lite0, monkeypatch, capsys, tmp_path):
    """Both norms: each fooled file, re-read and classified independently, is the target at p >= 0.98; each mode
    makes the change smaller in its own norm than the other mode does."""
    code, out, err = run_script(q3_fool, ["--image", ROOT / "images" / "coffee.jpg", "--target", "ostrich",
                                          "--out", tmp_path], monkeypatch, capsys)
    assert code == 0, err
    path = result_file(tmp_path)
    assert path.parent.name != "q3"  # a custom run never replaces the report's set
    cases = {case["norm"]: case for case in json.loads(path.read_text())["cases"]}
    original = lite0.resize_to_input(read_rgb("coffee.jpg")).astype(float)
    for case in cases.values():
        assert case["original_class"] == "espresso" and case["original_prob"] > 0.8
        assert case["final_prob"] >= 0.98 and case["psnr"] >= 30
        fooled = read_image(path.parent / case["output_file"])  # independent re-read and classification
        prob = lite0.activations(lite0.preprocess(fooled)[None], ["prob"])["prob"].numpy()[0]
        assert lite0.classes[prob.argmax()] == "ostrich" and prob.max() >= 0.98
        assert np.abs(fooled - original).max() == case["linf"]
        assert np.sqrt(((fooled - original) ** 2).sum()) == pytest.approx(case["l2"])
    assert cases["linf"]["steps"] <= 30 and cases["linf"]["linf"] <= 4
    assert cases["l2"]["l2"] < cases["linf"]["l2"] and cases["linf"]["linf"] < cases["l2"]["linf"]


def test_q3_both_norms_fool_alexnet(synthetic_params):
    """The AlexNet path (random weights: the target only has to become the top class)."""
    import alexnet
    net = alexnet.alexnet_from_params(synthetic_params, "synthetic weights for a test")
    photo = net.resize_to_input(read_rgb("coffee.jpg"))
    target = int(np.argsort(fooling.probabilities(net, photo))[-2])  # the runner-up class
    for norm in ("linf", "l2"):
        fooled, steps = fooling.fool(net, photo, target, min_prob=0.0, max_steps=20, norm=norm)
        assert fooling.probabilities(net, fooled).argmax() == target and fooled.dtype == np.uint8


def test_q3_change_metrics_known_answer():
    a = np.zeros((10, 10, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 30
    m = fooling.change_metrics(a, b)
    assert m["l2"] == 30 and m["linf"] == 30
    assert m["psnr"] == pytest.approx(10 * np.log10(255 ** 2 / (900 / 300)))


# --------------------------------------------------------------------------------------------------
# Q4
# --------------------------------------------------------------------------------------------------
def test_q4_tiny_model_gives_exact_map():
    """A 'network' whose class-1 probability is the mean of one 6×6 region: the expected map is 1 minus the
    fraction of that region each block covers, computed here by brute force."""
    size, region = 20, (slice(5, 11), slice(8, 14))

    def prob_fn(x):
        p = tf.reduce_mean(x[:, region[0], region[1], 0], axis=[1, 2])
        return tf.stack([1 - p, p], axis=1)

    x = np.ones((size, size, 3), np.float32)
    block, stride = 4, 3
    got = occlusion.occlusion_map(prob_fn, x, 1, block, stride, np.zeros(3), batch_size=5, progress=False)
    n = (size - block) // stride + 1
    expected = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            occluded = x.copy()
            occluded[i * stride:i * stride + block, j * stride:j * stride + block] = 0
            expected[i, j] = occluded[region[0], region[1], 0].mean()
    assert got.shape == (n, n) == (6, 6)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert expected.min() < 1 and expected.max() == 1  # the test case really has blocks on and off the region


def test_q4_occluding_the_cats_face_hurts_more_than_the_background(lite0):
    x = lite0.preprocess(read_rgb("chelsea.jpg"))

    def prob_fn(batch):
        return lite0.activations(batch, ["prob"])["prob"]

    cat = int(prob_fn(x[None]).numpy()[0].argmax())
    heat = occlusion.occlusion_map(prob_fn, x, cat, 64, 32, np.zeros(3), progress=False)  # 6×6 cells
    face = heat[1:4, 2:4].min()  # blocks over the eyes and nose, centre of the crop
    background = heat[0, 0]  # top-left corner
    assert face < background


def test_q4_bad_block_is_one_sentence(monkeypatch, capsys, tmp_path):
    code, out, err = run_script(q4_heatmap, ["--image", ROOT / "images" / "coffee.jpg", "--block", "300",
                                             "--out", tmp_path], monkeypatch, capsys)
    assert code == 2 and "--block 300 with --stride 16 leaves fewer than 2×2 block positions" in err


# --------------------------------------------------------------------------------------------------
# Reading images
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16", "LA"])
def test_read_image_converts_modes_to_rgb(mode, tmp_path):
    rgb = read_rgb("coffee.jpg")[:64, :80]
    img = Image.fromarray(rgb)
    img = img.convert(mode, palette=Image.Palette.ADAPTIVE) if mode == "P" else img.convert(mode)
    if mode == "I;16":  # a true 16-bit image spans 0..65535 (convert keeps the 8-bit values)
        img = Image.fromarray(np.asarray(img).astype(np.uint16) * 257)
    path = tmp_path / ("x.tif" if mode in ("CMYK", "I;16") else "x.png")
    img.save(path)
    out = read_image(path)
    assert out.shape == (64, 80, 3) and out.dtype == np.uint8
    grey = np.asarray(Image.fromarray(rgb).convert("L"), float)
    assert np.corrcoef(out.astype(float).mean(axis=-1).ravel(), grey.ravel())[0, 1] > 0.95


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "not found"),
    (lambda p: p.write_text("hello"), "is not an image file"),
    (lambda p: Image.new("RGB", (20, 500)).save(p, format="PNG"), "is 20x500 pixels"),
])
def test_read_image_refuses_with_one_sentence(make, message, tmp_path):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(UserError, match=message):
        read_image(path)


def test_q2_spectrum_term_gives_the_same_images_every_time(lite0):
    """Two runs with the 1/w term and the same seed are equal to the last bit (with independent graph branches
    running side by side they once drifted apart within a few steps)."""
    neurons = [Neuron(lite0.logits_layer, c) for c in (9, 130, 1, 323, 963, 949, 980, 779, 437, 985)]
    a, b = (visualize(lite0, neurons, None, Method("pixels", Regularizers(l2=1.0)), steps=24, seed=0,
                      prior=spectrum.fourier_prior(q2_fourier.FOURIER_WEIGHT)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
