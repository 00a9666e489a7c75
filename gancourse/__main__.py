"""``python -m gancourse ...`` runs the ``gancourse`` command (also under ``torchrun -m gancourse``)."""

from gancourse.cli import entry

entry()
