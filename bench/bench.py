"""Benchmark: our Q1–Q4 against the tools a user would otherwise pick and against what the hardware
allows, on one network with the same inputs and settings; then AlexNet's forward and gradient rates and its
main command, with synthetic weights made on the fly. Not part of the tests (timings are noisy).

    pip install -r bench/requirements.txt
    python bench/bench.py [--net efficientnet-lite0] [--json bench.json] [--skip-main]

Prints a table; --json also writes the numbers (ratios > 1 mean we are faster).
"""
import argparse
import hashlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root, wherever this is run from
import alexnet  # noqa: E402
from cnnvis import __version__, fooling, param, spectrum  # noqa: E402  (spectrum: Q2's methods, timed as Q2 runs them)
from cnnvis.files import read_json, write_json  # noqa: E402
from cnnvis.imaging import read_image  # noqa: E402
from cnnvis.optimize import Neuron, Regularizers, optimize, neuron_values, visualize  # noqa: E402
from cnnvis.faithfulness import compare_maps, occlusion_saliency  # noqa: E402
from cnnvis.incremental import IncrementalOcclusion  # noqa: E402
from cnnvis.occlusion import DEFAULT_IMAGES, occlusion_map  # noqa: E402
from cnnvis.quiet_tensorflow import keras, tf  # noqa: E402


def best_of(fn, repeats=3):
    """Fastest of `repeats` timed calls after one warm-up call (compilation excluded)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def marginal(run, steps):
    """Seconds per step of run(steps), from the best of two timings at `steps` and at 2·steps."""
    short = best_of(lambda: run(steps), repeats=2)
    long = best_of(lambda: run(2 * steps), repeats=2)
    return (long - short) / steps


def bench_occlusion(net, x, class_index, patch, batch, prefix="occlusion"):
    """Occlusion maps with non-overlapping patches (tf-explain's only mode), same images, patch and batch: our
    incremental map (cnnvis.incremental), our plain batched map, tf-explain's OcclusionSensitivity, and one
    forward pass per position."""
    from tf_explain.core.occlusion_sensitivity import OcclusionSensitivity
    prob_model = keras.Model(net.model.input, net.model.output["prob"])

    def prob_fn(images):
        return net.activations(images, ["prob"])["prob"]

    n = (net.input_size - patch) // patch + 1
    evaluations = n * n
    incremental = IncrementalOcclusion(net.model)
    ours = best_of(lambda: incremental.map(x, class_index, patch, patch, np.zeros(3), batch, progress=False))
    plain = best_of(lambda: occlusion_map(prob_fn, x, class_index, patch, patch, np.zeros(3), batch, progress=False))
    # tf-explain fills with grey 127.5 in the array it is given; the cost does not depend on the value
    explainer = OcclusionSensitivity(batch_size=batch)
    theirs = best_of(lambda: explainer.get_sensitivity_map(prob_model, x, class_index, patch))

    single = tf.function(prob_fn)

    def naive_map():  # one occluded copy and one forward pass per position
        for i in range(n):
            for j in range(n):
                occluded = x.copy()
                occluded[i * patch:(i + 1) * patch, j * patch:(j + 1) * patch] = 0
                single(occluded[None]).numpy()[0, class_index]

    naive = best_of(naive_map, repeats=1)
    full_batch = tf.constant(np.repeat(x[None], batch, axis=0))
    forward = tf.function(prob_fn)
    limit_rate = batch / best_of(lambda: forward(full_batch).numpy())
    return {f"{prefix}_evaluations": evaluations, f"{prefix}_seconds": ours, f"{prefix}_plain_seconds": plain,
            f"{prefix}_tf_explain_seconds": theirs, f"{prefix}_naive_seconds": naive,
            f"{prefix}_speedup_vs_tf_explain": theirs / ours, f"{prefix}_plain_speedup_vs_tf_explain": theirs / plain,
            f"{prefix}_speedup_vs_plain": plain / ours, f"{prefix}_speedup_vs_naive": naive / ours,
            f"{prefix}_rate_over_forward_rate": (evaluations / ours) / limit_rate}


def bench_visualization(net, steps, batch, compare=True):
    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.activation_maximization.regularizers import Norm
    from tf_keras_vis.utils.scores import CategoricalScore
    classes = list(range(1, batch + 1))
    neurons = [Neuron(net.logits_layer, c) for c in classes]
    seed = 127.5 + np.random.default_rng(0).normal(0, 8, (batch, net.input_size, net.input_size, 3))

    def ours(steps):
        optimize(net, param.pixels(seed), lambda x: -neuron_values(net, x, neurons), Regularizers(l2=1.0),
                 steps=steps, desc="bench")

    logits_model = keras.Model(net.model.input, net.model.output[net.logits_layer])
    visualizer = ActivationMaximization(logits_model, clone=False)

    def theirs(steps):
        visualizer(CategoricalScore(classes), seed_input=net.rgb_to_x(seed.astype(np.float32)).numpy(),
                   steps=steps, input_modifiers=[], regularizers=[Norm(weight=1.0)],
                   optimizer=keras.optimizers.Adam(4.0), input_range=(None, None))

    x = tf.Variable(net.rgb_to_x(seed.astype(np.float32)))

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            score = tf.reduce_sum(neuron_values(net, x, neurons))
        return tape.gradient(score, x)

    # Per-step cost, without the one-off tracing each call pays: time(2N steps) - time(N steps).
    ours_s = marginal(ours, steps)
    limit_s = best_of(lambda: forward_backward().numpy())
    results = {"visualization_steps": steps, "visualization_batch": batch, "visualization_step_seconds": ours_s,
               "visualization_fraction_of_fwd_bwd_limit": limit_s / ours_s}
    if compare:
        theirs_s = marginal(theirs, steps)
        results.update({"tf_keras_vis_step_seconds": theirs_s, "visualization_speedup_vs_tf_keras_vis": theirs_s / ours_s})
    return results


# Held-out cases for the fooling comparison (not the report's): one photo the network is sure of, one it is not.
HELD_OUT_CASES = ((fooling.IMAGES / "squirrel.jpg", "ostrich"), (fooling.IMAGES / "grace_hopper.jpg", "fire engine"))
# The reference runs, in the order they are made (each run whole: the attacks' step sizes follow the step count);
# the cheaper ones first, so that a run cut short still compares every photo.
REFERENCE_RUNS = (("linf", "fmn", 100), ("l2", "fmn", 100), ("l2", "ddn", 100), ("l2", "fmn", 300),
                  ("l2", "ddn", 300), ("linf", "fmn", 300), ("check", "ours", 0), ("l2", "fmn", 1000),
                  ("l2", "ddn", 1000), ("linf", "fmn", 1000))


def reference_attack(net, originals, targets, attack, min_prob=0.98):
    """A foolbox minimization attack, targeted, on a batch of photos (N×S×S×3 uint8) until each 8-bit image has
    p(target) > min_prob. These attacks stop at their model's decision boundary, so they are handed a model whose
    top class is the target exactly when log(p_t / (1 − p_t)) > log(min_prob / (1 − min_prob)) + κ: the target's
    logit log p_t − log min_prob − κ, every other class's log(1 − p_t) − log(1 − min_prob). κ, a margin in
    log-odds, starts at 0.5 and doubles for the photos whose rounded image is not yet fooled (rounding to 8 bits
    moves a boundary point off the boundary). -> (images N×S×S×3 uint8, gradient evaluations per photo, κ per
    photo)."""
    import foolbox
    images, kappas = np.zeros_like(originals), np.zeros(len(originals))
    todo, kappa, runs = np.arange(len(originals)), 0.5, np.zeros(len(originals), int)
    threshold = np.log(min_prob / (1 - min_prob))
    while len(todo) and kappa <= 16:
        mask = tf.one_hot(targets[todo], 1000, dtype=tf.float32)

        def logits(u, mask=mask, kappa=kappa):
            z = net.logits(net.rgb_to_x(255.0 * u))
            log_all = tf.reduce_logsumexp(z, axis=1, keepdims=True)
            log_p = tf.reduce_sum(z * mask, axis=1, keepdims=True) - log_all
            log_rest = tf.reduce_logsumexp(z - 1e9 * mask, axis=1, keepdims=True) - log_all
            return mask * (log_p - threshold - kappa) + (1 - mask) * log_rest

        model = foolbox.TensorFlowModel(tf.function(logits), (0, 1))
        # int64 labels: foolbox compares them with argmax's int64; mixed types hit a NumPy-2 bug in eagerpy 0.30
        criterion = foolbox.criteria.TargetedMisclassification(tf.constant(targets[todo], tf.int64))
        x = tf.constant(originals[todo].astype(np.float32) / 255.0)  # the attacks' step sizes assume [0, 1]
        _, clipped, _ = attack(model, x, criterion, epsilons=None)
        runs[todo] += 1
        rounded = np.clip(np.round(255.0 * clipped.numpy()), 0, 255).astype(np.uint8)
        left = []
        for i, image in zip(todo, rounded):
            if fooling.fooled(fooling.probabilities(net, image), targets[i], min_prob):
                images[i], kappas[i] = image, kappa
            else:
                left.append(i)
        todo, kappa = np.array(left, int), 2 * kappa
    if len(todo):
        raise RuntimeError(f"{attack!r} did not reach p > {min_prob} with κ up to 16 on photos {list(todo)}")
    return images, runs * attack.steps, kappas


def judged(net, original, fooled, target, folder):
    """The change and p(target) of a fooled image as a lossless 8-bit file re-read from disk."""
    path = Path(folder) / "fooled.png"
    Image.fromarray(fooled).save(path)
    reread = read_image(path)
    return {**fooling.change_metrics(original, reread),
            "p_target": float(fooling.probabilities(net, reread)[target])}


def sha256_of(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def bench_fooling(net, cases=fooling.DEFAULT_CASES + HELD_OUT_CASES, min_prob=0.98, save=lambda results: None,
                  runs=REFERENCE_RUNS):
    """Q3 as shipped (L∞ and L2) beside references run until their norm stops falling: foolbox's fast minimum-norm
    attack (FMN, Pintor et al. 2021) in each norm and foolbox's decoupled direction and norm (DDN, Rony et al.
    2019) in L2, each at 100, 300 and 1000 steps (REFERENCE_RUNS); same photos and targets, every image judged as
    a lossless 8-bit file re-read from disk. Ours in L∞ is checked once more: its ε−1 searched with 3× the starts
    and 3× the steps. save(results) is called after each part, so a run cut short keeps what it measured; `runs`
    picks some of REFERENCE_RUNS (ours is always measured).
    Keys: fooling_<photo>_<norm>_<who>_<metric>, who = ours, fmn<steps>, ddn<steps>; fooling_sha256: the files
    measured."""
    import foolbox
    stems = [Path(image).stem for image, _ in cases]
    targets = np.array([net.classes.find(t) for _, t in cases])
    originals = np.stack([net.resize_to_input(read_image(image)) for image, _ in cases])
    results = {"fooling_cases": [f"{Path(image).name} -> {t}" for image, t in cases],
               "fooling_sha256": {Path(p).relative_to(alexnet.ROOT).as_posix(): sha256_of(p)
                                  for p in [Path(fooling.__file__), *(image for image, _ in cases)]}}
    attacks = {("linf", "fmn"): foolbox.attacks.LInfFMNAttack, ("l2", "fmn"): foolbox.attacks.L2FMNAttack,
               ("l2", "ddn"): foolbox.attacks.DDNAttack}
    with tempfile.TemporaryDirectory() as folder:
        for stem, original, target in zip(stems, originals, targets):
            for norm in ("linf", "l2"):
                start = time.perf_counter()
                fooled, record = fooling.fool(net, original, target, min_prob, norm=norm)
                seconds = time.perf_counter() - start
                key = f"fooling_{stem}_{norm}_ours"
                evaluations = (sum(r["restarts"] * r["steps"] for r in record) if norm == "linf" else record)
                results.update({f"{key}_{k}": v for k, v in {
                    **judged(net, original, fooled, target, folder), "gradient_evaluations": evaluations,
                    "seconds": seconds}.items()})
                if norm == "linf":
                    results[f"{key}_search"] = record
        save(results)
        for norm, who, steps in runs:
            if norm == "check":  # ours' hard search again at ε−1 with 3× the starts and steps: still not fooled?
                for stem, original, target in zip(stems, originals, targets):
                    budget = int(results[f"fooling_{stem}_linf_ours_linf"]) - 1
                    if budget >= 1:
                        _, check, _ = fooling.search_budget(net, original, target, budget, 3 * fooling.RESTARTS,
                                                            3 * fooling.CONFIRM_STEPS, min_prob, seed=99)
                        results[f"fooling_{stem}_linf_ours_below_check"] = check
                save(results)
                continue
            start = time.perf_counter()
            images, evaluations, kappas = reference_attack(net, originals, targets, attacks[norm, who](steps=steps),
                                                           min_prob)
            seconds = (time.perf_counter() - start) / len(cases)  # per photo, the batch shared
            for stem, original, target, image, n, kappa in zip(stems, originals, targets, images, evaluations, kappas):
                key = f"fooling_{stem}_{norm}_{who}{steps}"
                results.update({f"{key}_{k}": v for k, v in {
                    **judged(net, original, image, target, folder), "gradient_evaluations": int(n),
                    "seconds": seconds, "kappa": float(kappa)}.items()})
            print(f"{who} {norm} {steps} steps:", [round(results[f"fooling_{s}_{norm}_{who}{steps}_{norm}"], 1)
                                                   for s in stems], flush=True)
            save(results)
    return results


def bench_faithfulness(net, images, blocks=(32, 64), stride=16):
    """Q4's deletion/insertion comparison on the report's photos, timed: occlusion maps (incremental) for each
    block and their multi-scale mean, Grad-CAM (tf-keras-vis) and a random order; mean areas per map."""
    def prob_fn(batch):
        return net.activations(batch, ["prob"])["prob"]

    occluder, scores = IncrementalOcclusion(net.model), []
    start = time.perf_counter()
    for image in images:
        x = net.preprocess(read_image(image))
        prob = prob_fn(x[None]).numpy()[0]
        index = int(prob.argmax())
        drops = {block: occlusion_saliency(prob[index] - occluder.map(x, index, block, stride, np.zeros(3), 64, False),
                                           block, stride, net.input_size) for block in blocks}
        scores.append(compare_maps(net, prob_fn, x, index, drops, np.zeros(3, np.float32))[0])
    results = {"faithfulness_seconds": time.perf_counter() - start}
    for method in scores[0]:
        for measure in ("deletion", "insertion"):
            key = f"faithfulness_{method.replace(' ', '_').replace('-', '_').lower()}_{measure}"
            results[key] = float(np.mean([s[method][measure] for s in scores]))
    return results


def bench_class_visualization(net, classes=spectrum.CLASSES):
    """Seconds per class image of each Q2 method at the report's settings, for the report's classes: a whole
    run each, tracing included (what a user waits for); and xplique's MaCo at its defaults on the same network
    (one objective a run, 256 steps of 32 crops of a 512-pixel canvas), from the marginal cost of its steps,
    for the same comparison. (Whether a vision-language model names the images blind: bench/blind_naming.json.)"""
    from xplique.features_visualizations import Objective, maco
    indices = [net.classes.find(c) for c in classes]
    seconds = {}
    for name, (method, prior) in spectrum.methods().items():
        mine = indices[:spectrum.COMPARED] if name == spectrum.LAW else indices
        start = time.perf_counter()
        visualize(net, [Neuron(net.logits_layer, c) for c in mine], None, method, spectrum.STEPS, 0, prior)
        seconds[name] = (time.perf_counter() - start) / len(mine)
    # xplique feeds images in (-1, 1) to a model with one output: ours behind that scaling, to the logits.
    v = keras.Input((net.input_size, net.input_size, 3))
    model = keras.Model(v, keras.layers.Lambda(lambda t: net.logits(net.rgb_to_x((t + 1) * 127.5)))(v))
    objective = Objective.neuron(model, -1, indices[0])

    def run(steps):
        maco(objective, nb_steps=steps)

    per_step = marginal(run, 4)
    xplique_seconds = best_of(lambda: run(1), repeats=1) + 255 * per_step
    return {"q2_seconds_per_image": seconds, "xplique_maco_seconds_per_image": xplique_seconds,
            "xplique_maco_step_seconds": per_step,
            "maco_speedup_vs_xplique": xplique_seconds / seconds[spectrum.DEFAULT]}


def bench_main_command(prefix="main_command", extra=()):
    """The README's main command (report stage) from empty results, in a scratch output folder."""
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "make_report.py", "--names", "Bench Mark", "--out", out, *extra], check=True,
                       cwd=alexnet.ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far
    return {f"{prefix}_seconds": seconds, f"{prefix}_peak_rss_gb": peak_kb / 1024 ** 2}


def synthetic_alexnet_file(folder):
    """A bvlc_alexnet.npy of He-scaled random weights, made here and never kept: speed does not depend on the
    values, and the real weights cannot be downloaded on every machine."""
    rng = np.random.default_rng(0)
    layers = {name: [rng.normal(0, np.sqrt(2 / np.prod(kshape[:-1])), kshape).astype(np.float32),
                     np.zeros(bshape, np.float32)] for name, (kshape, bshape) in alexnet.ALEXNET_SHAPES.items()}
    path = Path(folder) / alexnet.BVLC_FILE
    np.save(path, np.array(layers, dtype=object), allow_pickle=True)
    return path


def bench_alexnet(folder, batch=16, skip_main=False):
    """AlexNet's forward and forward+backward (gradient with respect to the input, as every optimization here
    needs) rates, the Q1 step rate, and the main command on AlexNet."""
    weights = synthetic_alexnet_file(folder)
    net = alexnet.load(weights, verbose=False)
    x = tf.Variable(net.rgb_to_x(np.random.default_rng(0).uniform(0, 255, (batch, 227, 227, 3)).astype(np.float32)))
    forward = tf.function(lambda: net.logits(x))

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            score = tf.reduce_sum(net.logits(x)[:, 0])
        return tape.gradient(score, x)

    forward_s = best_of(lambda: forward().numpy())
    fwd_bwd_s = best_of(lambda: forward_backward().numpy())
    results = {"alexnet_forward_images_per_s": batch / forward_s, "alexnet_fwd_bwd_images_per_s": batch / fwd_bwd_s,
               "alexnet_fwd_bwd_over_forward": fwd_bwd_s / forward_s}
    visualization = bench_visualization(net, steps=30, batch=8, compare=False)
    results["alexnet_q1_step_seconds"] = visualization["visualization_step_seconds"]
    results["alexnet_q1_fraction_of_fwd_bwd_limit"] = visualization["visualization_fraction_of_fwd_bwd_limit"]
    photo = net.preprocess(read_image(alexnet.ROOT / "images" / "coffee.jpg"))
    top = int(np.argmax(net.activations(photo[None], ["prob"])["prob"][0]))
    results.update(bench_occlusion(net, photo, top, patch=16, batch=64, prefix="alexnet_occlusion"))
    if not skip_main:
        results.update(bench_main_command("alexnet_main_command", ["--weights", str(weights)]))
    return results


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--net", default="efficientnet-lite0", help="network to measure on")
    p.add_argument("--json", help="also write the numbers to this JSON file")
    p.add_argument("--skip-main", action="store_true", help="skip timing the main command (about 4 minutes, and "
                                                            "about 7 more on AlexNet)")
    p.add_argument("--only", choices=["fooling"], help="run only this part; --json then replaces only its keys")
    p.add_argument("--runs", nargs="+", choices=[f"{n}-{w}-{s}" for n, w, s in REFERENCE_RUNS],
                   help="with --only fooling: only these reference runs (e.g. l2-ddn-1000); the other runs' numbers "
                        "in --json are kept")
    args = p.parse_args()
    net = alexnet.load(args.net)
    if args.only == "fooling":
        kept = {"network": net.name}
        if args.json and Path(args.json).is_file():
            kept = {k: v for k, v in read_json(args.json).items() if args.runs or not k.startswith("fooling_")}
            if kept.get("network") != net.name:
                raise SystemExit(f"{args.json} holds results of {kept.get('network')}, not {net.name}")
        runs = [r for r in REFERENCE_RUNS if not args.runs or "-".join(map(str, r)) in args.runs]
        bench_fooling(net, save=lambda results: args.json and write_json(args.json, {**kept, **results}), runs=runs)
        return 0
    x = net.preprocess(read_image(alexnet.ROOT / "images" / "coffee.jpg"))
    results = {"network": net.name}
    results.update(bench_occlusion(net, x, 967, patch=16, batch=64))
    results.update(bench_visualization(net, steps=30, batch=8))
    results.update(bench_fooling(net))
    results.update(bench_faithfulness(net, DEFAULT_IMAGES))
    results.update(bench_class_visualization(net))
    if not args.skip_main:
        results.update(bench_main_command())
    with tempfile.TemporaryDirectory() as folder:
        results.update(bench_alexnet(folder, skip_main=args.skip_main))
    width = max(map(len, results))
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    if args.json:
        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
