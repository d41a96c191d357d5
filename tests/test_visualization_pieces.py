"""The pieces of the visualizations: transforms, parameterizations and the independent judge, each against
a known answer."""
import numpy as np
import pytest

import q2_fourier
from cnnvis import param, transforms
from cnnvis.judge import Judge, recognition_rate
from cnnvis.quiet_tensorflow import tf
from conftest import ROOT, read_rgb


def dot_image(size=33, at=(8, 24)):
    rgb = np.full((1, size, size, 3), transforms.GREY, np.float32)
    rgb[0, at[0], at[1]] = 255.0
    return tf.constant(rgb)


def brightest(rgb):
    img = np.asarray(rgb)[0, ..., 0]
    return np.unravel_index(img.argmax(), img.shape)


SEED = tf.constant([1, 2])


def test_zero_transforms_are_the_identity():
    rgb = tf.random.stateless_uniform([2, 20, 20, 3], [0, 0], 0, 255)
    unchanged = transforms.compose(transforms.jitter(0), transforms.random_scale(1.0, 1.0),
                                   transforms.random_rotate(0.0))
    np.testing.assert_allclose(unchanged(rgb, SEED), rgb, atol=1e-3)
    np.testing.assert_allclose(transforms.fit(transforms.pad(5)(rgb, SEED), 20), rgb, atol=1e-4)


def test_rotation_moves_a_dot_where_geometry_says():
    # 90° counter-clockwise about the centre (16, 16), as displayed (rows grow downwards):
    # the dot at row 8, col 24 (up-right of the centre) goes to row 8, col 8 (up-left).
    rotated = transforms.affine(dot_image(), tf.constant([1.0]), tf.constant([np.pi / 2]))
    assert brightest(rotated) == (8, 8)


def test_scaling_moves_a_dot_away_from_the_centre_by_the_factor():
    scaled = transforms.affine(dot_image(at=(12, 20)), tf.constant([2.0]), tf.constant([0.0]))
    assert brightest(scaled) == (8, 24)  # 4 px from the centre becomes 8 px


def test_pad_jitter_and_fit_keep_size_and_fill_grey():
    rgb = tf.fill([1, 16, 16, 3], 10.0)
    padded = transforms.pad(4)(rgb, SEED)
    assert padded.shape == (1, 24, 24, 3) and float(padded[0, 0, 0, 0]) == transforms.GREY
    cropped = transforms.jitter(4)(padded, SEED)
    assert cropped.shape == (1, 20, 20, 3)
    assert transforms.fit(cropped, 16).shape == (1, 16, 16, 3)
    a, b = (transforms.robust()(tf.fill([1, 32, 32, 3], 50.0), SEED) for _ in range(2))
    np.testing.assert_array_equal(a, b)  # seeded: the same step gives the same transformation


def test_colour_decorrelation_round_trips():
    rgb = np.random.default_rng(0).uniform(5, 250, (4, 8, 8, 3)).astype(np.float32)
    back = param.decorrelated_to_rgb(tf.constant(param.rgb_to_decorrelated(rgb))).numpy()
    np.testing.assert_allclose(back, rgb, atol=1e-2)


def test_fourier_parameterization_starts_with_a_one_over_w_spectrum():
    p = param.fourier(3, 224, np.random.default_rng(0))
    rgb = p.to_rgb(tf.constant(p.init)).numpy()
    assert rgb.shape == (3, 224, 224, 3) and 0 < rgb.min() and rgb.max() < 255
    # Tiny values: stretch to 8-bit range before measuring, as the slope does not depend on contrast.
    for img in rgb:
        stretched = np.clip(127.5 + (img - img.mean()) / img.std() * 40, 0, 255).astype(np.uint8)
        assert q2_fourier.spectral_slope(stretched) == pytest.approx(-1.0, abs=0.15)
    pixels = param.decorrelated(1, 224, np.random.default_rng(0))
    flat = pixels.to_rgb(tf.constant(pixels.init)).numpy()[0]
    flat = np.clip(127.5 + (flat - flat.mean()) / flat.std() * 40, 0, 255).astype(np.uint8)
    assert abs(q2_fourier.spectral_slope(flat)) < 0.2  # white noise: the preconditioning is what makes -1


@pytest.fixture(scope="module")
def judge():
    return Judge()


def test_judge_port_matches_pytorch_golden_logits(judge):
    golden = np.load(ROOT / "weights" / "efficientnet_lite1_golden.npz")
    for name, x in zip(golden["images"], golden["x"]):
        np.testing.assert_allclose(judge.net.preprocess(read_rgb(str(name))), x, atol=1e-6)
    assert np.abs(judge.net.logits(golden["x"]).numpy() - golden["logits"]).max() <= 1e-4


def test_judge_recognizes_photos_and_rates_right(judge):
    photos = [read_rgb("coffee.jpg"), read_rgb("chelsea.jpg")]
    rows = judge([judge.net.resize_to_input(p) for p in photos], [967, 9])  # espresso; ostrich (wrong)
    assert rows[0]["recognized"] and rows[0]["judge_top1"] == "espresso" and rows[0]["judge_rank_of_class"] == 1
    assert not rows[1]["recognized"] and rows[1]["judge_rank_of_class"] > 1 and rows[1]["judge_prob_of_class"] < 0.01
    assert recognition_rate(rows) == 0.5
    assert recognition_rate([{"recognized": True}] * 3 + [{"recognized": False}]) == 0.75
    assert recognition_rate([]) is None
