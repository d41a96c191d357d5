"""Shared fixtures: the project root on sys.path, the bundled network loaded once per test session."""
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
