"""Ctrl-C and SIGTERM stop a run at any moment: during the imports, inside a computation, while the PDF is built.
So do the other signals that end a process by default and that a user or the system sends to stop it: SIGHUP
(the terminal was closed), SIGQUIT (Ctrl-\\), SIGUSR1 and SIGUSR2 — all handled like SIGTERM, so the run's
temporary files are removed either way. A signal that was ignored when the process started stays ignored
(`nohup` ignores SIGHUP so that a run survives its terminal), except SIGINT (below).

Every script imports this module before anything else, so the handlers are in place before TensorFlow and the
other heavy imports load: a shell starts a background job with SIGINT ignored, and Python then installs no
handler of its own, so a signal sent during the imports would be lost. The handler raises KeyboardInterrupt
(Terminated for SIGTERM) and also records the signal: Python only prints an exception raised inside a
finalizer or a weak-reference callback ("Exception ignored in ...") and carries on, so every progress step and
every file or result set about to be put in place calls `check`, which raises it again. An interrupt that
nothing catches (during the imports) ends the process with one line and the shell's exit status, not a
traceback. So does an output stream that cannot be written (stdout on a full disk; the terminal closed while
the interrupt is being reported) or any other file-system failure that nothing caught.
"""
import atexit
import contextlib
import os
import signal
import sys
import threading

from cnnvis.errors import Terminated

INTERRUPTED, TERMINATED = 130, 143  # exit statuses after SIGINT (Ctrl-C) and SIGTERM, as a shell reports them
# Signals that end a process by default, handled like SIGTERM (where the platform has them).
STOPPING = [getattr(signal, name) for name in ("SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2") if hasattr(signal, name)]
PENDING = []  # signals received by the handler and not yet acted on


def _terminated(signum):
    """Terminated, carrying its signal: the exit status is 128 + the signal's number, as a shell reports it."""
    error = Terminated()
    error.signum = int(signum)
    return error


def _handler(signum, frame):
    """Raise at once, and leave the signal pending in case Python swallows the exception."""
    PENDING.append(signal.Signals(signum).name)
    raise KeyboardInterrupt() if signum == signal.SIGINT else _terminated(signum)


def check():
    """Raise the pending interrupt, if any: Terminated for SIGTERM and the others, KeyboardInterrupt for Ctrl-C."""
    if PENDING:
        stopped = next((name for name in PENDING if name != "SIGINT"), None)
        PENDING.clear()
        raise KeyboardInterrupt() if stopped is None else _terminated(signal.Signals[stopped])


def exit_status(interrupt):
    if isinstance(interrupt, Terminated):
        return 128 + getattr(interrupt, "signum", signal.SIGTERM)
    return INTERRUPTED


def is_interrupt_status(code):
    """Whether an exit status is that of a run stopped by one of the handled signals."""
    return code in {INTERRUPTED, TERMINATED} | {128 + int(s) for s in STOPPING}


def _say(line):
    """One line on stderr, if stderr can still be written (a closed terminal cannot)."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def _failure(error):
    """A file-system failure that nothing caught (the output stream on a full disk, a write no one expected)."""
    what = f"writing {os.fsdecode(error.filename)}" if error.filename else "writing the output"
    return (f"error: {what} failed ({error.strerror or error}); no file was left half-written (outputs are put in "
            f"place only whole); free space on the disk or make the folder writable, and run again.")


def _flush_stdout():
    """Flush stdout; if it cannot be written (a full disk under `> log`, a reader that went away), point it at
    the null device so that Python's own flush at exit does not fail again with a traceback-like message."""
    try:
        sys.stdout.flush()
        return None
    except (OSError, ValueError) as e:
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return e


def _uncaught(kind, error, trace):
    """An interrupt outside cli.run (during the imports): one line and 130/143 instead of a traceback. A
    file-system failure that nothing caught: one line and status 1 (none for a closed pipe: its reader left)."""
    if issubclass(kind, KeyboardInterrupt):
        _flush_stdout()
        _say("interrupted; nothing was written.")
        os._exit(exit_status(error))  # a plain exit would re-raise SIGINT and end with Python's own status
    if issubclass(kind, OSError):
        _flush_stdout()
        if isinstance(error.__context__, KeyboardInterrupt):  # the terminal closed while the interrupt was reported
            os._exit(exit_status(error.__context__))
        if not isinstance(error, BrokenPipeError):
            _say(_failure(error))
        os._exit(1)
    return sys.__excepthook__(kind, error, trace)


def _at_exit():
    """The last output of a run that otherwise succeeded could not be written: one line, status 1."""
    error = _flush_stdout()
    if isinstance(error, OSError):
        if not isinstance(error, BrokenPipeError):
            _say(_failure(error))
        os._exit(1)


if threading.current_thread() is threading.main_thread():  # signal handlers can only be set there
    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)  # also where the process was started with SIGINT ignored
    for _signum in STOPPING:
        if signal.getsignal(_signum) != signal.SIG_IGN:  # nohup: the user chose to survive the terminal
            signal.signal(_signum, _handler)
sys.excepthook = _uncaught
atexit.register(_at_exit)  # registered first, so it runs last
