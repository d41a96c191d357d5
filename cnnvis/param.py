"""Image parameterizations: what the optimizer changes, and how that becomes an RGB image.

The optimization loop does not care which one it gets: each gives the variables' starting values, a
function from the variables to rgb [N,S,S,3] in 0..255, and the Adam step size that suits its variables.

- pixels: the variables are the pixels themselves (Simonyan; Yosinski), step size in grey levels.
- decorrelated: pixels in a decorrelated colour space, squashed into 0..255 by a sigmoid. Natural colours
  are strongly correlated; a step along one decorrelated axis changes colours the way photos vary, so the
  result is not a wash of independent red, green and blue noise (lucid's `color_decorrelate`).
- fourier: the image's 2-D spectrum per channel, scaled by 1/w before the inverse FFT (tf.signal), then
  decorrelated colour. Equal steps on every frequency then give a 1/w spectrum: the natural-image law
  is built into the variables instead of penalized (Olah et al. 2017, lucid's `fft_image`).
- magnitude_constrained: the spectrum's magnitude is fixed to a natural-image magnitude A (the 1/w law, or
  the mean magnitude of photos) and only its phase is optimized (Fel et al. 2023, MaCo). The law is then a
  hard constraint: the optimizer can only choose *where* things are, never how much energy each frequency
  gets, so it cannot pile up the fine texture that one network responds to and a person does not see.
"""
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from cnnvis.errors import UserError
from cnnvis.quiet_tensorflow import tf

GREY = 127.5
# Square root of ImageNet's colour covariance (its SVD's U·sqrt(S), rows R, G, B), as in lucid; columns scaled
# so the largest has norm 1.
COLOUR_SQRT = np.array([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], np.float32)
COLOUR_SQRT /= np.linalg.norm(COLOUR_SQRT, axis=0).max()


@dataclass(frozen=True)
class Parameterization:
    """init: the variables' starting values (numpy); to_rgb: variables -> rgb [N,S,S,3] in 0..255;
    lr: the Adam step size suited to these variables; pixels: True when the variables are the rgb itself
    (only then do the Yosinski post-step operations apply)."""
    init: np.ndarray
    to_rgb: Callable
    lr: float
    pixels: bool = False


def decorrelated_to_rgb(t):
    """[..., 3] in the decorrelated colour space (unbounded) -> rgb in 0..255."""
    return 255.0 * tf.sigmoid(tf.tensordot(t, tf.constant(COLOUR_SQRT.T), axes=1))


def rgb_to_decorrelated(rgb):
    """The inverse of decorrelated_to_rgb, for rgb strictly inside (0, 255)."""
    p = np.asarray(rgb, np.float64) / 255.0
    return (np.log(p / (1 - p)) @ np.linalg.inv(COLOUR_SQRT.T.astype(np.float64))).astype(np.float32)


def pixels(rgb_init, lr=4.0):
    """The pixels are the variables: rgb_init [N,S,S,3] in 0..255."""
    return Parameterization(np.asarray(rgb_init, np.float32), tf.identity, lr, pixels=True)


def decorrelated(n, size, rng, sd=0.3, lr=0.06):
    """Decorrelated-colour pixels starting as grey noise of about ±20 grey levels. The default step, 0.06, is
    about 4 grey levels at mid-grey, like the pixel parameterization's. (A nearly flat start would hand a
    log-spectrum prior such as Q2's 1/w term gradients of 1/|F|, so it would draw large blobs before the
    class can form.)"""
    return Parameterization(rng.normal(0, sd, (n, size, size, 3)).astype(np.float32), decorrelated_to_rgb, lr)


def spectrum_scale(size, decay=1.0):
    """1/w^decay for the rfft2 bins of a size×size image (w in cycles per pixel, the mean bin as the lowest
    frequency), times size so that a unit spectrum gives unit-scale pixels."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    w = np.maximum(np.hypot(fy, fx), 1.0 / size)
    return (size / w ** decay).astype(np.float32)


def fourier(n, size, rng, sd=0.01, lr=0.05, decay=1.0):
    """Fourier-preconditioned, decorrelated-colour image: variables [N,3,S,S//2+1,2] (real, imaginary)."""
    scale = tf.constant(spectrum_scale(size, decay))

    def to_rgb(spectrum):
        coefficients = tf.complex(spectrum[..., 0] * scale, spectrum[..., 1] * scale)
        image = tf.signal.irfft2d(coefficients, fft_length=[size, size]) / 4.0  # [N,3,S,S]
        return decorrelated_to_rgb(tf.transpose(image, [0, 2, 3, 1]))

    init = rng.normal(0, sd, (n, 3, size, size // 2 + 1, 2)).astype(np.float32)
    return Parameterization(init, to_rgb, lr)



# ---------------------------------------------------------------------------------------------
# Magnitude-constrained (phase-only) images, and the two natural magnitudes they are given
# ---------------------------------------------------------------------------------------------
PHOTOS = Path(__file__).resolve().parent.parent / "images"  # the project's own photos (images/SOURCES.txt)
PHOTO_SIDE = 256  # photo spectra are measured on squares of this side (every bundled photo is larger)


def frequency(size):
    """|w| in cycles per image for the rfft2 bins [size, size//2+1] of a size×size image."""
    return np.hypot(np.fft.fftfreq(size)[:, None] * size, np.fft.rfftfreq(size)[None, :] * size)


def default_photos():
    """The photos listed in images/SOURCES.txt (free licences, provenance recorded), in name order: not every
    file in images/, so a photo a user puts there for Q3 or Q4 does not change Q2's magnitudes."""
    return tuple(sorted(listed_photos()))


def listed_photos(folder=None):
    """The photos that <folder>/SOURCES.txt (default: images/) lists, one "file name<TAB>where it came from" a
    line, in its order. A missing file, a line without the tab, a name that is not a plain file name in the
    folder (a path, an absolute path) or a photo listed twice is refused in one sentence naming the line: Q1, Q2,
    the report and the ZIP read this list, so it is checked before they compute or write anything."""
    folder = PHOTOS if folder is None else Path(folder)
    sources = folder / "SOURCES.txt"
    form = "one photo a line: its file name in images/, a tab, then where it came from"
    try:
        lines = sources.read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise UserError(f"{sources} is missing; it lists the photos the questions measure and the ZIP carries, "
                        f"{form} (git checkout -- images/SOURCES.txt restores it).") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"{sources} cannot be read ({getattr(e, 'strerror', None) or e}); it must be UTF-8 text, "
                        f"{form}.") from None
    photos = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        name, tab, source = line.partition("\t")
        where = f"{sources} line {number} ({line[:40]!r}{'…' if len(line) > 40 else ''})"
        if not tab or not name.strip() or not source.strip():
            raise UserError(f"{where} is not a file name and its source separated by a tab; give {form}.")
        if name != Path(name).name or name.startswith(".") or name != name.strip():
            raise UserError(f"{where} names {name!r}, which is not a plain file name in {folder} (no folder, no "
                            f"absolute path, not hidden); give {form}.")
        if not (folder / name).is_file():
            raise UserError(f"{where} names {name}, which is not a file in {folder}; put the photo there or remove "
                            f"the line.")
        if folder / name in photos:
            raise UserError(f"{where} lists {name} a second time; list each photo once.")
        photos.append(folder / name)
    if not photos:
        raise UserError(f"{sources} lists no photos; give {form}.")
    return photos


@functools.lru_cache(maxsize=4)
def decorrelated_photos(photos, side=PHOTO_SIDE):
    """The photos' square views (photo_squares) in the decorrelated colour space, mean removed per view:
    [P,side,side,3] float. Through the sigmoid's first-order inverse, t = 4·(rgb/255 - ½)·C⁻ᵀ, not its exact
    logit, which stretches nearly black and white pixels without bound and would make every photo look like
    high-contrast noise; an image with these statistics has the photos' contrast and colours."""
    rgb = photo_squares(photos, side).astype(np.float64)
    t = 4 * (rgb / 255 - 0.5) @ np.linalg.inv(COLOUR_SQRT.T.astype(np.float64))
    return t - t.mean(axis=(1, 2), keepdims=True)


def photo_squares(photos, side=PHOTO_SIDE):
    """Square views of each photo (the start, centre and end of its long side, and their mirror images),
    resized to side×side: [P,side,side,3] uint8. Several views per photo average out one photo's layout."""
    views = []
    for path in photos:
        with Image.open(path) as img:
            img = img.convert("RGB")
        width, height = img.size
        short = min(width, height)
        for offset in (0, (max(width, height) - short) // 2, max(width, height) - short):
            box = (offset, 0, offset + short, short) if width >= height else (0, offset, short, offset + short)
            square = img.crop(box).resize((side, side), Image.Resampling.LANCZOS)
            views += [np.asarray(square), np.asarray(square)[:, ::-1]]
    return np.stack(views)


def photo_magnitude(size, photos=None):
    """The mean rfft2 magnitude of natural photos in the decorrelated colour space: [3, size, size//2+1].

    Measured on PHOTO_SIDE squares of the photos (default: every JPEG in images/) and read off at the same
    frequency in cycles per pixel for a size×size image (a photo's spectrum keeps its shape when the scale
    changes: the 1/w law is scale-invariant); the DC bin is zero. Its level is set by `natural_level`."""
    photos = default_photos() if photos is None else tuple(photos)
    # A Hann window first: a photo is not periodic, and the jump between its opposite borders would add a
    # bright cross along the frequency axes that the photo does not have (and the images would get stripes).
    hann = np.hanning(PHOTO_SIDE)
    windowed = decorrelated_photos(photos) * (hann[:, None] * hann[None, :])[None, :, :, None]
    full = np.abs(np.fft.fft2(windowed, axes=(1, 2))).mean(axis=0)  # [side, side, 3]
    if size != PHOTO_SIDE:  # resample in cycles per pixel, on the centred grid so negative frequencies stay put
        centred = np.fft.fftshift(full, axes=(0, 1))
        full = np.fft.ifftshift(tf.image.resize(centred, (size, size), "bilinear").numpy(), axes=(0, 1))
    magnitude = np.moveaxis(full[:, : size // 2 + 1], -1, 0).astype(np.float64)
    magnitude[:, 0, 0] = 0.0
    return natural_level(magnitude, size, photos)


def one_over_w_magnitude(size, photos=None):
    """The 1/w law itself: A_c(w) = a_c / w for each decorrelated channel c, [3, size, size//2+1], with the
    level a_c of natural photos (`natural_level`); the DC bin is zero."""
    w = frequency(size)
    magnitude = np.where(w > 0, 1.0 / np.maximum(w, 1.0), 0.0)[None].repeat(3, axis=0)
    return natural_level(magnitude, size, default_photos() if photos is None else tuple(photos))


def natural_level(magnitude, size, photos):
    """Scale each channel of an rfft2 magnitude [3, size, size//2+1] so that an image with it has the same
    standard deviation per decorrelated channel as the photos (Parseval), whatever the phase."""
    target = decorrelated_photos(photos).std(axis=(0, 1, 2))  # [3]
    # Parseval over the full spectrum: the rfft half counts twice except the columns that are their own mirror.
    weight = np.full(magnitude.shape[-1], 2.0)
    weight[0] = 1.0
    if size % 2 == 0:
        weight[-1] = 1.0
    std = np.sqrt((weight * magnitude ** 2).sum(axis=(1, 2))) / size ** 2
    return (magnitude * (target / np.maximum(std, 1e-12))[:, None, None]).astype(np.float32)


def self_mirrored_columns(size):
    """The rfft2 columns that mirror onto themselves, F(-ky, kx) = conj F(ky, kx): kx = 0 and, for even S, S/2."""
    return [0, size // 2] if size % 2 == 0 else [0]


def real_image_magnitude(magnitude):
    """A magnitude [..., S, S//2+1] that a real image can have: on the self-mirrored columns |F(-ky)| = |F(ky)|,
    so those columns are averaged with their mirror (a photo's measured spectrum has this already; a resampled
    one only nearly)."""
    magnitude = np.array(magnitude, np.float32)
    for column in self_mirrored_columns(magnitude.shape[-2]):
        values = magnitude[..., column]
        magnitude[..., column] = (values + np.roll(values[..., ::-1], 1, axis=-1)) / 2
    return magnitude


def real_image_phase(phase):
    """Phase [..., S, S//2+1] made consistent with a real image. irfft2d treats the columns kx = 0 and (S
    even) kx = S/2 as their own mirror images, F(-ky) = conj F(ky); keeping only the odd part of the phase
    there, (φ(ky) - φ(-ky))/2, makes the image's rfft2 exactly A·e^{iφ}. Otherwise irfft2d would average
    each such bin with its mirror, and the magnitude there would fall below A."""
    size = phase.shape[-2]

    def odd(column):
        mirrored = tf.roll(tf.reverse(column, axis=[-1]), 1, axis=-1)  # column[-ky mod S]
        return (column - mirrored) / 2

    columns = [odd(phase[..., 0])[..., None], phase[..., 1:size // 2 + size % 2]]  # the others as they are
    if size % 2 == 0:
        columns.append(odd(phase[..., size // 2])[..., None])
    return tf.concat(columns, axis=-1)


def magnitude_constrained(n, magnitude, rng, lr=0.5):
    """Phase-only image: variables φ [N,3,S,S//2+1] (random start, uniform), the image is the inverse real
    FFT of magnitude·e^{iφ} per decorrelated channel, then decorrelated_to_rgb. `magnitude` [3,S,S//2+1]
    (e.g. one_over_w_magnitude or photo_magnitude) never changes; lr is Adam's step in radians."""
    magnitude = tf.constant(real_image_magnitude(magnitude))
    size = int(magnitude.shape[1])

    def to_rgb(phase):
        phase = real_image_phase(phase)
        spectrum = tf.complex(magnitude * tf.cos(phase), magnitude * tf.sin(phase))
        image = tf.signal.irfft2d(spectrum, fft_length=[size, size])  # [N,3,S,S]
        return decorrelated_to_rgb(tf.transpose(image, [0, 2, 3, 1]))

    init = rng.uniform(-np.pi, np.pi, (n, 3, size, size // 2 + 1)).astype(np.float32)
    return Parameterization(init, to_rgb, lr)
