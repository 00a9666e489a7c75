"""``gancourse train dcgan|wgan-gp``, ``gancourse sample`` and ``gancourse bench speed`` on tiny files."""

import json

import pytest
from PIL import Image
from test_data_images import write_mnist_split, write_pictures

from gancourse.cli import main
from gancourse.train import History


def tiny_train(kind, root, out, steps, *extra):
    return main(["train", kind, "--root", str(root), "--out", str(out), "--steps", str(steps), "--batch-size", "8",
                 "--width", "8", "--sample-every", "2", "--checkpoint-every", "2", "--device", "cpu", "--quiet",
                 *extra])  # fmt: skip


@pytest.mark.parametrize("kind", ["dcgan", "wgan-gp"])
def test_train_writes_checkpoints_samples_and_resumes(kind, fm_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert tiny_train(kind, fm_root, out, 4) == 0
    for name in ("checkpoint.pt", "history.json", "config.json", "samples.png", "samples_000002.png"):
        assert (out / name).is_file(), name
    assert len(History.load(out / "history.json")) == 4
    assert tiny_train(kind, fm_root, out, 6, "--resume") == 0
    assert len(History.load(out / "history.json")) == 6
    assert (out / "samples_000006.png").is_file()
    assert tiny_train(kind, fm_root, out, 8) == 2  # an existing run is not overwritten
    assert "already holds a run" in capsys.readouterr().err


def _run_files(out):
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_resume_with_other_arguments_is_refused_and_rewrites_nothing(fm_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert tiny_train("dcgan", fm_root, out, 2) == 0
    before = _run_files(out)
    for extra, said in [(["--image-size", "32"], "--image-size None (the run) vs 32 (asked)"),
                        (["--batch-size", "4"], "--batch-size 8 (the run) vs 4 (asked)"),
                        (["--dataset", "mnist"], "--dataset fashion-mnist (the run) vs mnist (asked)"),
                        (["--seed", "3"], "--seed 0 (the run) vs 3 (asked)")]:
        assert tiny_train("dcgan", fm_root, out, 4, "--resume", *extra) == 2, extra
        assert said in capsys.readouterr().err
    assert tiny_train("wgan-gp", fm_root, out, 4, "--resume") == 2
    assert "trained by 'gancourse train dcgan'" in capsys.readouterr().err
    assert tiny_train("dcgan", fm_root, out, 2, "--resume") == 2
    assert "already at step 2" in capsys.readouterr().err
    assert _run_files(out) == before  # nothing in the folder was rewritten


def test_resume_on_another_copy_of_the_data_is_refused(fm_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert tiny_train("dcgan", fm_root, out, 2) == 0
    other = tmp_path / "other"
    for split in ("train", "test"):
        write_mnist_split(other, split=split, n=32, seed=5)  # same name, shape and size; other pictures
    assert tiny_train("dcgan", other, out, 4, "--resume") == 2
    assert "data fingerprint" in capsys.readouterr().err


def test_unsupported_image_size_is_a_clear_error(tmp_path, capsys, cli):
    write_pictures(tmp_path / "pics", n=3)
    args = ["train", "dcgan", "--dataset", f"folder:{tmp_path / 'pics'}", "--image-size", "40", "--out", tmp_path / "r"]
    assert cli(args) == 2
    assert "invalid choice: 40 (choose from 28, 32, 64)" in capsys.readouterr().err


def test_a_folder_of_tiny_pictures_is_refused_in_one_line_and_small_ones_are_a_note(tmp_path, capsys, cli):
    write_pictures(tmp_path / "dots", n=2, size=(1, 1))
    args = ["train", "dcgan", "--dataset", f"folder:{tmp_path / 'dots'}", "--out", tmp_path / "r", "--steps", "1",
            "--batch-size", "2", "--width", "8", "--device", "cpu", "--quiet"]
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"gancourse train: error: the smallest picture in {tmp_path / 'dots'} is 1×1 px "
                                "(pic0.png); the model takes 64 px a side, and a picture under 32 px upscaled that "
                                "far would be mostly interpolation. Use pictures of at least 32 px a side, or pass a "
                                "smaller --image-size (at most 2)."]
    assert not (tmp_path / "r").exists()
    write_pictures(tmp_path / "small", n=2, size=(20, 20))
    assert cli([*args[:3], f"folder:{tmp_path / 'small'}", *args[4:], "--image-size", "32"]) == 0
    assert (f"gancourse: note: 2 of the 2 pictures in {tmp_path / 'small'} are under 32 px a side (the smallest, "
            "pic0.png, is 20×20 px); they are upscaled to 32 px.") in capsys.readouterr().err.splitlines()


def test_sample_writes_a_grid_of_n_images(fm_root, tmp_path, capsys):
    out = tmp_path / "run"
    assert tiny_train("dcgan", fm_root, out, 2) == 0
    grid = tmp_path / "grid.png"
    assert main(["sample", str(out / "checkpoint.pt"), "--n", "16", "--out", str(grid), "--nrow", "4"]) == 0
    with Image.open(grid) as picture:
        assert picture.size == (4 * 28 + 5 * 2, 4 * 28 + 5 * 2)  # 4 x 4 images, 2 px padding
    assert "16 samples from step 2" in capsys.readouterr().out


def test_sample_refuses_foreign_and_toy_checkpoints(tmp_path, capsys):
    foreign = tmp_path / "foreign.pt"
    foreign.write_bytes(b"not a checkpoint at all")
    assert main(["sample", str(foreign), "--out", str(tmp_path / "g.png")]) == 2
    assert "could not be read" in capsys.readouterr().err
    toy = tmp_path / "toy"
    assert main(["train", "toy", "--dataset", "ring8", "--steps", "2", "--out", str(toy), "--quiet",
                 "--hidden", "8", "--depth", "1"]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["sample", str(toy), "--out", str(tmp_path / "g.png")]) == 2
    assert "not an image generator" in capsys.readouterr().err


def test_bench_speed_prints_json(fm_root, capsys):
    args = ["bench", "speed", "--device", "cpu", "--json", "--root", str(fm_root), "--width", "8",
            "--batch-size", "8", "--steps", "1", "--warmup", "1", "--repeats", "1", "--workers", "0"]  # fmt: skip
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["device"] == "cpu" and result["batch_size"] == 8 and result["ratio"] > 0
    assert len(result["reference"]) == len(result["ours"]) == 1


def test_a_conditional_run_trains_samples_each_class_and_resumes_only_as_conditional(fm_root, tmp_path, capsys):
    from gancourse.checkpoint import load_generator

    out = tmp_path / "run"
    assert tiny_train("dcgan", fm_root, out, 2, "--conditional") == 0
    G, _ = load_generator(out)
    assert G.n_classes == 10 and (out / "samples.png").is_file()
    assert tiny_train("dcgan", fm_root, out, 4, "--resume") == 2
    assert "--conditional True (the run) vs False (asked)" in capsys.readouterr().err
    assert tiny_train("dcgan", fm_root, out, 4, "--resume", "--conditional") == 0
    assert main(["sample", str(out), "--n", "20", "--out", str(tmp_path / "g.png")]) == 0
    assert (tmp_path / "g.png").is_file()


def test_a_run_saved_before_conditional_existed_resumes_as_unconditional(fm_root, tmp_path):
    import torch

    out = tmp_path / "run"
    assert tiny_train("dcgan", fm_root, out, 2) == 0
    ckpt = torch.load(out / "checkpoint.pt", weights_only=False)
    del ckpt["meta"]["arguments"]["conditional"]  # as written by a version without the argument
    torch.save(ckpt, out / "checkpoint.pt")
    assert tiny_train("dcgan", fm_root, out, 4, "--resume") == 0
