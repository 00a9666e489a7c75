"""The exercise checks of 06_dcgan."""

from __future__ import annotations

from collections.abc import Callable

import torch

from gancourse.check._compare import compare

# (side, kernel, stride, padding): DCGAN's layers, and strides that leave a remainder to floor away
_CONV_CASES = [(28, 4, 2, 1), (14, 4, 2, 1), (7, 7, 1, 0), (7, 4, 2, 1), (64, 5, 2, 2), (32, 3, 1, 1), (6, 3, 2, 0)]
_CONV_TRANSPOSE_CASES = [(1, 7, 1, 0), (7, 4, 2, 1), (14, 4, 2, 1), (4, 4, 2, 1), (3, 3, 2, 0), (5, 5, 1, 2)]


def _show_conv(case: tuple) -> str:
    return "side {}, kernel {}, stride {}, padding {}".format(*case)


def conv_output_side(answer: Callable) -> int:
    """06: a convolution's output side, ⌊(i + 2p − k)/s⌋ + 1."""
    from gancourse import models

    return compare("conv_output_side", answer, models.conv_output_side, _CONV_CASES, atol=0,
                   hint="pad the side first, then count the positions where a kernel of k fits, starting at 0 and "
                        "moving s at a time. Check by hand on a side of 5, k = 3: s = 1 gives 3, s = 2 gives 2.",
                   show=_show_conv)


def conv_transpose_output_side(answer: Callable) -> int:
    """06: a transposed convolution's output side, (i − 1)·s − 2p + k."""
    from gancourse import models

    return compare("conv_transpose_output_side", answer, models.conv_transpose_output_side, _CONV_TRANSPOSE_CASES,
                   atol=0, hint="undo the convolution's map: the i inputs are spread s apart, each kernel "
                                "placement widens the span by its own size less one, and the padding is "
                                "cropped from both sides. Your formula must invert the previous exercise's.",
                   show=_show_conv)


def _slerp_cases(seed: int = 0) -> list[tuple]:
    g = torch.Generator().manual_seed(seed)
    z0, z1 = torch.randn(2, 100, generator=g)
    return [(z0, z1, 0.5), (z0, z1, 0.25), (z1, z0, 0.9), (torch.tensor([1.0, 0.0]), torch.tensor([0.0, 2.0]), 0.5),
            (torch.randn(3, generator=g), torch.randn(3, generator=g), 0.7)]


def slerp(answer: Callable) -> int:
    """06: spherical interpolation between two latent vectors, sin((1−t)ω)/sin ω · z0 + sin(tω)/sin ω · z1."""
    from gancourse import latent

    return compare("slerp", answer, lambda z0, z1, t: latent.slerp(z0, z1, [t])[0], _slerp_cases(),
                   hint="ω is the angle between z0 and z1 (from their dot product). Walk the arc in the plane of z0 "
                        "and z1 so that the angle from z0 grows as tω; each weight is a ratio of sines. "
                        "The straight line is lerp: its midpoint is shorter than both ends.",
                   show=lambda case: f"z0, z1 in {case[0].numel()} dimensions and t = {case[2]}")


def doubling_layers(answer: Callable) -> int:
    """06: two different (kernel, stride, padding) triples, each a transposed convolution that doubles every side.

    Construction, not comparison: the check builds each as a ``torch.nn.ConvTranspose2d`` and runs it on
    sides 1 to 16, then chains three of the first from 4 to 32, a 32-px generator's upsampling.
    """
    from gancourse.check._compare import ExerciseError, _run

    hint = ("write the output side of a transposed convolution for an input side i (exercise 2) and ask that it "
            "equal 2i for every i: the coefficient of i gives one condition, the constant term another.")
    triples = _run(answer)
    if triples is None:
        raise ExerciseError("doubling_layers: your function returned None; did you forget `return`?")
    try:
        triples = [tuple(int(v) for v in t) for t in triples]
    except (TypeError, ValueError):
        raise ExerciseError("doubling_layers: return a list of (kernel, stride, padding) integer triples.") from None
    if any(len(t) != 3 for t in triples) or len(set(triples)) < 2:
        raise ExerciseError(f"doubling_layers: expected at least two different (kernel, stride, padding) triples, "
                            f"got {triples}.\nHint: {hint}")
    for kernel, stride, padding in triples:
        try:
            layer = torch.nn.ConvTranspose2d(1, 1, kernel, stride, padding)
            wrong = [(i, layer(torch.zeros(1, 1, i, i)).shape[-1]) for i in range(1, 17)]
        except RuntimeError as err:
            raise ExerciseError(f"doubling_layers: torch cannot build or run kernel {kernel}, stride {stride}, "
                                f"padding {padding} ({str(err).splitlines()[0]}).\nHint: {hint}") from None
        wrong = [(i, out) for i, out in wrong if out != 2 * i]
        if wrong:
            i, out = wrong[0]
            raise ExerciseError(f"doubling_layers: kernel {kernel}, stride {stride}, padding {padding} takes side "
                                f"{i} to {out}, not {2 * i}.\nHint: {hint}")
    layer = torch.nn.ConvTranspose2d(1, 1, *triples[0])
    h, chain = torch.zeros(1, 1, 4, 4), [4]
    for _ in range(3):
        h = layer(h)
        chain.append(h.shape[-1])
    print(f"doubling_layers: all {len(triples)} double every side from 1 to 16; three of "
          f"{triples[0]} take {' → '.join(map(str, chain))}.")
    return len(triples)
