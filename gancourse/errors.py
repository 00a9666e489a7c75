"""The error a user's request can end in, shared by the command line and the package.

:class:`CommandError` is a mistake in what was asked: ``gancourse`` prints it as one line with exit
status 2 and no traceback. It lives here, below both :mod:`gancourse.cli` and :mod:`gancourse.commands`,
so that neither imports the other.
"""


class CommandError(Exception):
    """A mistake in what was asked: printed as one line, exit status 2, no traceback."""
