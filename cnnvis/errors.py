"""The one exception a user sees — a mistake they can fix, told in one sentence instead of a traceback — and
the interrupt a SIGTERM becomes."""


class UserError(ValueError):
    """A mistake the user can fix; its message is one sentence saying what was wrong and what is expected."""


class Terminated(KeyboardInterrupt):
    """SIGTERM (kill, timeout) handled like Ctrl-C, so a run's temporary files are removed either way."""
