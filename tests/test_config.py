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
