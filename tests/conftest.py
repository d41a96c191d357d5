"""Shared fixtures: the project root on sys.path, the bundled network loaded once per test session, synthetic
AlexNet weights (random, made here: the real ones cannot be shipped)."""
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@pytest.fixture(scope="session")
def lite0():
    import alexnet
    return alexnet.load("efficientnet-lite0", verbose=False)


def read_rgb(name):
    return np.asarray(Image.open(ROOT / "images" / name).convert("RGB"))


@pytest.fixture(scope="session")
def synthetic_params():
    """Random AlexNet weights, He-scaled so activations stay in the range where LRN and ReLU both matter."""
    import alexnet
    rng = np.random.default_rng(0)
    params = {}
    for layer, (kshape, bshape) in alexnet.ALEXNET_SHAPES.items():
        fan_in = int(np.prod(kshape[:-1]))
        scale = np.sqrt(2.0 / fan_in) * (0.1 if layer == "fc8" else 1.0)
        params[layer] = (rng.normal(0, scale, kshape).astype(np.float32),
                         rng.normal(0, 0.1, bshape).astype(np.float32))
    return params
