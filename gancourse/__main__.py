"""``python -m gancourse ...`` runs the ``gancourse`` command (also under ``torchrun -m gancourse``)."""

import sys

from gancourse.cli import main

sys.exit(main())
