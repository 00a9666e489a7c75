"""Subcommands of the ``gancourse`` command, one module per group (see :mod:`gancourse.cli`)."""
