"""gancourse: the package behind the GAN notebook course.

Data flows down: ``data`` (toy distributions, image datasets) -> ``models`` -> ``losses`` ->
``train`` (the one loop) -> ``metrics`` and ``plot``. ``theory`` holds closed forms the notebooks
check numerically; ``cli`` is the ``gancourse`` command.
"""

__version__ = "0.1.0"
