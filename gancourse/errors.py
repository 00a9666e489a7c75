"""The errors a user's request can end in, shared by the package and the command line.

Every mistake in what was asked, and every run that fails for a reason the user can act on, raises a
:class:`UserError`. The ``gancourse`` command prints it as one line, with exit status 2 for a bad
request and 1 for a run that failed (:class:`RunFailed`); anything else is a program bug and keeps
its traceback. ``--debug`` (or ``GANCOURSE_DEBUG=1``) shows the traceback of every error.
Each class also derives from the built-in exception it refines, so code that catches
``ValueError`` or ``FileNotFoundError`` keeps working. This module sits below :mod:`gancourse.cli`,
:mod:`gancourse.commands` and the rest of the package, so none of them imports another for its errors.
"""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what was asked: one line, exit status 2."""

    exit_status = 2


class RunFailed(UserError):
    """A run that started and could not go on (divergence, a full disk): one line, exit status 1."""

    exit_status = 1


class CommandError(UserError, ValueError):
    """A command-line argument that cannot work."""


class ConfigError(UserError, ValueError):
    """A training setting out of range or unknown."""


class DeviceError(UserError, RuntimeError):
    """A device that is not a device, or that this machine does not have."""


class RunFolderError(UserError, FileExistsError):
    """An output folder that already holds a run, holds someone else's files, or is in use."""


class OutputNotWritable(UserError, PermissionError):
    """An output folder that cannot be created or written to."""


class DiskFull(RunFailed, OSError):
    """The disk filled up while a file was written; the previous file of that name is intact."""
