import pytest
import torch

from gancourse.config import fast_mode, resolve_device, scale


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", " Yes ", "on"])
def test_fast_mode_on(monkeypatch, value):
    monkeypatch.setenv("GANCOURSE_FAST", value)
    assert fast_mode() is True
    assert scale(1000, 10) == 10


@pytest.mark.parametrize("value", ["0", "false", "no", ""])
def test_fast_mode_off(monkeypatch, value):
    monkeypatch.setenv("GANCOURSE_FAST", value)
    assert fast_mode() is False
    assert scale(1000, 10) == 1000


def test_fast_mode_unset(monkeypatch):
    monkeypatch.delenv("GANCOURSE_FAST", raising=False)
    assert fast_mode() is False


def test_fast_mode_rejects_nonsense(monkeypatch):
    monkeypatch.setenv("GANCOURSE_FAST", "maybe")
    with pytest.raises(ValueError, match="GANCOURSE_FAST='maybe'"):
        fast_mode()


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(None).type in ("cpu", "cuda", "mps")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            resolve_device("cuda")


def _on(monkeypatch, device: str):
    import gancourse.config as config

    monkeypatch.setattr(config, "default_device", lambda: torch.device(device))


def test_a_long_full_mode_does_not_start_unasked_on_a_cpu(monkeypatch, capsys):
    from gancourse.config import choose_mode

    monkeypatch.setenv("GANCOURSE_FAST", "")  # empty counts as unset; monkeypatch restores what choose_mode sets
    _on(monkeypatch, "cpu")
    assert choose_mode(cpu_full_minutes=240, fast_minutes=3) is True
    out = capsys.readouterr().out
    assert "about 4 hours" in out and "%env GANCOURSE_FAST=0" in out and len(out.strip().splitlines()) == 1
    assert fast_mode() and scale(1000, 10) == 10  # the rest of the notebook follows


@pytest.mark.parametrize("asked, device, minutes", [("0", "cpu", 240), ("", "cuda", 240), ("", "cpu", 5)])
def test_full_mode_runs_where_asked_for_on_a_gpu_or_when_short(monkeypatch, capsys, asked, device, minutes):
    from gancourse.config import choose_mode

    monkeypatch.setenv("GANCOURSE_FAST", asked)
    _on(monkeypatch, device)
    assert choose_mode(cpu_full_minutes=minutes, fast_minutes=1) is False
    assert capsys.readouterr().out == ""


def test_fast_mode_asked_for_is_kept_without_a_word(monkeypatch, capsys):
    from gancourse.config import choose_mode

    monkeypatch.setenv("GANCOURSE_FAST", "1")
    _on(monkeypatch, "cpu")
    assert choose_mode(cpu_full_minutes=240, fast_minutes=3) is True and capsys.readouterr().out == ""
