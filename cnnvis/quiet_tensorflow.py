"""TensorFlow and Keras, imported with the C++ runtime's start-up banners silenced.

TensorFlow prints several log lines to stderr when it loads, and no setting turns them all off, so the
project imports it from here only: `from quiet_tensorflow import keras, tf`.
"""
import contextlib
import logging
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


class _TracedOncePerCall(logging.Filter):
    """Drops TensorFlow's "N out of the last M calls ... triggered tf.function retracing" warning, and only it.
    cnnvis.optimize builds one step function per optimization around that optimization's own variables, traced
    once and then called at every step; TensorFlow counts tracings per Python source function across
    all such functions, so a run of several short optimizations (Q2's methods, Q1's variants) looks to it like
    one function retraced, though no function is traced twice."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_TracedOncePerCall())
