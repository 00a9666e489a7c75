"""Checks for the exercises in the notebooks: one function per exercise, one module per notebook.

Each check runs the student's answer against the package's reference on several inputs. It prints
what is right; at the first input where the answer differs it raises :class:`ExerciseError` (an
``AssertionError``, so an nbgrader test cell fails and gives no points) with a message saying what
was expected, what came back, and a hint. A student working alone reads the message; a teacher
grading with nbgrader gets the points of each test cell that passes.

    from gancourse import check
    check.nonsaturating_loss(my_loss)   # prints "nonsaturating_loss: right on 4 inputs." or raises

The exercises themselves live in the notebooks, between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` in cells that carry nbgrader's metadata; ``gancourse exercises build`` writes
the student versions. Explained in the README ("Homework").

The checks of each notebook live in a module named after it (:mod:`gancourse.check.ch01_first_gan` for
01_first_gan, ...); what they share (:func:`compare`, :class:`ExerciseError`, common inputs) is in
:mod:`gancourse.check._compare`. Every check is also a name of this package, so notebooks call
``check.nonsaturating_loss`` whatever module holds it.
"""

from gancourse.check._compare import ExerciseError, compare
from gancourse.check.ch01_first_gan import discriminator_loss, logit_gradients, nonsaturating_loss
from gancourse.check.ch02_optimal_discriminator import d_star_half_points, js_divergence, optimal_discriminator
from gancourse.check.ch03_js_vs_wasserstein import js_lower_bound, sample_w1, two_points_distances
from gancourse.check.ch04_mode_collapse import blind_spot, high_quality_share, modes_captured
from gancourse.check.ch04b_divergences import kl_critic, kl_fit_sigma, neyman_conjugate
from gancourse.check.ch05_wgan import clip_weights, clipped_lipschitz_bound, largest_safe_clip, wasserstein_critic_loss
from gancourse.check.ch06_dcgan import conv_output_side, conv_transpose_output_side, doubling_layers, slerp
from gancourse.check.ch07_wgan_gp import batch_dependence, gradient_penalty, interpolates
from gancourse.check.ch08_evaluation import frechet_distance, inception_score, kl_to_uniform, predicted_fd
from gancourse.check.ch09_conditional_and_beyond import conditioned_input, half_point, hinge_d_loss

__all__ = [
    "ExerciseError", "compare", "nonsaturating_loss", "discriminator_loss", "logit_gradients", "optimal_discriminator",
    "d_star_half_points",
    "two_points_distances",
    "js_divergence", "js_lower_bound", "sample_w1", "high_quality_share", "modes_captured", "blind_spot",
    "neyman_conjugate", "kl_critic", "kl_fit_sigma",
    "wasserstein_critic_loss", "clip_weights", "clipped_lipschitz_bound", "largest_safe_clip", "conv_output_side",
    "conv_transpose_output_side", "doubling_layers", "slerp", "interpolates", "gradient_penalty",
    "batch_dependence", "frechet_distance",
    "inception_score", "kl_to_uniform", "predicted_fd", "hinge_d_loss", "conditioned_input", "half_point",
]
