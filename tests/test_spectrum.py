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


def test_verdict_names_the_judges_top1_with_its_own_p_and_the_intended_class_with_its_own():
    from cnnvis import class_grid as q2_fourier  # the pieces Q2's figures and the equal-work bench share
    row = {"class_name": "ostrich", "judge_top1": "great white shark", "judge_top1_prob": 0.83,
           "judge_prob_of_class": 0.01, "recognized": False, "centre_judge_top1": "ostrich",
           "centre_judge_top1_prob": 0.9, "centre_judge_prob_of_class": 0.9, "centre_recognized": True}
    top, intended = q2_fourier.verdict_lines(row)
    # the long name is wrapped, not cut
    assert (top.replace("\n", " "), intended) == ("judge: great white shark 0.83 ✗", "p(ostrich) 0.01")
    assert q2_fourier.verdict_lines(row, "centre_") == ["judge: ostrich 0.90 ✓", "p(ostrich) 0.90"]
    canvas = np.arange(320 * 320 * 3, dtype=np.uint32).reshape(320, 320, 3).astype(np.uint8)
    shown, lines = q2_fourier.shown_part(canvas, row, Crops())
    np.testing.assert_array_equal(shown, canvas[80:240, 80:240])  # the central half, where the crops were
    assert lines[0].startswith("judge: ostrich")  # the verdict on what is shown


def test_report_quotes_equal_work_only_for_this_runs_files(tmp_path, monkeypatch):
    import hashlib
    import json
    import make_report
    (tmp_path / "a.png").write_bytes(b"default image")
    q2 = {"network": "efficientnet-lite0", "folder": tmp_path, "default_method": "magnitude-constrained",
          "fourier_weight": 20.0, "rho_power": 3.0}
    rows = [{"method": "magnitude-constrained", "class_index": 9, "image_file": "a.png"}]
    methods = {"1/w term": {"fourier_weight": 20.0, "rho_power": 3.0},
               "magnitude-constrained": {"fourier_weight": None}}
    digest = hashlib.sha256(b"default image").hexdigest()
    bench = {"network": "efficientnet-lite0", "methods": methods,
             "images": [{"method": "magnitude-constrained", "class_index": 9, "image_sha256": digest}]}
    monkeypatch.setattr(make_report, "Q2_BUDGET", tmp_path / "q2_budget.json")
    (tmp_path / "q2_budget.json").write_text(json.dumps(bench))
    fair = make_report.equal_work(q2, rows)
    assert fair["matches"] and fair["fourier_settings_match"]
    (tmp_path / "a.png").write_bytes(b"another image")
    assert not make_report.equal_work(q2, rows)["matches"]
    assert not make_report.equal_work({**q2, "rho_power": 2.0}, rows)["fourier_settings_match"]
    assert make_report.equal_work({**q2, "network": "alexnet"}, rows) is None


def test_penalty_verdict_follows_the_counts():
    import make_report
    fair = {"methods": {"1/w term + robustness": {}, "magnitude-constrained": {}},
            "images": [{"method": "1/w term + robustness", "image_sha256": "p", "recognized": True},
                       {"method": "magnitude-constrained", "image_sha256": "d", "recognized": True}]}
    hit, miss = {"top1": True, "top3": True}, {"top1": False, "top3": False}
    assert "named as often" in make_report.penalty_verdict(fair, {"p": hit, "d": hit}, "magnitude-constrained")
    assert "still not named" in make_report.penalty_verdict(fair, {"p": miss, "d": hit}, "magnitude-constrained")
    assert "not been named blind" in make_report.penalty_verdict(fair, {}, "magnitude-constrained")


def test_an_equal_work_run_of_some_methods_keeps_the_others_of_the_same_work():
    merged = load_budget().merged
    before = {"network": "n", "budget_pixels": 1, "methods": {"1/w term": {"old": 1}, "image-norm prior": {}},
              "images": [{"method": "1/w term", "old": 1}, {"method": "image-norm prior"}]}
    new = {"network": "n", "budget_pixels": 1, "methods": {"1/w term": {}}, "images": [{"method": "1/w term"}]}
    both = merged(new, before)
    assert list(both["methods"]) == ["image-norm prior", "1/w term"] and both["methods"]["1/w term"] == {}
    assert both["images"] == [{"method": "image-norm prior"}, {"method": "1/w term"}]
    assert list(merged(new, {**before, "budget_pixels": 2})["methods"]) == ["1/w term"]  # other work: not kept


def test_the_equal_work_penalty_figure_is_drawn_only_from_the_files_measured(tmp_path, monkeypatch):
    import hashlib
    import types
    from PIL import Image
    budget = load_budget()
    monkeypatch.setattr(budget, "HERE", tmp_path / "bench")
    (tmp_path / "bench").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for c in (9, 130, 1, 323):
        path = tmp_path / f"img_{c}.png"
        Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
        rows.append({"method": budget.PENALTY, "class_index": c, "class_name": f"class {c}",
                     "image_file": path.name, "image_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                     "judge_top1": "kite", "judge_top1_prob": 0.5, "judge_prob_of_class": 0.1, "recognized": False})
    record = {"methods": {budget.PENALTY: {"steps": 167}}, "images": rows}
    net = types.SimpleNamespace(name="efficientnet-lite0", classes={c: f"class {c}" for c in (9, 130, 1, 323)})
    drawn = budget.penalty_figure(net, record)
    assert drawn["image_sha256"] == [r["image_sha256"] for r in rows]
    assert (tmp_path / drawn["file"]).is_file()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / rows[2]["image_file"])  # not the file measured
    assert budget.penalty_figure(net, record) is None
