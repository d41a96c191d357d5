"""Deletion/insertion (cnnvis.faithfulness) against known answers, and Q4's comparison on both networks."""
import numpy as np
from PIL import Image

import alexnet
from cnnvis import faithfulness
from cnnvis.occlusion import DEFAULT_IMAGES
from cnnvis.quiet_tensorflow import tf
from conftest import ROOT, read_rgb

SIZE = 12


def linear_model(weights):
    """A 'network' whose class-1 probability is the weighted mean of channel 0: each pixel's true effect is its
    weight, so the best deletion order is the order of the weights."""
    w = tf.constant(weights / weights.sum(), tf.float32)

    def prob_fn(x):
        p = tf.reduce_sum(x[..., 0] * w, axis=[1, 2])
        return tf.stack([1 - p, p], axis=1)
    return prob_fn


def test_deletion_area_equals_the_known_answer_and_beats_the_reverse_order():
    weights = np.random.default_rng(0).random((SIZE, SIZE)) ** 3
    x, fill, steps = np.ones((SIZE, SIZE, 3), np.float32), np.zeros(3, np.float32), 16
    scores = faithfulness.deletion_insertion(linear_model(weights), x, 1, {"true": weights, "reverse": -weights}, fill,
                                             steps=steps, progress=False)
    # By hand: after removing the k most important pixels, p = 1 - (their weights) / (all weights).
    ordered = np.sort(weights.ravel())[::-1]
    counts = np.rint(np.linspace(0, SIZE * SIZE, steps + 1)).astype(int)
    expected = [1 - ordered[:k].sum() / ordered.sum() for k in counts]
    np.testing.assert_allclose(scores["true"]["deletion_curve"], expected, atol=1e-5)
    assert abs(scores["true"]["deletion"] - np.trapezoid(expected, dx=1 / steps)) < 1e-5
    assert scores["true"]["deletion"] < scores["reverse"]["deletion"] - 0.2
    assert scores["true"]["insertion"] > scores["reverse"]["insertion"] + 0.2
    # Insertion starts at the blurred image and ends at the photo itself.
    assert scores["true"]["insertion_curve"][-1] == scores["reverse"]["insertion_curve"][-1] > 0.999


def test_ties_are_broken_at_random_but_reproducibly():
    flat = np.zeros((4, 4))
    assert np.array_equal(faithfulness.ranks(flat, seed=1), faithfulness.ranks(flat, seed=1))
    assert not np.array_equal(faithfulness.ranks(flat, seed=1), faithfulness.ranks(flat, seed=2))
    assert sorted(faithfulness.ranks(flat).ravel()) == list(range(16))
    assert faithfulness.ranks(np.arange(16.0).reshape(4, 4))[3, 3] == 0  # the largest value comes first


def test_occlusion_saliency_is_the_mean_drop_of_the_covering_blocks():
    drop = np.array([[1.0, 3.0], [5.0, 7.0]])  # blocks of 3 at stride 2 on a 5×5 image
    saliency = faithfulness.occlusion_saliency(drop, 3, 2, 5)
    assert saliency[0, 0] == 1 and saliency[0, 4] == 3 and saliency[4, 4] == 7
    assert saliency[2, 2] == 4  # covered by all four blocks
    assert saliency[0, 2] == 2  # by the first two


def test_gradcam_and_faithfulness_run_on_both_networks(lite0, synthetic_params):
    """Grad-CAM through tf-keras-vis on each network's last conv layer, at input resolution; a faithful map of
    the bundled network beats a random order on its own photo."""
    net = alexnet.alexnet_from_params(synthetic_params, "synthetic weights for a test")
    assert faithfulness.last_conv_layer(net) == "conv5" and faithfulness.last_conv_layer(lite0) == "head_relu6"
    x = net.preprocess(read_rgb("coffee.jpg"))
    cam = faithfulness.gradcam(net, x, 3)
    assert cam.shape == (227, 227) and np.isfinite(cam).all()
    x = lite0.preprocess(read_rgb("squirrel.jpg"))

    def prob_fn(batch):
        return lite0.activations(batch, ["prob"])["prob"]

    fox_squirrel = lite0.classes.find("fox squirrel")
    maps = {"Grad-CAM": faithfulness.gradcam(lite0, x, fox_squirrel),
            "random": np.random.default_rng(0).random((224, 224))}
    scores = faithfulness.deletion_insertion(prob_fn, x, fox_squirrel, maps, np.zeros(3, np.float32), steps=8,
                                             progress=False)
    assert scores["Grad-CAM"]["deletion"] < scores["random"]["deletion"]
    assert scores["Grad-CAM"]["insertion"] > scores["random"]["insertion"]


def test_q4_default_photos_are_sure_jpegs_with_provenance(lite0):
    """Every bundled photo has a provenance line (package, file, licence); Q4's defaults are JPEGs of different
    classes, each of which the bundled network is sure of."""
    folder = ROOT / "images"
    sources = dict(line.split("\t", 1) for line in (folder / "SOURCES.txt").read_text().splitlines())
    assert set(sources) == {p.name for p in folder.iterdir() if p.name != "SOURCES.txt"}
    assert all(any(word in line for word in ("CC0", "public domain", "Apache-2.0")) for line in sources.values())
    classes = set()
    for path in DEFAULT_IMAGES:
        with Image.open(path) as photo:
            assert photo.format == "JPEG"
        prob = lite0.activations(lite0.preprocess(read_rgb(path.name))[None], ["prob"])["prob"].numpy()[0]
        assert prob.max() >= 0.8, (path.name, lite0.classes[prob.argmax()], prob.max())
        classes.add(int(prob.argmax()))
    assert len(classes) == len(DEFAULT_IMAGES) >= 3
