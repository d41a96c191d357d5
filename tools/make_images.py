"""Write the bundled photos into images/ as JPEG, with their provenance (run once; the result is committed).

Sources are packages from the registries: scikit-image's and matplotlib's sample data (PyPI), and the sample
photos of Debian's opencv-doc package (Q4's default photos: subjects the bundled network is sure of, each
cropped to a square around its subject, the crop written in SOURCES.txt).
    pip install scikit-image matplotlib
    apt-get download opencv-doc
    python tools/make_images.py --opencv-doc opencv-doc_*.deb
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.cbook
import skimage
import skimage.data
from PIL import Image

IMAGES = Path(__file__).resolve().parent.parent / "images"
SKIMAGE = {  # name -> licence, from the docstrings of skimage.data
    "chelsea": "CC0, photographer Stefan van der Walt",
    "coffee": "CC0, photographer Rachel Michetti",
}
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"
OPENCV = {  # bundled name -> (file in opencv-doc's sample data, square crop: left, top, side in pixels)
    "squirrel.jpg": ("squirrel_cls.jpg", (86, 100, 276)),
    "orange.jpg": ("fruits.jpg", (0, 40, 360)),
    "soccer_ball.jpg": ("messi5.jpg", (120, 40, 300)),
}

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project root: its version
from cnnvis import __version__  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--opencv-doc", type=Path, required=True, help="the opencv-doc .deb file")
    args = p.parse_args()
    IMAGES.mkdir(exist_ok=True)
    lines = []
    for name, licence in SKIMAGE.items():
        Image.fromarray(getattr(skimage.data, name)()).save(IMAGES / f"{name}.jpg", quality=95)
        lines.append(f"{name}.jpg\tscikit-image {skimage.__version__}, skimage.data.{name}(); {licence}")
    source = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    shutil.copyfile(source, IMAGES / "grace_hopper.jpg")  # already a JPEG: copied byte for byte
    lines.append(f"grace_hopper.jpg\tmatplotlib {matplotlib.__version__}, sample_data/grace_hopper.jpg; "
                 "public domain, U.S. Navy photograph")
    version = subprocess.run(["dpkg-deb", "-f", args.opencv_doc, "Version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    for name, (file, (left, top, side)) in OPENCV.items():
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run(["dpkg-deb", "-x", args.opencv_doc, folder], check=True)
            with Image.open(Path(folder) / OPENCV_DATA / file) as photo:
                photo.convert("RGB").crop((left, top, left + side, top + side)).save(IMAGES / name, quality=95)
        lines.append(f"{name}\tDebian package opencv-doc {version}, /{OPENCV_DATA}/{file}, square crop left {left} "
                     f"top {top} side {side}; OpenCV sample data, Apache-2.0 AND BSD-3-Clause "
                     f"(/usr/share/doc/opencv-doc/copyright)")
    (IMAGES / "SOURCES.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
