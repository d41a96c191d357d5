"""Write the bundled photos into images/ as JPEG, with their provenance (run once; the result is committed).

Sources are packages from PyPI: scikit-image's sample data and matplotlib's sample data.
    pip install scikit-image matplotlib && python tools/make_images.py
"""
import shutil
from pathlib import Path

import matplotlib.cbook
import skimage
import skimage.data
from PIL import Image

IMAGES = Path(__file__).resolve().parent.parent / "images"
SKIMAGE = {  # name -> licence, from the docstrings of skimage.data
    "chelsea": "CC0, photographer Stefan van der Walt",
    "coffee": "CC0, photographer Rachel Michetti",
    "astronaut": "public domain, NASA (Eileen Collins)",
    "rocket": "public domain, released by SpaceX",
}


def main():
    IMAGES.mkdir(exist_ok=True)
    lines = []
    for name, licence in SKIMAGE.items():
        Image.fromarray(getattr(skimage.data, name)()).save(IMAGES / f"{name}.jpg", quality=95)
        lines.append(f"{name}.jpg\tscikit-image {skimage.__version__}, skimage.data.{name}(); {licence}")
    source = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    shutil.copyfile(source, IMAGES / "grace_hopper.jpg")  # already a JPEG: copied byte for byte
    lines.append(f"grace_hopper.jpg\tmatplotlib {matplotlib.__version__}, sample_data/grace_hopper.jpg; "
                 "public domain, U.S. Navy photograph")
    (IMAGES / "SOURCES.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
