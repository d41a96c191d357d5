"""The 1/w law of natural images: the penalty (TensorFlow), the spectrum as measured (NumPy), and Q2's methods.

Shared by q2_fourier.py (the experiment) and bench/ (the equal-compute comparison and the timing), so that both
run exactly the same methods. The network work of a class image is counted as steps × views × pixels of each
view the network scores (`work`): the numbers compared at equal compute.
"""
from dataclasses import replace

import numpy as np
from PIL import Image

from cnnvis.optimize import Crops, Method, Regularizers
from cnnvis.quiet_tensorflow import tf

# The report's ten classes, of different kinds: birds, a fish, an insect, food, fruit, a landscape, a vehicle, a
# building, a flower.
CLASSES = ("ostrich", "flamingo", "goldfish", "monarch", "pizza", "strawberry", "volcano", "school bus", "beacon",
           "daisy")
# β and ρ(w) ∝ w^-RHO_POWER of the 1/w penalty: chosen by a sweep at the default's work on four classes that are
# not the report's (bench/q2_budget.py --part sweep; bench/q2_sweep.json): on the law (mean slope within 0.2 of
# -1), the highest mean class logit with transformations (README "Q2 at equal compute").
FOURIER_WEIGHT = 20.0
RHO_POWER = 2.0
FOURIER_SIZE = 64  # side of the reduced copy the term sees and the slope is measured on
STEPS = 64  # the default method's steps; every other method's are counted against its work (`work`)
ROBUST_SHARE, PIXEL_SHARE = 0.5, 0.25  # the main command's shares (its time budget); bench/q2_budget.py gives all 1x
CROPS = Crops()  # cnnvis.optimize.Crops: its defaults are the report's settings
DEFAULT = "magnitude-constrained"  # the default answer: the photos' mean spectrum, fixed
LAW = "magnitude-constrained, 1/w law"  # the other source of the magnitude
COMPARED = 5  # LAW runs on the first COMPARED classes (the two sources compared; the main command's time budget)


def radial_frequency(size):
    """|w| in cycles per image for each bin of a size×size FFT."""
    f = np.fft.fftfreq(size) * size
    return np.hypot(*np.meshgrid(f, f, indexing="ij"))


def frequency_weights(size, power):
    """ρ(w) ∝ w^-power over the non-zero frequencies of a size×size FFT, summing to 1 (the mean carries none).
    power: a number, or one per image (then [N,1,size,size], one image's weights each)."""
    w = radial_frequency(size)
    w[0, 0] = 1.0
    powers = np.atleast_1d(np.asarray(power, np.float64))
    rho = np.where(radial_frequency(size) > 0, w[None] ** -powers[:, None, None], 0.0)
    rho /= rho.sum(axis=(1, 2), keepdims=True)
    return rho[0] if np.ndim(power) == 0 else rho[:, None]


def fourier_prior(weight=FOURIER_WEIGHT, size=FOURIER_SIZE, power=RHO_POWER):
    """rgb [N,S,S,3] (0..255) -> [N]: β · Σ_w ρ(w) · (log|F(w)| + log w - c)², each colour channel of a
    size×size copy of the image, c the ρ-weighted mean of log|F(w)| + log w (the level is free, the slope is not).
    weight (β) and power (ρ ∝ w^-power) may each be one number or one per image (a sweep in one batch)."""
    w = radial_frequency(size)
    w[0, 0] = 1.0
    rho = tf.constant(frequency_weights(size, power), tf.float32)
    beta = tf.constant(np.asarray(weight, np.float32))
    log_w = tf.constant(np.log(w), tf.float32)

    def prior(rgb):
        # Box-averaged like the measurement (radial_spectrum), so the term sees the detail that is measured.
        small = tf.nn.avg_pool2d(tf.image.resize(rgb, (4 * size, 4 * size), method="bilinear"), 4, 4, "VALID")
        small -= tf.reduce_mean(small, axis=[1, 2], keepdims=True)
        channels = tf.transpose(small, [0, 3, 1, 2])  # fft2d transforms the last two axes: each channel alone
        magnitude = tf.abs(tf.signal.fft2d(tf.complex(channels, tf.zeros_like(channels))))
        deviation = tf.math.log(magnitude + 1e-3) + log_w
        level = tf.reduce_sum(rho * deviation, axis=[2, 3], keepdims=True)
        return beta * tf.reduce_mean(tf.reduce_sum(rho * tf.square(deviation - level), axis=[2, 3]), axis=1)

    return prior


def radial_spectrum(rgb_uint8, size=FOURIER_SIZE):
    """Radially averaged Fourier magnitude of the box-downsampled, mean-removed image, for radii 2..size/2-1.
    Returns (radii, magnitude), both 1-D numpy arrays."""
    small = np.asarray(Image.fromarray(np.asarray(rgb_uint8, np.uint8)).resize((size, size), Image.Resampling.BOX),
                       np.float64)
    small -= small.mean(axis=(0, 1))
    magnitude = np.abs(np.fft.fft2(small, axes=(0, 1))).mean(axis=2)
    ring = np.rint(radial_frequency(size)).astype(int)
    radii = np.arange(2, size // 2)
    return radii, np.array([magnitude[ring == r].mean() for r in radii])


def spectral_slope(rgb_uint8, size=FOURIER_SIZE):
    """Slope of the log-log fit of radial_spectrum: about -1 for natural photos, 0 for white noise."""
    radii, magnitude = radial_spectrum(rgb_uint8, size)
    return float(np.polyfit(np.log(radii), np.log(magnitude), 1)[0])


def methods(weight=FOURIER_WEIGHT, power=RHO_POWER, size=FOURIER_SIZE, l2=1.0, crops=CROPS):
    """Q2's methods, name -> (Method, prior). The image-norm prior alone (Simonyan); the 1/w term alone; the
    1/w term with lucid's random transformations and decorrelated colour; the 1/w law built into a Fourier
    parameterization's step sizes (lucid); and the default: the magnitude held fixed to the photos' mean
    spectrum, only the phase optimized, over random crops of a larger canvas (MaCo); LAW, the same with the
    1/w law itself as the magnitude."""
    prior = fourier_prior(weight, size, power)
    pixels, free = Regularizers(l2=l2), Regularizers(l2=0.0)
    return {"image-norm prior": (Method("pixels", pixels, share=PIXEL_SHARE), None),
            "1/w term": (Method("pixels", pixels, share=PIXEL_SHARE), prior),
            "1/w term + robustness": (Method("decorrelated", free, robust=True, share=ROBUST_SHARE), prior),
            "Fourier parameterization": (Method("fourier", free, robust=True, share=ROBUST_SHARE), None),
            DEFAULT: (Method("magnitude", free, magnitude="photos", crops=crops), None),
            LAW: (Method("magnitude", free, magnitude="1/w", crops=crops), None)}


def view_side(method, net):
    """The side of each view the network scores at a step: a crop's side, or the network's input."""
    return method.crops.side(net, method.crops.resolution) if method.crops else net.input_size


def work(method, net, steps):
    """Network work per class image of a run of `steps` (the method takes its share): steps × views × pixels."""
    return method.steps(steps) * method.views() * view_side(method, net) ** 2


def at_work(method, net, pixels):
    """The method with all the steps of its own run (share 1) that come closest to `pixels` of work, and
    those steps."""
    steps = max(1, round(pixels / (method.views() * view_side(method, net) ** 2)))
    return replace(method, share=1.0), steps
