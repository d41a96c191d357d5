"""Ctrl-C and SIGTERM stop a run at any moment: during the imports, inside a computation, while the PDF is built.

Every script imports this module before anything else, so the handlers are in place before TensorFlow and the
other heavy imports load: a shell starts a background job with SIGINT ignored, and Python then installs no
handler of its own, so a signal sent during the imports would be lost. The handler raises KeyboardInterrupt
(Terminated for SIGTERM) and also records the signal: Python only prints an exception raised inside a
finalizer or a weak-reference callback ("Exception ignored in ...") and carries on, so every progress step and
every file or result set about to be put in place calls `check`, which raises it again. An interrupt that
nothing catches (during the imports) ends the process with one line and the shell's exit status, not a
traceback.
"""
import os
import signal
import sys
import threading

from cnnvis.errors import Terminated

INTERRUPTED, TERMINATED = 130, 143  # exit statuses after SIGINT (Ctrl-C) and SIGTERM, as a shell reports them
PENDING = []  # signals received by the handler and not yet acted on


def _handler(signum, frame):
    """Raise at once, and leave the signal pending in case Python swallows the exception."""
    PENDING.append(signal.Signals(signum).name)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def check():
    """Raise the pending interrupt, if any: Terminated for SIGTERM, KeyboardInterrupt for Ctrl-C."""
    if PENDING:
        terminated = "SIGTERM" in PENDING
        PENDING.clear()
        raise Terminated() if terminated else KeyboardInterrupt()


def exit_status(interrupt):
    return TERMINATED if isinstance(interrupt, Terminated) else INTERRUPTED


def _uncaught(kind, error, trace):
    """An interrupt outside cli.run (during the imports): one line and 130/143 instead of a traceback."""
    if not issubclass(kind, KeyboardInterrupt):
        return sys.__excepthook__(kind, error, trace)
    sys.stdout.flush()
    print("interrupted; nothing was written.", file=sys.stderr, flush=True)
    os._exit(exit_status(error))  # a plain exit would re-raise SIGINT and end with Python's own status


if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)  # also where the process was started with SIGINT ignored
sys.excepthook = _uncaught
