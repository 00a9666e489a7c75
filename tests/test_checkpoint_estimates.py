"""Estimates read off frozen checkpoints by fresh networks (07_wgan_gp): GeneratorCopies,
experiments.estimates_on_checkpoints and history.orders_while_pinned, each against the wrong variant."""

import pytest
import torch

from gancourse.callbacks import GeneratorCopies
from gancourse.data.images import ImageTensors
from gancourse.experiments import estimates_on_checkpoints
from gancourse.history import orders_while_pinned, relative_span
from gancourse.models import image_networks

# measured in 07's fast mode: four frozen checkpoints of the WGAN-GP run, 200 steps of each fresh network
FD = [443.4, 436.1, 393.1, 299.2]
JS = [0.691, 0.690, 0.688, 0.686]
W = [8.443, 4.464, 3.823, 3.354]


def test_the_critics_estimate_orders_checkpoints_while_the_js_estimate_stays_pinned():
    assert orders_while_pinned(W, JS, FD)


def test_the_check_fails_on_the_js_estimate_and_on_an_estimate_that_does_not_follow_quality():
    # the JS estimate also falls in the samples' order, by a few thousandths: it fails for not moving
    assert not orders_while_pinned(JS, W, FD)
    assert not orders_while_pinned(JS, JS, FD)
    # an estimate that moves as much as W but against the samples' order
    assert not orders_while_pinned(W[::-1], JS, FD)
    # one that follows the samples but moves no more than the pinned one, on its own scale
    assert not orders_while_pinned([3.19 * (1 + 0.004 * k) for k in (3, 2, 1, 0)], JS, FD)
    assert orders_while_pinned([W[0], W[2], W[1], W[3]], JS, FD)  # one swap: ρ = 0.8 still passes


def test_relative_span_and_the_checks_refusals():
    assert relative_span([1.0, 2.0, 3.0]) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="mean is not 0"):
        relative_span([-1.0, 1.0])
    with pytest.raises(ValueError, match="at least three checkpoints"):
        orders_while_pinned(W[:2], JS[:2], FD[:2])


def _generator(scale: float):
    torch.manual_seed(0)
    G, _ = image_networks(1, 28, width=4, z_dim=8)
    with torch.no_grad():
        for p in G.parameters():
            p.mul_(scale)
    return G


def test_generator_copies_are_frozen_and_keep_one_call_in_every():
    G = _generator(1.0)
    copies = GeneratorCopies(every=2)
    for step in (1, 2, 3, 3, 4, 5):  # a repeated step (the end of a run) is kept once
        copies(step, G, None, None)
        with torch.no_grad():
            next(G.parameters()).add_(1.0)
    assert copies.steps == [1, 3, 5]
    first = next(copies.generators[0].parameters())
    assert not first.requires_grad and not copies.generators[0].training
    assert torch.allclose(first + 2.0, next(copies.generators[1].parameters()))  # each as it was then
    with pytest.raises(ValueError, match="at least 1"):
        GeneratorCopies(every=0)


def test_fresh_networks_meet_every_checkpoint_alike_and_read_a_worse_one_as_further():
    torch.manual_seed(0)
    real = (torch.rand(64, 1, 28, 28) * 255).to(torch.uint8)
    data = ImageTensors(real, torch.zeros(64), "blobs")
    same = _generator(1.0)
    got = estimates_on_checkpoints([same, _generator(1.0), _generator(0.0)], data, steps=6, batch_size=16, width=4,
                                   device="cpu")
    # the same G twice: identical estimates (same initial weights, same batches, no clock involved)
    assert got.w[0] == got.w[1] and got.js[0] == got.js[1]
    assert len(got.w) == len(got.js) == 3
    # a generator whose weights are all 0 draws one grey image; the same for all z is no closer to the data
    assert got.w[2] != got.w[0]
    assert next(same.parameters()).grad is None  # the checkpoints themselves are not trained
