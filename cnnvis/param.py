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
"""
from dataclasses import dataclass
from typing import Callable

import numpy as np

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

