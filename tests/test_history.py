import pytest

from gancourse.history import History


def _history(values, start=1):
    steps = list(range(start, start + len(values)))
    return History(step=steps, d_loss=list(values), g_loss=[0.0] * len(values), seconds=[0.0] * len(values))


def test_window_mean_looks_back_from_each_step_only():
    h = _history([0, 0, 0, 10, 10, 10])  # a jump after step 3
    assert h.window_mean("d_loss", [3, 6], window=3) == [0, 10]  # a window reaching forward would give 10/3
    assert h.window_mean("d_loss", [4], window=2) == [5]


def test_window_mean_uses_what_is_logged_at_the_start_and_refuses_empty_windows():
    h = _history([2, 4, 6], start=10)
    assert h.window_mean("d_loss", [10, 11], window=5) == [2, 3]
    with pytest.raises(ValueError, match="no d_loss logged"):
        h.window_mean("d_loss", [5], window=3)
    with pytest.raises(ValueError, match="at least 1"):
        h.window_mean("d_loss", [10], window=0)


def test_agreement_after_peak_ignores_the_rise_and_sees_the_order_after_it():
    from gancourse.history import agreement_after_peak

    fd = [9, 8, 7, 6, 5, 4, 3]
    rho, peak = agreement_after_peak([1, 3, 5, 4, 3, 2, 1], fd)  # rises, then falls with the distance
    assert peak == 2 and rho == pytest.approx(1.0)
    rho, _ = agreement_after_peak([1, 5, 2, 3, 4, 4.5, 4.8], fd)  # after its peak it climbs back while FD falls
    assert rho < 0
    with pytest.raises(ValueError, match="fewer than three"):
        agreement_after_peak([1, 2, 3, 4, 5], [5, 4, 3, 2, 1])  # still rising at the end: nothing to compare
