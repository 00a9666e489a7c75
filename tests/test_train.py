import json
import os
import signal

import pytest
import torch
from torch.testing import assert_close

from gancourse.data import TensorBatches, ToyBatches, grid25, ring8
from gancourse.models import DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGenerator
from gancourse.train import CheckpointError, History, NonFiniteLossError, TrainConfig, load_checkpoint, train


def _toy(seed=0, pack=1):
    torch.manual_seed(seed)
    return MLPGenerator(z_dim=2, hidden=32, depth=2), MLPDiscriminator(in_dim=2 * pack, hidden=32, depth=2)


def _assert_same_weights(a, b):
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert_close(p, q, rtol=0, atol=0, msg=name)


def test_toy_gan_learns_a_gaussian():
    from gancourse.data import Gaussian

    target = Gaussian([2.0, -1.0], [0.5, 0.5])
    G, D = _toy()
    with torch.no_grad():
        start = (G(torch.randn(2000, 2)).mean(0) - target.mean).norm()
    h = train(G, D, ToyBatches(target, 128), steps=600, lr_g=5e-4, lr_d=5e-4, progress=False)
    assert len(h) == 600 and h.step[-1] == 600
    with torch.no_grad():
        x = G(torch.randn(2000, 2))
    # an untrained G sits near the origin, 2.2 away; GAN training oscillates around the target, so the
    # bound is loose, but an unchanged or diverged G would fail it
    assert start > 1.8
    assert (x.mean(0) - target.mean).norm() < 0.5


@pytest.mark.parametrize("settings", [
    dict(loss="nonsaturating"),
    dict(loss="wasserstein", gp_weight=10.0, n_critic=3, betas=(0.0, 0.9)),
    dict(loss="wasserstein", clip_value=0.01, n_critic=2, optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5),
    dict(loss="hinge", pack=2),
    dict(loss="nonsaturating", lr_schedule="multistep", lr_milestones=(5, 12), lr_gamma=0.5, r1_weight=0.1),
    dict(loss="nonsaturating", train_g=False, n_critic=2),
    dict(loss="nonsaturating", r1_weight=0.5, r1_lazy=True, n_critic=3),
    dict(loss="nonsaturating", label_smoothing=0.1, label_flip=0.2, n_critic=2),
    dict(loss="relativistic", n_critic=2),
    dict(loss="relativistic", train_g=False),
    dict(loss="fgan_reverse_kl"),
])
def test_resume_is_bit_identical(tmp_path, settings):
    pack = settings.get("pack", 1)
    G, D = _toy(pack=pack)
    full = train(G, D, ToyBatches(ring8(), 64, seed=1), steps=20, seed=5, progress=False, **settings)

    G1, D1 = _toy(pack=pack)  # same initial weights as G, D
    train(G1, D1, ToyBatches(ring8(), 64, seed=1), steps=8, seed=5, out_dir=tmp_path, progress=False, **settings)
    G2, D2 = _toy(seed=123, pack=pack)  # fresh objects, other init: everything must come from the checkpoint
    resumed = train(G2, D2, ToyBatches(ring8(), 64, seed=99), steps=20, seed=5, out_dir=tmp_path, resume=True,
                    progress=False, **settings)
    assert resumed.step == full.step
    assert resumed.d_loss == full.d_loss and resumed.g_loss == full.g_loss
    assert resumed.extra == full.extra
    _assert_same_weights(G, G2)
    _assert_same_weights(D, D2)


def test_checkpoint_contents_and_files(tmp_path):
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=6, checkpoint_every=3, out_dir=tmp_path, progress=False)
    ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    for key in ("step", "G", "D", "opt_g", "opt_d", "rng", "data", "config", "version", "history", "models"):
        assert key in ckpt
    assert ckpt["step"] == 6 and ckpt["config"]["steps"] == 6
    assert ckpt["models"]["G"]["class"] == "MLPGenerator"
    assert json.loads((tmp_path / "history.json").read_text())["step"] == list(range(1, 7))
    assert History.load(tmp_path / "history.json").step[-1] == 6
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_crash_while_saving_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=4, out_dir=tmp_path, progress=False)
    good = (tmp_path / "checkpoint.pt").read_bytes()

    def broken_save(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        train(G, D, ToyBatches(ring8(), 32), steps=8, out_dir=tmp_path, resume=True, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == good
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_ctrl_c_stops_after_the_step_saves_and_resumes_exactly(tmp_path):
    G, D = _toy()
    full = train(G, D, ToyBatches(ring8(), 32), steps=12, progress=False)

    def press_ctrl_c(step, G, D, history):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    G1, D1 = _toy()
    part = train(G1, D1, ToyBatches(ring8(), 32), steps=12, out_dir=tmp_path, callbacks=[press_ctrl_c],
                 callback_every=1, progress=False)
    assert part.interrupted and part.step[-1] == 5
    assert load_checkpoint(tmp_path)["step"] == 5
    G2, D2 = _toy()
    rest = train(G2, D2, ToyBatches(ring8(), 32), steps=12, out_dir=tmp_path, resume=True, progress=False)
    assert rest.d_loss == full.d_loss and not rest.interrupted
    _assert_same_weights(G, G2)


def test_nan_stops_with_step_and_keeps_checkpoint(tmp_path):
    class Poisoned:  # an iterator without identity(), keeping only its count of batches as its position
        def __init__(self, at=None):
            self.n, self.at = 0, at

        def __iter__(self):
            return self

        def state_dict(self):
            return {"n": self.n}

        def load_state_dict(self, state):
            self.n = state["n"]

        def __next__(self):
            self.n += 1
            x = torch.randn(32, 2)
            if self.n == self.at:
                x[0, 0] = float("nan")
            return x

    G, D = _toy()
    train(G, D, Poisoned(), steps=3, out_dir=tmp_path, progress=False)
    with pytest.raises(NonFiniteLossError, match=r"step 7: d_loss = nan.*learning rate"):
        train(G, D, Poisoned(at=7), steps=20, checkpoint_every=5, out_dir=tmp_path, resume=True, progress=False)
    # the checkpoint of step 5 (before the NaN at step 7) is kept; step 10's was never written
    ckpt = load_checkpoint(tmp_path)
    assert ckpt["step"] == 5
    assert all(torch.isfinite(v).all() for v in ckpt["D"].values())


def test_callbacks_see_history():
    seen = []
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=10, callbacks=[lambda s, g, d, h: seen.append((s, len(h)))],
          callback_every=4, progress=False)
    assert seen == [(4, 4), (8, 8), (10, 10)]


def test_wasserstein_history_has_estimate_and_penalty():
    G, D = _toy()
    h = train(G, D, ToyBatches(grid25(), 32), steps=5, loss="wasserstein", gp_weight=10.0, n_critic=2,
              progress=False)
    assert len(h["w_estimate"]) == 5 and len(h["gp"]) == 5
    assert_close(torch.tensor(h["w_estimate"]), torch.tensor(h["real_score"]) - torch.tensor(h["fake_score"]))


def test_weight_clipping_is_applied():
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=3, loss="wasserstein", clip_value=0.02, optimizer="rmsprop",
          progress=False)
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.02


def test_dcgan_step_with_labels_and_conditioning():
    x = torch.rand(16, 1, 28, 28) * 2 - 1
    y = torch.randint(0, 10, (16,))
    G = DCGANGenerator(z_dim=8, image_size=28, channels=1, width=4, n_classes=10)
    D = DCGANDiscriminator(image_size=28, channels=1, width=4, n_classes=10)
    h = train(G, D, TensorBatches((x, y), 8), steps=2, conditional=True, progress=False)
    assert len(h) == 2
    # unconditional models take (x, y) batches too: labels are ignored
    G, D = DCGANGenerator(z_dim=8, image_size=28, channels=1, width=4), DCGANDiscriminator(28, 1, width=4)
    assert len(train(G, D, TensorBatches((x, y), 8), steps=1, channels_last=True, progress=False)) == 1


@pytest.mark.parametrize("bad,message", [
    (dict(steps=0), "steps must be a positive integer"),
    (dict(n_critic=0), "n_critic must be a positive integer"),
    (dict(gp_weight=-1.0), "gp_weight must be >= 0"),
    (dict(loss="vanilla"), "unknown loss 'vanilla'; choose one of minimax"),
    (dict(optimizer="lbfgs"), "unknown optimizer"),
    (dict(clip_value=0.0), "clip_value must be positive"),
])
def test_bad_settings_say_what_is_wrong(bad, message):
    G, D = _toy()
    with pytest.raises(ValueError, match=message):
        train(G, D, ToyBatches(ring8(), 8), progress=False, **bad)


def test_unknown_setting_and_tensor_data():
    G, D = _toy()
    with pytest.raises(TypeError, match="unknown training setting"):
        train(G, D, ToyBatches(ring8(), 8), stepz=3)
    with pytest.raises(TypeError, match="TensorBatches"):
        train(G, D, torch.randn(10, 2), steps=1, progress=False)


def test_mismatched_images_fail_before_a_conv_error():
    G = DCGANGenerator(z_dim=8, image_size=28, channels=1, width=4)
    D = DCGANDiscriminator(image_size=28, channels=1, width=4)
    with pytest.raises(ValueError, match=r"expects images of shape \(B, 1, 28, 28\).*got \(3, 32, 32\)"):
        train(G, D, TensorBatches(torch.zeros(8, 3, 32, 32), 4), steps=1, progress=False)


def test_existing_run_is_not_overwritten(tmp_path):
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=tmp_path, progress=False)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(FileExistsError, match="resume=True"):
        train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=tmp_path, progress=False)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before


def test_resume_errors_name_the_file(tmp_path):
    G, D = _toy()
    with pytest.raises(CheckpointError, match="does not exist"):
        train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=tmp_path, resume=True, progress=False)
    bad = tmp_path / "checkpoint.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"checkpoint.pt could not be read.*left as it is"):
        train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=tmp_path, resume=True, progress=False)
    assert bad.read_bytes() == b"not a checkpoint at all"
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(CheckpointError, match="not a gancourse checkpoint"):
        load_checkpoint(bad)


def test_resume_with_other_settings_is_refused(tmp_path):
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=tmp_path, progress=False)
    with pytest.raises(CheckpointError, match="loss: checkpoint 'nonsaturating', asked 'hinge'"):
        train(G, D, ToyBatches(ring8(), 8), steps=4, loss="hinge", out_dir=tmp_path, resume=True, progress=False)
    wide = MLPDiscriminator(hidden=64, depth=2)
    with pytest.raises(CheckpointError, match="does not fit"):
        load_checkpoint(tmp_path, D=wide)


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_resume_on_other_data_or_networks_is_refused_and_rewrites_nothing(tmp_path):
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=tmp_path, progress=False)
    before = _files(tmp_path)
    cases = [
        (ToyBatches(grid25(), 8), _toy(), r"data data: checkpoint 'GaussianMixture\(8 modes.*'GaussianMixture\(25"),
        (ToyBatches(ring8(), 16), _toy(), "data batch_size: checkpoint 8, asked 16"),
        (ToyBatches(ring8(radius=2.0), 8), _toy(), "data fingerprint"),  # same repr, other points
        (ToyBatches(ring8(), 8), (MLPGenerator(z_dim=2, hidden=32, depth=2, activation="tanh"),
                                  MLPDiscriminator(in_dim=2, hidden=32, depth=2)),
         "G activation: checkpoint 'relu', asked 'tanh'"),  # same shapes: loading the weights alone would pass
    ]
    for data, (G2, D2), message in cases:
        with pytest.raises(CheckpointError, match=message):
            train(G2, D2, data, steps=4, out_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match=r"data \(list_iterator\) cannot save its position"):
        train(*_toy(), iter([torch.randn(8, 2)] * 10), steps=4, out_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="already at step 2"):
        train(*_toy(), ToyBatches(ring8(), 8), steps=2, out_dir=tmp_path, resume=True, progress=False)
    assert _files(tmp_path) == before
    train(*_toy(), ToyBatches(ring8(), 8), steps=4, out_dir=tmp_path, resume=True, progress=False)  # the same: fine


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere, so a read-only folder cannot be made")
def test_unwritable_out_dir_fails_before_training(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    G, D = _toy()
    with pytest.raises(PermissionError, match="cannot write to the output folder"):
        train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=ro / "run", progress=False)


def test_out_dir_under_a_file_fails_before_training(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    G, D = _toy()
    calls = []
    with pytest.raises(PermissionError, match="cannot write to the output folder"):
        train(G, D, ToyBatches(ring8(), 8), steps=2, out_dir=blocker / "run", progress=False,
              callbacks=[lambda *a: calls.append(1)], callback_every=1)
    assert not calls


def test_config_object_and_overrides():
    cfg = TrainConfig(loss="least_squares", steps=3)
    G, D = _toy()
    assert len(train(G, D, ToyBatches(ring8(), 8), cfg, progress=False)) == 3
    assert len(train(G, D, ToyBatches(ring8(), 8), cfg, steps=2, progress=False)) == 2


def test_small_models_train_on_one_cpu_thread_and_restore_the_setting():
    seen = []
    G, D = _toy()
    torch.set_num_threads(2)
    train(G, D, ToyBatches(ring8(), 8), steps=2, device="cpu", progress=False, callback_every=1,
          callbacks=[lambda *a: seen.append(torch.get_num_threads())])
    assert seen == [1, 1] and torch.get_num_threads() == 2
    train(G, D, ToyBatches(ring8(), 8), steps=1, device="cpu", cpu_threads=2, progress=False,
          callbacks=[lambda *a: seen.append(torch.get_num_threads())])
    assert seen[-1] == 2
    with pytest.raises(ValueError, match="cpu_threads"):
        train(G, D, ToyBatches(ring8(), 8), steps=1, cpu_threads=0, progress=False)


def test_large_models_keep_torchs_thread_setting():
    seen = []
    G = DCGANGenerator(z_dim=8, image_size=28, channels=1, width=64)
    D = DCGANDiscriminator(image_size=28, channels=1, width=64)
    torch.set_num_threads(2)
    train(G, D, TensorBatches(torch.zeros(4, 1, 28, 28), 2), steps=1, device="cpu", progress=False,
          callbacks=[lambda *a: seen.append(torch.get_num_threads())])
    assert seen == [2]


def _rates(ckpt):
    return [ckpt[name]["param_groups"][0]["lr"] for name in ("opt_d", "opt_g")]


def test_multistep_schedule_drops_both_rates_once_per_milestone(tmp_path):
    G, D = _toy()
    settings = dict(lr_d=1e-3, lr_g=2e-3, lr_schedule="multistep", lr_milestones=(4,), lr_gamma=0.1, n_critic=2)
    train(G, D, ToyBatches(ring8(), 32), steps=3, out_dir=tmp_path / "a", progress=False, **settings)
    assert _rates(load_checkpoint(tmp_path / "a")) == pytest.approx([1e-3, 2e-3])  # before the milestone
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=6, out_dir=tmp_path / "b", progress=False, **settings)
    ckpt = load_checkpoint(tmp_path / "b")
    assert _rates(ckpt) == pytest.approx([1e-4, 2e-4])
    # one optimizer for the whole run: Adam's step count holds every update (2 critic steps per step)
    assert ckpt["opt_d"]["state"][0]["step"] == 12 and ckpt["opt_g"]["state"][0]["step"] == 6


def test_cosine_schedule_reaches_zero_at_the_last_step_and_resumes_exactly(tmp_path):
    G, D = _toy()
    full = train(G, D, ToyBatches(ring8(), 32), steps=12, lr_schedule="cosine", progress=False)

    def press_ctrl_c(step, G, D, history):
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)

    G1, D1 = _toy()
    train(G1, D1, ToyBatches(ring8(), 32), steps=12, lr_schedule="cosine", out_dir=tmp_path,
          callbacks=[press_ctrl_c], callback_every=1, progress=False)
    assert 0 < _rates(load_checkpoint(tmp_path))[0] < 2e-4  # part-way down the cosine
    with pytest.raises(CheckpointError, match="steps: checkpoint 12, asked 20"):
        train(G1, D1, ToyBatches(ring8(), 32), steps=20, lr_schedule="cosine", out_dir=tmp_path, resume=True,
              progress=False)
    G2, D2 = _toy()
    rest = train(G2, D2, ToyBatches(ring8(), 32), steps=12, lr_schedule="cosine", out_dir=tmp_path, resume=True,
                 progress=False)
    assert rest.d_loss == full.d_loss
    _assert_same_weights(G, G2)
    assert _rates(load_checkpoint(tmp_path)) == pytest.approx([0.0, 0.0], abs=1e-12)
    with pytest.raises(ValueError, match="lr_milestones"):
        train(G, D, ToyBatches(ring8(), 32), steps=5, lr_schedule="multistep", progress=False)
    with pytest.raises(ValueError, match="constant, cosine, multistep"):
        train(G, D, ToyBatches(ring8(), 32), steps=5, lr_schedule="linear", progress=False)


def test_discriminator_alone_trains_d_and_leaves_g(tmp_path):
    G, D = _toy()
    G_before = [p.detach().clone() for p in G.parameters()]
    D_before = [p.detach().clone() for p in D.parameters()]
    h = train(G, D, ToyBatches(ring8(), 32), steps=10, n_critic=2, train_g=False, out_dir=tmp_path, progress=False)
    assert len(h) == 10 and all(torch.equal(a, b) for a, b in zip(G_before, G.parameters(), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(D_before, D.parameters(), strict=True))
    ckpt = load_checkpoint(tmp_path)
    assert ckpt["opt_g"] is None and ckpt["opt_d"]["state"][0]["step"] == 20
    # the same run with G trained changes G: the check above would catch a loop that ignored train_g
    G2, D2 = _toy()
    train(G2, D2, ToyBatches(ring8(), 32), steps=10, n_critic=2, progress=False)
    assert not all(torch.equal(a, b) for a, b in zip(G_before, G2.parameters(), strict=True))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="cuDNN autotuning is only turned on for CUDA runs")
def test_cudnn_autotuning_is_on_during_a_cuda_run_and_restored_after():
    torch.backends.cudnn.benchmark = False
    seen = []
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=2, device="cuda", progress=False,
          callbacks=[lambda *a: seen.append(torch.backends.cudnn.benchmark)])
    assert seen == [True] and torch.backends.cudnn.benchmark is False


def test_callback_every_is_a_run_setting():
    G, D = _toy()
    seen = []
    train(G, D, ToyBatches(ring8(), 32), TrainConfig(steps=7, callback_every=3), progress=False,
          callbacks=[lambda step, *a: seen.append(step)])
    assert seen == [3, 6, 7]
    with pytest.raises(ValueError, match="callback_every"):
        train(G, D, ToyBatches(ring8(), 32), steps=2, callback_every=0, progress=False)


def test_divergence_stops_before_nan_and_keeps_the_last_good_checkpoint(tmp_path):
    G, D = _toy()
    with pytest.raises(NonFiniteLossError, match=r"step \d+: d_loss = .*e\+\d+, beyond ±1e\+06.*diverged"):
        train(G, D, ToyBatches(ring8(), 32), steps=300, lr_d=1e6, lr_g=1e6, log_every=1, out_dir=tmp_path,
              checkpoint_every=1, progress=False)
    ckpt = load_checkpoint(tmp_path)  # only steps whose losses were within bounds were saved
    assert all(abs(v) < 1e6 for v in ckpt["history"]["d_loss"] + ckpt["history"]["g_loss"])
    G, D = _toy()  # the same run with a sane learning rate trains to the end: the bound is not hair-trigger
    assert len(train(G, D, ToyBatches(ring8(), 32), steps=300, lr_d=1e-3, lr_g=1e-3, progress=False)) == 300


def test_non_finite_weights_stop_training_and_never_reach_a_checkpoint(tmp_path):
    G, D = _toy()
    D.unused = torch.nn.Parameter(torch.zeros(3))  # no loss depends on it: only the state guard can see it

    def poison(step, G, D, history):
        if step == 3:
            with torch.no_grad():
                D.unused[1] = float("inf")

    with pytest.raises(NonFiniteLossError, match=r"step 3: D hold NaN or infinite values"):
        train(G, D, ToyBatches(ring8(), 32), steps=6, checkpoint_every=1, callbacks=[poison], callback_every=1,
              out_dir=tmp_path, progress=False)
    ckpt = load_checkpoint(tmp_path)
    assert ckpt["step"] == 2 and torch.isfinite(ckpt["D"]["unused"]).all()


# --- GAN hacks: one-sided label smoothing and noisy labels (09_conditional_and_beyond) ----------


class _ConstantD(torch.nn.Module):
    """A discriminator sure by a margin c: logit +c for points of the ring (norm ~1), -c near the origin."""

    def __init__(self, c: float):
        super().__init__()
        self.register_buffer("c", torch.tensor(c))
        self.w = torch.nn.Parameter(torch.zeros(()))  # for the optimizer; gets a zero gradient

    def forward(self, x, y=None):
        return self.c * torch.sign(x.norm(dim=1) - 0.5) + 0 * self.w


class _OriginG(torch.nn.Module):
    """A fixed generator that puts every sample at the origin."""

    z_dim = 2

    def forward(self, z, y=None):
        return torch.zeros_like(z)


def _d_losses(c, **settings):
    h = train(_OriginG(), _ConstantD(c), ToyBatches(ring8(), 64), steps=200, train_g=False, progress=False,
              **settings)
    return torch.tensor(h.d_loss, dtype=torch.float64), h


def test_label_smoothing_gives_the_hand_computed_loss():
    c, s = 1.5, 0.1
    sp = torch.nn.functional.softplus
    d_loss, _ = _d_losses(c, label_smoothing=s)
    c = torch.tensor(c, dtype=torch.float64)
    # real logits +c with targets 1 - s, fake logits -c with targets 0 (one-sided smoothing);
    # two-sided smoothing (fake targets s) would add s·c
    want = (1 - s) * sp(-c) + s * sp(c) + sp(-c)
    assert_close(d_loss, want.expand(len(d_loss)), rtol=1e-6, atol=1e-6)


def test_label_flip_swaps_the_asked_share_of_labels():
    c, share = 2.0, 0.1
    d_loss, h = _d_losses(c, label_flip=share)
    sp = torch.nn.functional.softplus
    c64 = torch.tensor(c, dtype=torch.float64)
    # D is right by a margin c on every sample; a flipped label turns its term softplus(-c) into
    # softplus(c), c more, so loss = 2·softplus(-c) + c·(share_real + share_fake)
    measured = (d_loss - 2 * sp(-c64)) / (2 * c)
    assert abs(measured.mean().item() - share) < 0.01  # 25,600 labels: the share's std is 0.002
    assert measured.std() > 0  # drawn afresh every step
    assert_close(torch.tensor(h["flipped"], dtype=torch.float64), measured, rtol=0, atol=1e-5)
    unflipped, _ = _d_losses(c)
    assert_close(unflipped, (2 * sp(-c64)).expand(len(unflipped)), rtol=1e-6, atol=1e-6)


def test_label_hacks_are_refused_for_losses_without_bce_targets():
    G, D = _toy()
    for loss in ("hinge", "wasserstein", "least_squares"):
        with pytest.raises(ValueError, match=f"the '{loss}' loss has none"):
            train(G, D, ToyBatches(ring8(), 8), steps=1, loss=loss, label_smoothing=0.1, progress=False)
    with pytest.raises(ValueError, match=r"label_flip must be in \[0, 0.5\)"):
        train(G, D, ToyBatches(ring8(), 8), steps=1, label_flip=0.6, progress=False)


def test_label_hacks_are_saved_with_the_run_and_fixed_on_resume(tmp_path):
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 8), steps=2, label_smoothing=0.1, label_flip=0.05, out_dir=tmp_path,
          progress=False)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["label_smoothing"] == 0.1 and saved["label_flip"] == 0.05
    assert load_checkpoint(tmp_path / "checkpoint.pt")["config"]["label_flip"] == 0.05
    with pytest.raises(CheckpointError, match="label_flip: checkpoint 0.05, asked 0.0"):
        train(G, D, ToyBatches(ring8(), 8), steps=4, label_smoothing=0.1, out_dir=tmp_path, resume=True,
              progress=False)


def test_lazy_r1_runs_once_per_generator_step_with_n_critic_times_the_weight(monkeypatch):
    import gancourse.objectives as train_module

    calls = []
    real_penalty = train_module.r1_penalty

    def counted(D, x, y=None):
        calls.append(len(x))
        return real_penalty(D, x, y)

    monkeypatch.setattr(train_module, "r1_penalty", counted)
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=4, n_critic=3, r1_weight=0.5, r1_lazy=True, progress=False)
    assert len(calls) == 4  # once per generator step, not 3 times
    calls.clear()
    G, D = _toy()
    train(G, D, ToyBatches(ring8(), 32), steps=4, n_critic=3, r1_weight=0.5, progress=False)
    assert len(calls) == 12

    # one D step per G step: lazy R1 is plain R1 (the same losses, bit for bit)
    runs = []
    for lazy in (False, True):
        G, D = _toy()
        runs.append(train(G, D, ToyBatches(ring8(), 32, seed=2), steps=5, r1_weight=0.5, r1_lazy=lazy,
                          progress=False))
    assert runs[0].d_loss == runs[1].d_loss and runs[0].extra == runs[1].extra

    # with three D steps the last one's loss carries 3 × (γ/2) × R1: with a penalty that is 1 and moves nothing,
    # both runs take the same D steps and their logged losses differ by (3 - 1) × γ/2
    monkeypatch.setattr(train_module, "r1_penalty", lambda D, x, y=None: real_penalty(D, x, y) * 0 + 1)
    losses = []
    for lazy in (False, True):
        G, D = _toy()
        h = train(G, D, ToyBatches(ring8(), 32), steps=1, n_critic=3, r1_weight=0.5, r1_lazy=lazy, progress=False)
        losses.append(h["d_loss"][0])
    assert losses[1] - losses[0] == pytest.approx((3 - 1) * 0.5 / 2)


def test_resume_on_data_that_cannot_save_its_position_is_refused_and_rewrites_nothing(tmp_path):
    """A plain DataLoader has no state_dict: resumed, it would start its epoch again with other batches."""
    x = torch.randn(64, 2)

    def loader():
        return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=16, shuffle=True)

    G, D = _toy()
    train(G, D, loader(), steps=3, out_dir=tmp_path, progress=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    with pytest.raises(ValueError, match=r"^this run's data \(DataLoader\) cannot save its position"):
        train(G, D, loader(), steps=6, out_dir=tmp_path, resume=True, progress=False)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert load_checkpoint(tmp_path / "checkpoint.pt")["data"] is None  # nothing to return to


def test_a_checkpoint_without_a_data_position_is_not_resumed_on_another_source(tmp_path):
    from gancourse.data.batches import EndlessBatches

    batches = EndlessBatches(TensorBatches(torch.randn(32, 2), 8))
    with pytest.raises(ValueError, match="holds no position of its data"):
        batches.load_state_dict(None)


def test_a_stateful_iterable_starts_again_from_the_loaded_position():
    """An iterable that is not its own iterator (a stateful loader) is iterated afresh after load_state_dict."""
    from gancourse.data.batches import EndlessBatches

    class Stateful:  # yields 0, 1, 2, ... from its saved position, like torchdata's StatefulDataLoader
        def __init__(self):
            self.pos = 0

        def __iter__(self):  # the position is read when the iterator is made, as a loader's sampler is
            return (self._item(i) for i in range(self.pos, 100))

        def _item(self, i):
            self.pos = i + 1
            return torch.tensor([float(i)])

        def state_dict(self):
            return {"pos": self.pos}

        def load_state_dict(self, state):
            self.pos = state["pos"]

    first = EndlessBatches(Stateful())
    seen = [first.next()[0].item() for _ in range(3)]
    state = first.state_dict()
    again = EndlessBatches(Stateful())
    again.load_state_dict(state)
    assert seen == [0, 1, 2] and again.next()[0].item() == 3


def _conditional_class_accuracy(shuffle_labels: bool) -> float:
    """A conditional DCGAN on two classes, dark and bright images; the share of samples G draws of the class
    asked for (a bright sample has a mean pixel above 0). Shuffled labels keep the images and the class counts."""
    from gancourse.models import image_networks

    g = torch.Generator().manual_seed(0)
    y = torch.arange(256) % 2
    x = ((y.float() * 1.6 - 0.8).view(-1, 1, 1, 1) + 0.1 * torch.randn(256, 1, 28, 28, generator=g)).clamp(-1, 1)
    labels = y[torch.randperm(256, generator=g)] if shuffle_labels else y
    torch.manual_seed(0)
    G, D = image_networks(1, 28, width=8, n_classes=2, z_dim=4)
    train(G, D, TensorBatches((x, labels), 32), steps=250, lr_g=2e-3, lr_d=2e-3, conditional=True, device="cpu",
          progress=False)
    G.eval()
    asked = torch.arange(200) % 2
    with torch.no_grad():
        bright = G(torch.randn(200, 4, generator=torch.Generator().manual_seed(1)), asked).mean((1, 2, 3)) > 0
    return (bright.long() == asked).float().mean().item()


@pytest.mark.slow
def test_conditional_training_uses_the_labels():
    # measured: 1.00 with the labels, 0.53 with them shuffled (two seeds alike)
    assert _conditional_class_accuracy(shuffle_labels=False) > 0.9
    assert _conditional_class_accuracy(shuffle_labels=True) < 0.7  # the wrong variant: labels carry nothing


def test_the_callers_random_state_is_left_as_it_was_and_does_not_change_the_run():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    G, D = _toy()
    torch.manual_seed(123)
    train(G, D, ToyBatches(ring8(), 16), steps=3, seed=5, progress=False)
    assert torch.equal(torch.get_rng_state(), before)  # the run's seed 5 and its draws stayed inside it
    G2, D2 = _toy()
    torch.manual_seed(999)  # another state of the caller's: the same run
    train(G2, D2, ToyBatches(ring8(), 16), steps=3, seed=5, progress=False)
    _assert_same_weights(G2, G)
    # the wrong variant: seeding the global generator, as the run does inside, changes the caller's state
    torch.manual_seed(123)
    torch.manual_seed(5)
    assert not torch.equal(torch.get_rng_state(), before)


def test_sync_batch_norm_converts_the_callers_network_in_place_with_the_same_state_dict():
    from gancourse.distributed import sync_batch_norm_
    from gancourse.models import image_networks

    G, _ = image_networks(1, 28, width=8)
    keys, ids = list(G.state_dict()), id(G)
    assert sync_batch_norm_(G) is G and id(G) == ids
    assert any(isinstance(m, torch.nn.SyncBatchNorm) for m in G.modules())
    assert not any(type(m) is torch.nn.BatchNorm2d for m in G.modules()) and list(G.state_dict()) == keys


@pytest.mark.parametrize("name", ["nonsaturating", "wgan-gp", "wgan-clipping", "hinge-pack2", "multistep-r1",
                                  "d-alone", "lazy-r1", "label-hacks", "image-conditional", "image-wgan-gp"])
def test_train_reproduces_the_recorded_runs(name):
    """Every run of the loop is as it was recorded before the loop took objectives, bit for bit."""
    import reference_runs

    recorded = json.loads(reference_runs.RECORD.read_text())[name]
    now = reference_runs.run(name)
    assert now["d_loss"] == recorded["d_loss"] and now["g_loss"] == recorded["g_loss"]
    assert now["weights"] == recorded["weights"]


def test_the_recorded_runs_tell_one_bit_apart():
    # the wrong variant: the same case with D's learning rate one float32 step away gives another digest
    import reference_runs

    recorded = json.loads(reference_runs.RECORD.read_text())["nonsaturating"]
    lr = torch.tensor(2e-4, dtype=torch.float32)
    reference_runs.CASES["nudged"] = dict(loss="nonsaturating", lr_d=float(torch.nextafter(lr, torch.ones(()))))
    try:
        nudged = reference_runs.run("nudged")
    finally:
        del reference_runs.CASES["nudged"]
    assert nudged["weights"] != recorded["weights"]
