"""TensorFlow and Keras, imported with the C++ runtime's start-up banners silenced.

TensorFlow prints several log lines to stderr when it loads, and no setting turns them all off, so the
project imports it from here only: `from quiet_tensorflow import keras, tf`.
"""
import contextlib
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def _stderr_silenced():
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


with _stderr_silenced():
    import keras
    import tensorflow as tf
    # One op at a time, each with every core: when independent branches of a graph (the network and Q2's
    # spectrum term) run side by side, oneDNN splits its work differently from run to run, and the
    # optimizations amplify those last-bit differences; with this, every run gives the same numbers.
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.constant(0.0) + 1.0  # the first op prints one more banner
