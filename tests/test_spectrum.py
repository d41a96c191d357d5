"""cnnvis.spectrum (the 1/w term per image, the work count) and bench/q2_budget.py's choice of β and ρ."""
import importlib.util
import re

import numpy as np
import pytest

from cnnvis import spectrum
from cnnvis.optimize import Crops, Method
from conftest import ROOT


def test_frequency_weights_lean_on_low_frequencies_and_sum_to_one():
    flat, steep = spectrum.frequency_weights(16, 0.0), spectrum.frequency_weights(16, 3.0)
    assert flat.sum() == pytest.approx(1.0) and steep.sum() == pytest.approx(1.0)
    assert flat[0, 0] == 0 and steep[0, 0] == 0  # the mean carries no weight
    assert np.ptp(flat[flat > 0]) == pytest.approx(0.0)  # p = 0: every frequency alike
    assert steep[0, 1] / steep[4, 4] == pytest.approx(np.hypot(4, 4) ** 3)  # ρ ∝ w^-3
    per_image = spectrum.frequency_weights(16, [0.0, 3.0])
    assert per_image.shape == (2, 1, 16, 16)
    np.testing.assert_allclose(per_image[1, 0], steep)


def test_prior_with_one_weight_per_image_equals_the_priors_one_by_one():
    """A sweep runs all settings in one batch: image i's term must be exactly the term of its own β and ρ."""
    rgb = np.random.default_rng(0).uniform(0, 255, (3, 64, 64, 3)).astype(np.float32)
    settings = [(5.0, 1.0), (20.0, 3.0), (80.0, 2.0)]
    batch = spectrum.fourier_prior([b for b, _ in settings], 32, [p for _, p in settings])(rgb).numpy()
    alone = [spectrum.fourier_prior(b, 32, p)(rgb[i:i + 1]).numpy()[0] for i, (b, p) in enumerate(settings)]
    np.testing.assert_allclose(batch, alone, rtol=1e-5)
    assert batch[1] == pytest.approx(4 * spectrum.fourier_prior(5.0, 32, 3.0)(rgb[1:2]).numpy()[0], rel=1e-5)


class Net:
    input_size, any_size = 224, True


def test_work_counts_steps_views_and_pixels():
    default = Method("magnitude", crops=Crops())
    assert spectrum.work(default, Net, 64) == 64 * 8 * 128 ** 2
    pixel = Method("pixels", share=0.25)
    assert spectrum.work(pixel, Net, 64) == 16 * 224 ** 2  # the main command's share
    same, steps = spectrum.at_work(pixel, Net, spectrum.work(default, Net, 64))
    assert steps == 167 and same.share == 1.0
    assert abs(spectrum.work(same, Net, steps) - 64 * 8 * 128 ** 2) <= 224 ** 2 / 2  # within half a step


def load_budget():
    spec = importlib.util.spec_from_file_location("q2_budget", ROOT / "bench" / "q2_budget.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_choice_is_the_highest_logit_on_the_law_else_the_nearest_to_it():
    choose = load_budget().choose
    rows = [{"mean_slope": -1.1, "mean_logit": 10.0}, {"mean_slope": -0.95, "mean_logit": 12.0},
            {"mean_slope": -0.4, "mean_logit": 30.0}]
    assert choose(rows)["mean_logit"] == 12.0  # the off-law one reaches more, and is not chosen
    assert choose([{"mean_slope": -0.5, "mean_logit": 1.0}, {"mean_slope": -0.2, "mean_logit": 9.0}])[
        "mean_slope"] == -0.5


def test_no_bench_or_cnnvis_file_imports_a_question_script():
    for path in [*(ROOT / "bench").glob("*.py"), *(ROOT / "cnnvis").glob("*.py")]:
        assert not re.search(r"^\s*(import|from)\s+q\d_", path.read_text(), re.M), path
