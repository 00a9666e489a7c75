import json

import pytest

from gancourse.cli import build_parser, main
from gancourse.train import load_checkpoint


def test_doctor_reports_and_exits_zero(capsys, monkeypatch):
    monkeypatch.setenv("GANCOURSE_FAST", "1")
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for label in ("torch", "device", "fast mode", "Fashion-MNIST", "FID weights"):
        assert label in out
    from gancourse.commands.doctor import report

    assert dict(report())["fast mode"].startswith("on")
    monkeypatch.setenv("GANCOURSE_FAST", "0")
    assert dict(report())["fast mode"].startswith("off")


def test_doctor_finds_fashion_mnist_in_gancourse_data(tmp_path, monkeypatch, capsys):
    import gzip

    from gancourse.commands import doctor

    folder = tmp_path / "FashionMNIST" / "raw"
    folder.mkdir(parents=True)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        with gzip.open(folder / f"{stem}.gz", "wb") as f:
            f.write(b"\x00")
    monkeypatch.setenv("GANCOURSE_DATA", str(tmp_path))
    assert doctor.fashion_mnist_location() == folder
    # the doctor says where training's data comes from: the copy under $GANCOURSE_DATA, not Debian's
    assert doctor.fashion_mnist_source() == f"{folder} ($GANCOURSE_DATA; training reads train-images-idx3-ubyte.gz)"


def test_train_toy_writes_everything_and_resumes(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "toy", "--dataset", "ring8", "--steps", "30", "--out", str(out), "--quiet",
            "--hidden", "16", "--depth", "1", "--checkpoint-every", "10"]
    assert main(args) == 0
    for name in ("samples.png", "checkpoint.pt", "history.json", "config.json"):
        assert (out / name).is_file()
    assert (out / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "modes captured" in printed and "/8" in printed
    assert json.loads((out / "history.json").read_text())["step"][-1] == 30

    # a second run into the same folder without --resume is refused and changes nothing
    before = (out / "checkpoint.pt").read_bytes()
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    assert (out / "checkpoint.pt").read_bytes() == before

    longer = [a if a != "30" else "40" for a in args]
    assert main(longer + ["--resume"]) == 0
    assert load_checkpoint(out)["step"] == 40


def test_train_toy_bad_input(tmp_path, capsys, cli):
    assert cli(["train", "toy", "--steps", "0", "--out", tmp_path / "a", "--quiet"]) == 2
    assert "argument --steps: must be a positive whole number, got 0" in capsys.readouterr().err
    assert cli(["train", "toy", "--n-critic", "0", "--out", tmp_path / "b", "--quiet"]) == 2
    assert "--n-critic" in capsys.readouterr().err
    assert cli(["train", "toy", "--gp-weight", "-1", "--out", tmp_path / "c", "--quiet"]) == 2
    assert "--gp-weight" in capsys.readouterr().err
    assert cli(["train", "toy", "--loss", "vanilla", "--out", tmp_path / "d"]) == 2
    assert "invalid choice: 'vanilla'" in capsys.readouterr().err
    assert not any((tmp_path / name).exists() for name in "abcd")  # refused before any folder was made


def test_resume_from_missing_or_corrupt_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "toy", "--out", str(run), "--resume", "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    run.mkdir(exist_ok=True)
    (run / "checkpoint.pt").write_bytes(b"garbage")
    assert main(["train", "toy", "--out", str(run), "--resume", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(run / "checkpoint.pt") in err and "could not be read" in err
    assert (run / "checkpoint.pt").read_bytes() == b"garbage"


def test_unwritable_output_fails_before_training(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["train", "toy", "--out", str(blocker / "run"), "--quiet"]) == 2
    assert "cannot write to the output folder" in capsys.readouterr().err


def test_every_command_has_help():
    parser = build_parser()
    text = parser.format_help()
    for name in ("doctor", "train", "bench"):
        assert name in text


def test_nothing_of_the_users_is_overwritten(tmp_path, capsys, cli):
    mine = tmp_path / "mine"
    mine.mkdir()
    for name, text in (("config.json", "mine"), ("history.json", "mine too"), ("samples.png", "a picture")):
        (mine / name).write_text(text)
    assert cli(["train", "toy", "--steps", "3", "--out", mine, "--quiet"]) == 2
    assert "holds files that are not a gancourse run" in capsys.readouterr().err
    assert {p.name: p.read_text() for p in mine.iterdir()} == {
        "config.json": "mine", "history.json": "mine too", "samples.png": "a picture"}  # fmt: skip


def test_a_second_run_into_a_busy_folder_is_refused(tmp_path, capsys, cli):
    from gancourse.checkpoint import RunLock

    run = tmp_path / "run"
    run.mkdir()
    lock = RunLock(run).acquire()  # as a run in another process holds it
    try:
        assert cli(["train", "toy", "--steps", "3", "--out", run, "--quiet"]) == 2
    finally:
        lock.release()
    assert "another gancourse run is writing to" in capsys.readouterr().err
    assert not (run / "checkpoint.pt").exists() and not (run / "config.json").exists()


@pytest.mark.parametrize("signum, expected, said", [(2, 130, "Ctrl-C"), (15, 143, "SIGTERM")])
def test_ctrl_c_and_sigterm_save_and_exit_as_shells_expect(tmp_path, capsys, cli, signum, expected, said):
    import os
    import threading
    import time

    run = tmp_path / "run"
    done = threading.Event()

    def signal_once_training_runs():  # history.json comes with the first checkpoint, inside the loop
        while not done.is_set():
            if (run / "history.json").exists():
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.05)

    sender = threading.Thread(target=signal_once_training_runs, daemon=True)
    sender.start()
    try:
        got = cli(["train", "toy", "--steps", "1000000", "--batch-size", "16", "--hidden", "8", "--depth", "1",
                   "--checkpoint-every", "200", "--out", run, "--quiet"])
    finally:
        done.set()
    assert got == expected
    step = load_checkpoint(run)["step"]
    assert 0 < step < 1_000_000 and f"Stopped by {said}" in capsys.readouterr().out


def test_a_run_that_fails_exits_1_and_debug_shows_the_traceback(tmp_path, capsys, cli):
    args = ["train", "toy", "--steps", "300", "--lr", "1e6", "--quiet", "--out"]
    assert cli([*args, tmp_path / "run"]) == 1
    err = capsys.readouterr().err.strip()
    assert "diverged" in err and "Traceback" not in err and len(err.splitlines()) == 1
    from gancourse.history import NonFiniteLossError

    with pytest.raises(NonFiniteLossError):
        cli([*args, tmp_path / "run2", "--debug"])


@pytest.mark.parametrize("rank, lines", [("0", 1), ("1", 0)])
def test_a_one_process_command_under_torchrun_says_so_once(cli, tmp_path, monkeypatch, capsys, rank, lines):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    assert cli(["train", "toy", "--out", tmp_path / "run", "--steps", "5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == lines and all("train toy runs in one process; start it without torchrun" in e for e in err)
    assert not (tmp_path / "run").exists()


@pytest.mark.filterwarnings("ignore:Unable to enable fault handler")  # record's, on pytest's captured stderr
def test_under_torchrun_the_command_ends_before_the_interpreters_teardown(monkeypatch, capsys):
    import gancourse.cli as cli

    ended = []

    def os_exit(status):  # the real one ends the process at once: what is printed must be flushed before it
        ended.append(status)
        raise InterruptedError

    monkeypatch.setattr(cli, "_main", lambda argv=None: (print("wrote run/checkpoint.pt") or 3, None))
    monkeypatch.setattr(cli.os, "_exit", os_exit)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(InterruptedError):
        cli.entry()
    assert ended == [3] and capsys.readouterr().out == "wrote run/checkpoint.pt\n"
    monkeypatch.setenv("WORLD_SIZE", "1")  # one process: the usual exit, atexit handlers and all
    with pytest.raises(SystemExit) as stop:
        cli.entry()
    assert stop.value.code == 3 and ended == [3]


@pytest.mark.filterwarnings("ignore:Unable to enable fault handler")
@pytest.mark.parametrize("rank", ["0", "1"])
def test_under_torchrun_a_refusal_is_what_torchruns_report_shows(tmp_path, monkeypatch, capsys, rank):
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    import gancourse.cli as cli

    ended, slept, error_file = [], [], tmp_path / "error.json"
    monkeypatch.setattr(cli.os, "_exit", lambda status: ended.append(status))
    monkeypatch.setattr(cli.time, "sleep", slept.append)
    monkeypatch.setattr(cli.sys, "argv", ["gancourse", "train", "toy", "--out", str(tmp_path / "run")])
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("TORCHELASTIC_ERROR_FILE", str(error_file))  # torchrun names one file per process
    cli.entry()
    line = "gancourse train: error: train toy runs in one process; start it without torchrun (torchrun is for " \
           "the image recipes, 'gancourse train dcgan' and the like)."
    assert ended == [2] and capsys.readouterr().err.splitlines() == ([line] if rank == "0" else [])
    if rank != "0":  # it printed nothing and records nothing: the report names the line once, from rank 0 ...
        assert not error_file.exists()
        assert slept == [cli.REPORT_GRACE_SECONDS]  # ... which has time to fail first: the root cause
        return
    assert slept == []
    failure = ProcessFailure(local_rank=0, pid=1, exitcode=2, error_file=str(error_file))  # as torchrun reads it
    report = ChildFailedError("gancourse", {0: failure}).format_msg()
    assert f"traceback : {line}\n" in report and "Traceback" not in report


HEAVY = ("torch", "scipy", "numpy", "matplotlib", "sklearn")


def _heavy_modules_after(*args: str) -> tuple[int, list[str], str]:
    """Run ``gancourse ARGS`` in a fresh interpreter; its exit status, the heavy modules it had imported at exit,
    and what it printed."""
    import subprocess
    import sys

    probe = ("import atexit, sys\n"
             f"atexit.register(lambda: print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr))\n"
             "from gancourse.cli import entry\n"
             f"sys.argv = ['gancourse', *{list(args)!r}]\n"
             "entry()\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    line = [x for x in done.stderr.splitlines() if x.startswith("HEAVY ")][-1]
    return done.returncode, eval(line[len("HEAVY "):]), done.stdout


def _subcommands() -> list[list[str]]:
    import argparse

    def walk(parser, prefix):
        found = [prefix]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += walk(sub, [*prefix, name])
        return found

    return walk(build_parser(), [])


def test_help_and_version_import_neither_torch_nor_scipy():
    commands = _subcommands()
    assert ["train", "dcgan"] in commands and ["bench", "modes"] in commands and len(commands) > 10
    for command in commands:
        status, heavy, out = _heavy_modules_after(*command, "--help")
        assert (status, heavy) == (0, []), command
        assert out.startswith("usage: gancourse"), command
    assert _heavy_modules_after("--version")[:2] == (0, [])
    # the wrong variant: a command that runs (doctor) does import torch, and the probe sees it
    assert "torch" in _heavy_modules_after("doctor")[1]


def test_the_commands_choices_are_the_packages():
    from gancourse.bench.modes import METHODS, MIXTURES, ToySetup
    from gancourse.bench.quality import DEFAULT_RECIPES as QUALITY_RECIPES
    from gancourse.commands import choices
    from gancourse.data.images import DATASET_NAMES
    from gancourse.data.toy import MIXTURE_SPEC_HELP, TOY_NAMES
    from gancourse.losses import LOSS_FAMILIES
    from gancourse.metrics.fid import FEATURES
    from gancourse.recipes import IMAGE_RECIPES, RECIPES

    assert choices.LOSSES == tuple(LOSS_FAMILIES) and choices.TOY_DATASETS == tuple(TOY_NAMES)
    assert choices.IMAGE_DATASETS == tuple(DATASET_NAMES) and choices.FID_FEATURES == tuple(FEATURES)
    assert choices.RECIPES == tuple(RECIPES) and choices.BENCH_METHODS == tuple(METHODS)
    assert choices.IMAGE_RECIPES == IMAGE_RECIPES and choices.BENCH_QUALITY_RECIPES == QUALITY_RECIPES
    assert choices.BENCH_MIXTURES == tuple(MIXTURES) and choices.MIXTURE_SPEC_HELP == MIXTURE_SPEC_HELP
    assert choices.BENCH_DEFAULTS == {k: getattr(ToySetup(), k) for k in choices.BENCH_DEFAULTS}
    assert choices.BENCH_MEASURED_SETUPS == {name: r.measured_setup for name, r in RECIPES.items() if r.measured_setup}
