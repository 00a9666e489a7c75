"""Training on two CPU processes (torchrun, gloo) against one process: the same weights, one writer, agreed stops.

Each torchrun start costs seconds, so one start runs every Python-API scenario (:data:`SCENARIOS`) and
the tests below read what it left; the command line gets one start of its own. Those that need a start
are ``slow`` (three Python processes import torch); ``make unit`` leaves them out.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from test_data_images import write_mnist_split

from gancourse.checkpoint import load_checkpoint
from gancourse.cli import main
from gancourse.data.toy import ring8
from gancourse.experiments import train_toy
from gancourse.train import History

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
# MLPs without batch norm: two processes at batch B must then train exactly as one at batch B.
RECIPES = ("wgan-gp", "pacgan4", "r1-mixture")  # gradient penalty and 5 critic steps; packs of 4; R1
TOY = dict(batch_size=16, seed=0, networks={"hidden": 16, "depth": 2})
TOLERANCE = dict(rtol=1e-5, atol=1e-6)  # float rounding; seen: at most 3e-8 after 4 steps

SCENARIOS = textwrap.dedent('''
    import json, os, signal, sys
    from pathlib import Path
    import torch
    from gancourse import distributed
    from gancourse.data.toy import ring8
    from gancourse.errors import ConfigError, UserError
    from gancourse.experiments import train_toy
    from gancourse.models import toy_networks
    from gancourse.train import train

    root, recipes, toy = Path(sys.argv[1]), sys.argv[2].split(","), json.loads(sys.argv[3])
    report = {}

    def command(*args):  # the gancourse command inside this process group: its status and what it printed
        import contextlib, io
        from gancourse.cli import main
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([str(a) for a in args])
        return {"status": status, "stdout": out.getvalue().splitlines(), "stderr": err.getvalue().splitlines()}

    def outcome(run):
        try:
            h = run()
            return {"steps": len(h), "interrupted": h.interrupted, "signal": h.stop_signal}
        except UserError as e:
            return {"error": type(e).__name__, "message": str(e)}

    class NaNRows:  # global batches of 8 points; at the third, only the second process's rows are NaN
        def __init__(self):
            self.n, self.g = 0, torch.Generator().manual_seed(0)
        def __next__(self):
            self.n += 1
            x = torch.randn(8, 2, generator=self.g)
            if self.n == 3:
                x[4:] = float("nan")
            return x

    def ctrl_c(step, G, D, history):  # rank 0 alone runs callbacks: the other process is not signalled
        if step == 2:
            os.kill(os.getpid(), signal.SIGINT)

    def broken(step, G, D, history):
        raise ConfigError("a callback refused step %d" % step)

    with distributed.process_group("cpu"):
        for recipe in recipes:
            train_toy(recipe, ring8(), 4, out_dir=root / "two" / recipe, **toy)
            train_toy(recipe, ring8(), 4, out_dir=root / "one-then-two" / recipe, resume=True, **toy)
            train_toy(recipe, ring8(), 2, out_dir=root / "two-then-one" / recipe, **toy)
        report["stopped"] = outcome(lambda: train_toy("dcgan", ring8(), 6, out_dir=root / "stopped",
                                                       callbacks=[ctrl_c], callback_every=1, **toy).history)
        report["callback"] = outcome(lambda: train_toy("dcgan", ring8(), 6, callbacks=[broken], callback_every=2,
                                                        **toy).history)
        G, D = toy_networks(2, hidden=8, depth=1)
        report["nan"] = outcome(lambda: train(G, D, NaNRows(), steps=5, log_every=1, device="cpu", progress=False))
        report["odd batch"] = outcome(lambda: train_toy("dcgan", ring8(), 2, **{**toy, "batch_size": 9}).history)
        report["sync-bn"] = command("train", "dcgan", "--root", root / "fm", "--out", root / "sync-bn", "--steps", 2,
                                    "--batch-size", 8, "--width", 8, "--device", "cpu", "--quiet", "--sync-bn")
        rank = torch.distributed.get_rank()
        # batch norm: a width-8 DCGAN at the global batch of 16 (the test trains one process beside it)
        from gancourse.data import TensorBatches, ToyBatches
        from gancourse.data.toy import Gaussian
        from gancourse.models import DistributionSampler, MLPDiscriminator, image_networks
        torch.manual_seed(0)
        G, D = image_networks(1, 28, width=8)
        train(G, D, TensorBatches(torch.load(root / "images.pt"), 16, seed=0), steps=4, out_dir=root / "bn-two",
              device="cpu", progress=False)
        torch.save({"G": G.state_dict(), "D": D.state_dict()}, root / ("bn-rank%d.pt" % rank))
        # a fixed p_g: each process's fakes, and D trained against them
        torch.manual_seed(3)
        report["fakes"] = DistributionSampler(Gaussian(0.0, 1.0))(torch.zeros(4, 1)).flatten().tolist()
        torch.manual_seed(0)
        D = MLPDiscriminator(1, hidden=8, depth=1)
        train(DistributionSampler(Gaussian(0.0, 1.0)), D, ToyBatches(Gaussian(2.0, 0.5), 16, seed=0), steps=4,
              train_g=False, out_dir=root / "sampler-two", device="cpu", progress=False)
        (root / ("report%d.json" % rank)).write_text(json.dumps(report))
    # as gancourse.cli.entry ends under torchrun: the work is written and the group destroyed, and the
    # interpreter's teardown is skipped, where a thread of torch's can still abort a finished process
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
''')


# What a C++ thread of torch's own says when a process is torn down while it still runs, after the run's work
# is done; seen on a loaded machine, twice in a row once. A start that can be repeated from scratch gets up to
# three more tries then.
TEARDOWN_ABORT = "terminate called without an active exception"
TEARDOWN_TRIES = 4


def torchrun(args, cwd, timeout=240, fresh: Path | None = None):
    """Start torchrun; with ``fresh`` (a folder the start writes alone), a start that aborted in a thread's
    teardown is repeated, on that folder removed, up to TEARDOWN_TRIES starts in all."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for attempt in range(1, TEARDOWN_TRIES + 1):
        done = subprocess.run([*TORCHRUN, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode == 0 or fresh is None or TEARDOWN_ABORT not in done.stderr or attempt == TEARDOWN_TRIES:
            return done
        print(f"torchrun aborted in a thread's teardown (start {attempt} of {TEARDOWN_TRIES}); starting it again:\n"
              f"{done.stdout[-1000:]}")
        shutil.rmtree(fresh, ignore_errors=True)


def weights(out: Path) -> dict:
    ckpt = load_checkpoint(out / "checkpoint.pt")
    return {f"{net}.{k}": v for net in ("G", "D") for k, v in ckpt[net].items()}


def largest_difference(a: dict, b: dict) -> float:
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


def _bn_one_process(root: Path) -> None:
    """The scenario's DCGAN (batch norm in G and D) on one process, at the same global batch."""
    from gancourse.data import TensorBatches
    from gancourse.models import image_networks
    from gancourse.train import train

    torch.manual_seed(0)
    G, D = image_networks(1, 28, width=8)
    train(G, D, TensorBatches(torch.load(root / "images.pt"), 16, seed=0), steps=4, out_dir=root / "bn-one",
          device="cpu", progress=False)


def _sampler_one_process(root: Path) -> None:
    from gancourse.data import ToyBatches
    from gancourse.data.toy import Gaussian
    from gancourse.models import DistributionSampler, MLPDiscriminator
    from gancourse.train import train

    torch.manual_seed(0)
    D = MLPDiscriminator(1, hidden=8, depth=1)
    train(DistributionSampler(Gaussian(0.0, 1.0)), D, ToyBatches(Gaussian(2.0, 0.5), 16, seed=0), steps=4,
          train_g=False, out_dir=root / "sampler-one", device="cpu", progress=False)


def _split(state: dict) -> tuple[dict, dict]:
    """(batch norm's running statistics, everything else but the batch counts) of a state dict."""
    stats = {k: v for k, v in state.items() if k.endswith(("running_mean", "running_var"))}
    rest = {k: v for k, v in state.items() if k not in stats and not k.endswith("num_batches_tracked")}
    return stats, rest


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One process trains every recipe for 4 steps; two processes do the same, and each resumes the other's
    run at step 2; one process at batch B/2 is what a process alone would learn."""
    root = tmp_path_factory.mktemp("distributed")
    for split in ("train", "test"):
        write_mnist_split(root / "fm", split=split, n=32)
    for recipe in RECIPES:
        train_toy(recipe, ring8(), 4, out_dir=root / "one" / recipe, **TOY)
        train_toy(recipe, ring8(), 2, out_dir=root / "one-then-two" / recipe, **TOY)
    train_toy(RECIPES[0], ring8(), 4, out_dir=root / "half batch", **{**TOY, "batch_size": TOY["batch_size"] // 2})
    torch.manual_seed(0)
    torch.save(torch.rand(32, 1, 28, 28) * 2 - 1, root / "images.pt")
    _bn_one_process(root)
    _sampler_one_process(root)
    (root / "scenarios.py").write_text(SCENARIOS)
    done = torchrun([root / "scenarios.py", root, ",".join(RECIPES), json.dumps(TOY)], cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    for recipe in RECIPES:
        train_toy(recipe, ring8(), 4, out_dir=root / "two-then-one" / recipe, resume=True, **TOY)
    reports = [json.loads((root / f"report{rank}.json").read_text()) for rank in (0, 1)]
    return root, reports


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
def test_two_processes_train_as_one_process_with_the_same_global_batch(runs, recipe):
    root, _ = runs
    one, two = weights(root / "one" / recipe), weights(root / "two" / recipe)
    torch.testing.assert_close(two, one, **TOLERANCE)
    h1, h2 = History.load(root / "one" / recipe / "history.json"), History.load(root / "two" / recipe / "history.json")
    torch.testing.assert_close(h2.d_loss, h1.d_loss, **TOLERANCE)  # the logged losses are the global batch's
    assert len(list((root / "two" / recipe).glob("*.pt"))) == 1  # one writer, one checkpoint


@pytest.mark.slow
def test_a_process_alone_would_learn_something_else(runs):
    # the wrong variant: without the averaged gradients each process would train at batch B/2
    root, _ = runs
    with pytest.raises(AssertionError, match="not close"):
        torch.testing.assert_close(weights(root / "half batch"), weights(root / "one" / RECIPES[0]), **TOLERANCE)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("order", ["one-then-two", "two-then-one"])
def test_a_checkpoint_resumes_on_another_number_of_processes(runs, recipe, order):
    root, _ = runs
    torch.testing.assert_close(weights(root / order / recipe), weights(root / "one" / recipe), **TOLERANCE)
    assert len(History.load(root / order / recipe / "history.json")) == 4


@pytest.mark.slow
def test_ctrl_c_on_one_process_stops_both_at_the_same_step(runs):
    root, reports = runs
    assert [r["stopped"] for r in reports] == [{"steps": 2, "interrupted": True, "signal": 2}] * 2
    assert load_checkpoint(root / "stopped")["step"] == 2


@pytest.mark.slow
def test_an_error_on_one_process_stops_both(runs):
    _, reports = runs
    callback = [r["callback"] for r in reports]  # only rank 0 ran the callback
    assert callback == [{"error": "ConfigError", "message": "a callback refused step 2"}] * 2
    nan = [r["nan"] for r in reports]  # only rank 1's rows were NaN
    assert nan[0] == nan[1] and nan[0]["error"] == "NonFiniteLossError"
    assert nan[0]["message"].startswith("step 3: d_loss = nan")


@pytest.mark.slow
def test_a_batch_that_does_not_split_evenly_is_refused(runs):
    _, reports = runs
    for report in reports:
        assert report["odd batch"]["error"] == "ConfigError"
        assert "does not split evenly over 2 processes" in report["odd batch"]["message"]


@pytest.mark.slow
def test_a_mistake_found_on_every_process_is_one_line_from_rank_0(runs):
    root, reports = runs
    said = [r["sync-bn"] for r in reports]  # SyncBatchNorm needs GPUs: refused on both processes
    assert said[0] == {"status": 2, "stdout": [], "stderr": [
        "gancourse train: error: sync_bn (--sync-bn) is for CUDA GPUs (torch's SyncBatchNorm); on the CPU each "
        "process keeps its own batch statistics."]}
    assert said[1] == {"status": 2, "stdout": [], "stderr": []}
    assert not (root / "sync-bn" / "checkpoint.pt").exists()


@pytest.mark.slow
def test_torchrun_trains_an_image_gan_and_one_process_resumes_it(fm_root, tmp_path, capsys):
    out = tmp_path / "run"
    args = ["-m", "gancourse", "train", "wgan-gp", "--root", fm_root, "--out", out, "--batch-size", "8",
            "--width", "8", "--sample-every", "100", "--checkpoint-every", "0", "--device", "cpu", "--quiet"]
    done = torchrun([*args, "--steps", "3"], cwd=tmp_path, fresh=out)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.count("wrote ") == 1 and "on 2 processes: step 3 of 3" in done.stdout
    assert sorted(p.name for p in out.iterdir()) == [".gancourse-run", "checkpoint.pt", "config.json",
                                                      "history.json", "samples.png", "samples_000003.png"]
    assert main([*map(str, args[2:]), "--steps", "5", "--resume"]) == 0
    assert len(History.load(out / "history.json")) == 5
    assert "step 5 of 5" in capsys.readouterr().out


@pytest.mark.slow
def test_a_refused_command_is_the_root_cause_of_torchruns_report_without_a_traceback(tmp_path):
    missing = tmp_path / "missing"
    done = torchrun(["-m", "gancourse", "train", "dcgan", "--dataset", f"folder:{missing}", "--out", tmp_path / "run",
                     "--device", "cpu", "--quiet"], cwd=tmp_path, timeout=120)
    said = done.stdout + done.stderr
    line = f"gancourse train: error: the image folder {missing} does not exist."
    assert done.returncode != 0 and "Root Cause" in said, said[-3000:]
    report = said[said.index("Failures:"):]
    assert report.count(line) == 1 and f"traceback : {line}" in report[report.index("Root Cause"):], report
    ours = [row for row in said.splitlines() if row.strip().startswith("File ") and str(ROOT / "gancourse") in row]
    assert ours == [] and not (tmp_path / "run").exists()


def test_a_mistake_under_torchrun_is_one_line_from_rank_0_alone(fm_root, tmp_path, monkeypatch, capsys):
    args = ["train", "dcgan", "--root", fm_root, "--out", tmp_path / "run", "--batch-size", "9", "--device", "cpu"]
    monkeypatch.setenv("WORLD_SIZE", "2")  # as torchrun sets it; the batch is refused before any process group
    said = {}
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        assert main([str(a) for a in args]) == 2
        said[rank] = capsys.readouterr().err.splitlines()
    assert said == {0: ["gancourse train: error: the batch size 9 (--batch-size) does not split evenly over 2 "
                        "processes; choose a multiple of 2."], 1: []}
    assert not (tmp_path / "run").exists()


def test_each_process_keeps_its_rows_of_one_global_draw():
    from gancourse.data.batches import EndlessBatches
    from gancourse.distributed import Shard

    torch.manual_seed(0)
    whole = torch.randn(8, 3)
    parts = []
    for rank in (0, 1):
        torch.manual_seed(0)
        parts.append(Shard(rank, 2).draw(torch.randn, 4, 3))
    assert torch.equal(torch.cat(parts), whole)  # the union is the one-process draw, bit for bit
    torch.manual_seed(0)
    assert torch.equal(Shard().draw(torch.randn, 8, 3), whole)
    x, y = EndlessBatches([(whole, torch.arange(8))], Shard(1, 2)).next()
    assert torch.equal(x, whole[4:]) and y.tolist() == [4, 5, 6, 7]
    with pytest.raises(ValueError, match="does not split evenly over 3 processes"):
        Shard(0, 3).rows(8)


def test_a_bad_argument_under_torchrun_is_told_by_rank_0_alone(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    said = {}
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        with pytest.raises(SystemExit) as stop:
            main(["train", "dcgan", "--out", str(tmp_path / "run"), "--steps", "0"])
        assert stop.value.code == 2
        said[rank] = capsys.readouterr().err
    assert said[0].count("error: argument --steps: must be a positive whole number, got 0") == 1  # after the usage
    assert said[1] == ""


@pytest.mark.slow
def test_with_batch_norm_every_process_keeps_the_same_networks_and_the_saved_statistics_are_their_mean(runs):
    root, _ = runs
    ranks = [torch.load(root / f"bn-rank{r}.pt") for r in (0, 1)]
    saved = weights(root / "bn-two")
    for net in ("G", "D"):
        stats0, rest0 = _split(ranks[0][net])
        stats1, rest1 = _split(ranks[1][net])
        assert stats0, "the DCGAN has batch norm"
        torch.testing.assert_close(rest1, rest0, rtol=0, atol=0)  # averaged gradients: the same weights
        torch.testing.assert_close(stats1, stats0, rtol=0, atol=0)  # averaged statistics: the same too
        torch.testing.assert_close({f"{net}.{k}": v for k, v in stats0.items()},
                                   {k: v for k, v in saved.items() if k.startswith(f"{net}.") and
                                    k.endswith(("running_mean", "running_var"))}, rtol=0, atol=0)


@pytest.mark.slow
def test_with_batch_norm_two_processes_do_not_train_as_one(runs):
    # each process normalises over its own 8 of the 16 samples: another path than one process at batch 16,
    # which the README says; the networks without batch norm above do train as one
    root, _ = runs
    with pytest.raises(AssertionError, match="not close"):
        torch.testing.assert_close(weights(root / "bn-two"), weights(root / "bn-one"), **TOLERANCE)


@pytest.mark.slow
def test_a_fixed_sampler_gives_each_process_its_own_rows_of_one_draw(runs):
    root, reports = runs
    fakes = [r["fakes"] for r in reports]
    assert not set(fakes[0]) & set(fakes[1])  # no fake shared by the two processes
    torch.manual_seed(3)
    from gancourse.data.toy import Gaussian

    whole = Gaussian(0.0, 1.0).sample(8).flatten().tolist()
    assert fakes[0] + fakes[1] == whole  # the union is one process's draw of the global batch
    torch.testing.assert_close(weights(root / "sampler-two"), weights(root / "sampler-one"), **TOLERANCE)
