"""What one GAN family computes in a training step, apart from the loop that runs it.

:func:`gancourse.train.fit` is the one loop: checkpoints and exact resume, random state, callbacks,
progress, the divergence guard, signals, the run folder's lock and the all-reduce of several processes.
What differs between GAN families sits behind :class:`Objective`, a small interface:

- :meth:`Objective.networks`: every network the run trains and saves, by name (``{"G": G, "D": D}``);
- :attr:`Objective.players`: which of them each of the two optimizers updates, ``"D"`` (at ``lr_d``)
  and ``"G"`` (at ``lr_g``): ``{"D": ("D",), "G": ("G",)}``, or two networks each for CycleGAN;
- :meth:`Objective.step`: one training step. It draws real batches with ``batches.next()`` and hands
  each loss to ``update(player, loss)``, which the loop owns: zero the player's gradients, backpropagate,
  average them over the processes, step its optimizer. The objective never steps an optimizer itself.

:class:`Adversarial` is the course's GAN of notebooks 01–09 (Goodfellow's Algorithm 1 with every loss
family, penalty, clipping, packing, conditioning and label trick of :class:`gancourse.train.TrainConfig`);
``train(G, D, data)`` is ``fit(Adversarial(G, D), data)``. :class:`CycleGAN` has two generators and two
discriminators (Zhu et al. 2017) and is trained through the same loop.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass

import torch
from torch import nn

from gancourse.augment import DiffAugment
from gancourse.errors import ConfigError
from gancourse.losses import (
    G_NEEDS_REAL_LOGITS,
    bce_targets,
    clip_weights_,
    d_bce_targets,
    d_least_squares,
    g_least_squares,
    get_loss_family,
    gradient_penalty,
    r1_penalty,
)


class Objective:
    """The interface :func:`gancourse.train.fit` trains; see the module's docstring.

    ``bind`` is called once by the loop, after the networks are on their device and before the first
    step, with the run's config, device and :class:`gancourse.distributed.Shard`.
    """

    players: dict[str, tuple[str, ...]] = {}

    def networks(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def step(self, batches, update) -> dict[str, torch.Tensor]:
        """One step; returns the values to log (``d_loss`` and ``g_loss`` among them), as tensors."""
        raise NotImplementedError

    def settings(self) -> dict:
        """The objective's own settings, saved with the run and fixed on resume (beside the config's)."""
        return {}

    def validate(self, cfg) -> None:
        """Refuse settings of the config that this objective does not use."""

    def train_modes(self, cfg) -> dict[str, bool]:
        """Whether each network is in training mode during the run (batch norm uses batch statistics)."""
        return {name: True for name in self.networks()}

    def callback_args(self) -> tuple:
        """What callbacks receive after the step: ``fn(step, *callback_args(), history)``."""
        return tuple(self.networks().values())

    def describe(self) -> dict:
        return {"class": type(self).__name__, "settings": self.settings()}

    def bind(self, cfg, device: torch.device, shard) -> None:
        self.cfg, self.device, self.shard = cfg, device, shard
        self.bf16 = bool(getattr(cfg, "bf16", False)) and device.type == "cuda"

    # --- helpers for every objective -----------------------------------------------------------

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def full_precision(self):
        """Autocast off, whatever the caller turned on: for the penalties' double backward."""
        if self.device.type in ("cuda", "cpu"):
            return torch.autocast(self.device.type, enabled=False)
        return contextlib.nullcontext()

    def to_device(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.device, non_blocking=True)
        if self.cfg.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def _pack(x: torch.Tensor, pack: int) -> torch.Tensor:
    # (B, F, ...) -> (B / pack, pack·F, ...): consecutive samples side by side along dim 1
    if pack == 1:
        return x
    if x.shape[0] % pack:
        raise ConfigError(f"the batch size {x.shape[0]} is not a multiple of pack={pack} (--pack).")
    return x.reshape(x.shape[0] // pack, pack * x.shape[1], *x.shape[2:])


class Adversarial(Objective):
    """One generator ``G`` against one discriminator (or critic) ``D``: the GAN of notebooks 01–09.

    Each step follows Goodfellow et al.'s Algorithm 1: ``n_critic`` discriminator steps (each on a fresh
    real batch and fresh noise), then one generator step on the last critic step's fakes. The loss
    family, gradient penalty, R1 and weight clipping of the config make it a minimax, non-saturating,
    hinge or least-squares GAN, a WGAN or a WGAN-GP; ``train_g=False`` trains D alone against a fixed G.
    The two phases are :meth:`discriminator` and :meth:`generator`. With ``augment``, both phases show D
    the images through :class:`gancourse.augment.DiffAugment`; with ``G_ema`` (a
    :func:`gancourse.train.generator_average` of G) the average is updated after every G step, saved
    with the run, and handed to the callbacks in G's place.
    """

    def __init__(self, G: nn.Module, D: nn.Module, G_ema: nn.Module | None = None):
        self.G, self.D, self.G_ema = G, D, G_ema

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.G, "D": self.D, **({"G_ema": self.G_ema} if self.G_ema is not None else {})}

    @property
    def players(self) -> dict[str, tuple[str, ...]]:
        return {"D": ("D",), "G": ("G",)} if self.cfg.train_g else {"D": ("D",)}

    def train_modes(self, cfg) -> dict[str, bool]:
        modes = {"G": cfg.train_g, "D": True}  # a fixed generator samples as at test time
        return {**modes, "G_ema": False} if self.G_ema is not None else modes

    def callback_args(self) -> tuple:
        return self.sampler, self.D

    @property
    def sampler(self) -> nn.Module:
        """The generator that samples: G's moving average (a network of G's class) where the run keeps one."""
        return self.G_ema.module if self.G_ema is not None else self.G

    def describe(self) -> dict:
        return {}  # the config holds all its settings; checkpoints written before objectives stay alike

    def bind(self, cfg, device, shard) -> None:
        super().bind(cfg, device, shard)
        self.d_loss_fn, self.g_loss_fn = get_loss_family(cfg.loss)
        self.relative = cfg.loss in G_NEEDS_REAL_LOGITS  # G's loss compares its fakes with a real batch
        self.augment = DiffAugment(cfg.augment)  # the identity when cfg.augment is ""

    def judge(self, x, y):
        """D's logits for a batch; packed (PacGAN) when ``pack > 1``."""
        x = _pack(x, self.cfg.pack)
        return self.D(x) if y is None else self.D(x, y)

    def real_batch(self, batches):
        x, y = batches.next()
        x = self.to_device(x)
        if not self.cfg.conditional:
            return x, None
        if y is None:
            raise ValueError("conditional=True needs batches of (x, y) pairs with labels y.")
        return x, y.to(self.device)

    def discriminator_loss(self, real_logits, fake_logits, logged: dict) -> torch.Tensor:
        """D's loss; with label smoothing or noisy labels, BCE against the targets they give (GAN hacks)."""
        cfg = self.cfg
        if not (cfg.label_smoothing or cfg.label_flip):
            return self.d_loss_fn(real_logits, fake_logits)
        pair = (real_logits, fake_logits)
        flips = [torch.zeros(len(logits), dtype=torch.bool, device=logits.device) for logits in pair]
        if cfg.label_flip:  # from the run's seeded stream, so a resumed run flips the same labels
            flips = [self.shard.draw(torch.rand, len(logits), device=logits.device) < cfg.label_flip for logits in pair]
            logged["flipped"] = torch.cat(flips).float().mean()
        return d_bce_targets(real_logits, fake_logits, *bce_targets(*flips, cfg.label_smoothing))

    def penalties(self, x_real, x_fake, y, r1_now: bool) -> dict[str, torch.Tensor]:
        """The gradient penalty and R1 that this D step asks for, unweighted, computed in float32.

        Both differentiate ‖∇ₓD‖ a second time, and under bf16 autocast that double backward would run
        through bfloat16 convolutions (8 bits of mantissa), where (‖∇‖ − 1)² and a small γ are most
        sensitive to rounding; so autocast is off here and the inputs are cast to float32.
        """
        cfg, out = self.cfg, {}
        if not (cfg.gp_weight or r1_now):
            return out
        with self.full_precision():
            packed_real = _pack(x_real.float(), cfg.pack)
            if cfg.gp_weight:  # α ~ U(0, 1) per sample, this process's rows of the global batch's
                alpha = self.shard.draw(torch.rand, packed_real.shape[0], *[1] * (packed_real.dim() - 1),
                                        device=packed_real.device, dtype=packed_real.dtype)
                out["gp"] = gradient_penalty(self.D, packed_real, _pack(x_fake.float(), cfg.pack), y, alpha=alpha)
            if r1_now:
                out["r1"] = r1_penalty(self.D, packed_real, y)
        return out

    def discriminator(self, x_real, y, keep_fakes: bool, last: bool = True):
        """D's loss on a real batch and fresh fakes: (x_fake, d_loss, logged values).

        With ``keep_fakes`` the fakes keep their graph, so the generator step can reuse them (as in
        pytorch/examples' DCGAN: one generator forward pass per step instead of two).
        """
        cfg = self.cfg
        z = self.shard.draw(torch.randn, x_real.shape[0], self.G.z_dim, device=self.device)  # (b, z_dim) of (B, ·)
        with self.autocast(), (contextlib.nullcontext() if keep_fakes else torch.no_grad()):
            x_fake = self.G(z) if y is None else self.G(z, y)
        x_real, x_fake_seen = self.augment(x_real), self.augment(x_fake.detach())  # DiffAugment: both alike
        with self.autocast():
            real_logits, fake_logits = self.judge(x_real, y), self.judge(x_fake_seen, y)
        logged = {"real_score": real_logits.detach().float().mean(), "fake_score": fake_logits.detach().float().mean()}
        with self.autocast():
            d_loss = self.discriminator_loss(real_logits.float(), fake_logits.float(), logged)
        if cfg.loss == "wasserstein":
            logged["w_estimate"] = logged["real_score"] - logged["fake_score"]
        r1_now = bool(cfg.r1_weight) and (last or not cfg.r1_lazy)  # lazy: on the last D step of the G step
        penalties = self.penalties(x_real, x_fake_seen, y, r1_now)  # on the images D judged
        logged.update(penalties)
        if "gp" in penalties:
            d_loss = d_loss + cfg.gp_weight * penalties["gp"]
        if "r1" in penalties:
            d_loss = d_loss + 0.5 * cfg.r1_weight * (cfg.n_critic if cfg.r1_lazy else 1) * penalties["r1"]
        logged["fake_logits"] = fake_logits  # for the generator's loss when G is not trained
        if self.relative:
            logged["real_logits"], logged["real_seen"] = real_logits.detach(), x_real
        return x_fake, d_loss, logged

    def generator(self, x_fake, y, x_real=None) -> torch.Tensor:
        """G's loss on the last critic step's fakes (augmented afresh, the gradient passing through).

        A relativistic loss also scores ``x_real``, the last critic step's real batch as D saw it, with D
        as it is after its update (as Jolicoeur-Martineau's code does); no gradient flows to those scores.
        """
        x_fake = self.augment(x_fake)
        with self.autocast():
            fake_logits = self.judge(x_fake, y).float()
            if not self.relative:
                return self.g_loss_fn(fake_logits)
            with torch.no_grad():
                real_logits = self.judge(x_real, y).float()
            return self.g_loss_fn(fake_logits, real_logits)

    def step(self, batches, update) -> dict[str, torch.Tensor]:
        """One generator step (or, with ``train_g=False``, ``n_critic`` discriminator steps alone)."""
        cfg = self.cfg
        for k in range(cfg.n_critic):
            x_real, y = self.real_batch(batches)
            last = k == cfg.n_critic - 1
            x_fake, d_loss, logged = self.discriminator(x_real, y, keep_fakes=last and cfg.train_g, last=last)
            update("D", d_loss)
            if cfg.clip_value is not None:
                clip_weights_(self.D, cfg.clip_value)
        fake_logits = logged.pop("fake_logits")
        real_logits, x_real_seen = logged.pop("real_logits", None), logged.pop("real_seen", None)
        if cfg.train_g:
            self.D.requires_grad_(False)  # D's weights need no gradient in G's step
            try:
                g_loss = self.generator(x_fake, y, x_real_seen)
                update("G", g_loss)
                if self.G_ema is not None:  # swa_utils.AveragedModel: avg ← β·avg + (1 − β)·G
                    self.G_ema.update_parameters(self.G)
            finally:
                self.D.requires_grad_(True)
        else:  # G is fixed: report its loss against D as it stood, without a step
            g_loss = self.g_loss_fn(fake_logits.detach().float(),
                                    *([real_logits.float()] if self.relative else []))
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), **{k: v.detach() for k, v in logged.items()}}


# The config's settings of the classic GAN, with the values that leave them out; other objectives refuse the rest.
ADVERSARIAL_SETTINGS = {"loss": "nonsaturating", "n_critic": 1, "gp_weight": 0.0, "r1_weight": 0.0, "r1_lazy": False,
                        "clip_value": None, "pack": 1, "conditional": False, "train_g": True,
                        "label_smoothing": 0.0, "label_flip": 0.0, "ema_decay": 0.0, "augment": ""}


@dataclass(frozen=True)
class CycleSettings:
    cycle_weight: float = 10.0  # λ of the cycle loss ‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁ (Zhu et al. 2017)
    identity_weight: float = 0.0  # weight of ‖G(b) − b‖₁ + ‖F(a) − a‖₁; the paper uses 0.5·λ for paintings


class CycleGAN(Objective):
    """Two unpaired domains A and B: G_ab maps A to B, G_ba maps B to A, D_a and D_b judge each domain.

    Batches are pairs (x_a, x_b) drawn independently from each domain (nothing pairs them). One step:
    the generators' update on the least-squares adversarial loss of both directions plus the cycle loss
    (and the identity loss when its weight is set), then the discriminators' update, each on the fakes
    of this step, as the paper's training code does it; one optimizer for both generators, one for both
    discriminators. The paper's pool of 50 past fakes for D is left out here. Trained by the loop as any
    objective: checkpoints, exact resume, several processes.
    """

    players = {"D": ("D_a", "D_b"), "G": ("G_ab", "G_ba")}

    def __init__(self, G_ab: nn.Module, G_ba: nn.Module, D_a: nn.Module, D_b: nn.Module,
                 cycle_weight: float = 10.0, identity_weight: float = 0.0):
        self.G_ab, self.G_ba, self.D_a, self.D_b = G_ab, G_ba, D_a, D_b
        self.weights = CycleSettings(cycle_weight, identity_weight)
        if cycle_weight < 0 or identity_weight < 0:
            raise ConfigError(f"cycle and identity weights must be >= 0, got {cycle_weight} and {identity_weight}.")

    def networks(self) -> dict[str, nn.Module]:
        return {"G_ab": self.G_ab, "G_ba": self.G_ba, "D_a": self.D_a, "D_b": self.D_b}

    def settings(self) -> dict:
        return asdict(self.weights)

    def validate(self, cfg) -> None:
        used = [k for k, default in ADVERSARIAL_SETTINGS.items() if getattr(cfg, k) != default]
        if used:
            raise ConfigError(f"CycleGAN has its own losses (least squares, cycle, identity); the settings "
                              f"{', '.join(used)} are for the one-generator GAN (Adversarial).")

    def callback_args(self) -> tuple:
        return self.G_ab, self.D_b

    def step(self, batches, update) -> dict[str, torch.Tensor]:
        x_a, x_b = batches.next()
        if x_b is None:
            raise ValueError("CycleGAN needs batches of pairs (x_a, x_b), one sample of each domain.")
        x_a, x_b = self.to_device(x_a), self.to_device(x_b)
        w = self.weights
        for D in (self.D_a, self.D_b):
            D.requires_grad_(False)
        try:
            with self.autocast():
                fake_b, fake_a = self.G_ab(x_a), self.G_ba(x_b)  # G(a) in B, F(b) in A
                adversarial = g_least_squares(self.D_b(fake_b).float()) + g_least_squares(self.D_a(fake_a).float())
                # ‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁: each translation must be undone by the other
                cycle = (self.G_ba(fake_b) - x_a).abs().mean() + (self.G_ab(fake_a) - x_b).abs().mean()
                g_loss = adversarial + w.cycle_weight * cycle
                logged = {"cycle": cycle.detach().float()}
                if w.identity_weight:  # a sample already of the target domain should pass unchanged
                    identity = (self.G_ab(x_b) - x_b).abs().mean() + (self.G_ba(x_a) - x_a).abs().mean()
                    g_loss = g_loss + w.identity_weight * identity
                    logged["identity"] = identity.detach().float()
            update("G", g_loss)
        finally:
            for D in (self.D_a, self.D_b):
                D.requires_grad_(True)
        with self.autocast():
            d_loss = (d_least_squares(self.D_a(x_a).float(), self.D_a(fake_a.detach()).float())
                      + d_least_squares(self.D_b(x_b).float(), self.D_b(fake_b.detach()).float()))
        update("D", d_loss)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(), **logged}
