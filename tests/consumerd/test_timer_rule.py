"""The one periodic-timer rule (:class:`ustref.ring.timers.PeriodicTimer`) that the
monitor, metadata switch and ring switch/read timers share: a grid, coalescing."""

from __future__ import annotations

import pytest

from ustref.ring.timers import PeriodicTimer

MS = 1_000_000


def test_deadlines_stay_on_the_grid_and_missed_periods_coalesce() -> None:
    timer = PeriodicTimer.armed(5 * MS, 10 * MS)
    assert timer.deadline == 15 * MS
    assert timer.fire(15 * MS - 1) is False
    assert timer.fire(15 * MS) is True
    assert timer.deadline == 25 * MS
    assert timer.fire(27 * MS) is True  # late: the next deadline is not now + period
    assert timer.deadline == 35 * MS
    assert timer.fire(80 * MS) is True  # four periods missed: one firing
    assert timer.deadline == 85 * MS
    assert timer.fire(80 * MS) is False  # fired at most once per call and deadline


def test_a_period_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PeriodicTimer.armed(0, 0)
