"""Data for the course: toy distributions with known densities and image datasets.

Both feed the training loop the same way: an infinite iterator of batches that can save and restore
its position (``state_dict``), so a resumed run sees exactly the batches it would have seen.
"""

from gancourse.data.batches import TensorBatches
from gancourse.data.toy import (
    TOY_NAMES,
    Gaussian,
    GaussianMixture,
    ParallelLines,
    ToyBatches,
    grid25,
    make_toy,
    ring8,
)

__all__ = [
    "TOY_NAMES",
    "Gaussian",
    "GaussianMixture",
    "ParallelLines",
    "TensorBatches",
    "ToyBatches",
    "grid25",
    "make_toy",
    "ring8",
]
