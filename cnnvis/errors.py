"""The one exception a user sees: a mistake they can fix, told in one sentence instead of a traceback."""


class UserError(ValueError):
    """A mistake the user can fix; its message is one sentence saying what was wrong and what is expected."""
