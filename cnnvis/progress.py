"""Progress bars (tqdm) that also end their loop when the run was interrupted, even if Python lost the signal.

Python raises KeyboardInterrupt wherever the main thread happens to be. When that is inside a `__del__` method
(TensorFlow frees objects at every step), the exception is printed as "ignored" and the run carries on. So the
signal handlers (cnnvis.interrupts) also record the signal, and every progress bar raises it again at its next
step: an interrupted run always stops and cleans up.
"""
from tqdm import tqdm

from cnnvis.interrupts import check


class ProgressBar(tqdm):
    """tqdm, checking for a pending interrupt at every step."""

    def update(self, n=1):
        check()
        return super().update(n)

    def __iter__(self):
        for item in super().__iter__():
            check()
            yield item
