"""The ring-buffer timers liblttng-ust-ctl arms in the consumer, as deadlines.

``channel_create()`` in the consumer process starts, through
``lib_ring_buffer_channel_switch_timer_start()`` and ``_read_timer_start()``
(src/common/ringbuffer/ring_buffer_frontend.c @ v2.13.5), periodic POSIX timers
(``CLOCK_MONOTONIC``, first expiry one interval after creation, signal-driven, so
overruns coalesce into one run):

* the switch timer, when ``switch_timer_interval`` is non-zero (any client):
  ``lib_ring_buffer_channel_switch_timer()`` does ``lib_ring_buffer_switch_slow(buf,
  SWITCH_ACTIVE)`` — ``flush_buffer(True)`` — on every stream that has an active reader;
* the read timer, for the ``-rt`` clients (``RING_BUFFER_WAKEUP_BY_TIMER``) when
  ``read_timer_interval`` is non-zero: ``lib_ring_buffer_channel_do_read()`` writes one
  byte to the wakeup pipe of every stream with an active reader and a deliverable
  sub-buffer (``lib_ring_buffer_poll_deliver()``, ``lib_ring_buffer_wakeup()``).

lttng-tools' consumer passes the session daemon's switch interval straight to the library
for data channels (its own switch timer serves the metadata channel), so a pure consumer
must run these. Here they are deadlines (:meth:`ChannelTimers.next_deadline`,
:meth:`ChannelTimers.due`) and actions on readers; the daemon's loop owns the clock.

:class:`PeriodicTimer` is ustref's one periodic-timer rule: these two timers, and the
consumer daemon's own monitor and metadata switch timers (consumer-timer.c, later the
live timer), are all :class:`PeriodicTimer` deadlines in integer monotonic nanoseconds.
"""

from __future__ import annotations

import contextlib
import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

from ustref.ring import create
from ustref.ring.reader import _OFF_ACTIVE_READERS, StreamReader


@dataclass
class PeriodicTimer:
    """A periodic timer as a deadline, in integer nanoseconds of one monotonic clock.

    The rule (the only one in ustref): armed at ``t0`` with period ``p``, its deadlines
    are the grid ``t0 + k·p`` (k ≥ 1). :meth:`fire` at ``now`` fires at most once: when
    ``now`` reached the deadline, every period missed since is coalesced into that one
    firing (as POSIX timer overruns coalesce into one signal, and as
    ``timer_settime``'s interval keeps the grid), and the next deadline is the first
    grid point after ``now`` — the grid never drifts to the time the firing ran.
    """

    period_ns: int
    deadline: int

    @classmethod
    def armed(cls, now: int, period_ns: int) -> PeriodicTimer:
        """A timer armed at ``now``: its first expiry one period later."""
        if period_ns <= 0:
            raise ValueError(f"a periodic timer needs a positive period, not {period_ns}")
        return cls(period_ns, now + period_ns)

    def fire(self, now: int) -> bool:
        """Whether the timer expired by ``now`` (once, however many periods passed);
        if so, move the deadline to the next grid point after ``now``."""
        if now < self.deadline:
            return False
        self.deadline += ((now - self.deadline) // self.period_ns + 1) * self.period_ns
        return True


class Timer(enum.Enum):
    SWITCH = "switch"
    READ = "read"


@dataclass
class ChannelTimers:
    """The periodic timers of one channel, armed at ``armed_ns`` (monotonic ns)."""

    armed_ns: int
    switch_interval_us: int = 0
    read_interval_us: int = 0
    _timers: dict[Timer, PeriodicTimer] = field(default_factory=dict)

    @classmethod
    def for_channel(cls, attr: create.ChannelAttr, armed_ns: int) -> ChannelTimers:
        """The timers ``channel_create()`` starts for ``attr``."""
        client = create.select_client(attr)
        read = attr.read_timer_interval if client.wakeup == create.WAKEUP_BY_TIMER else 0
        return cls(armed_ns, attr.switch_timer_interval, read)

    def __post_init__(self) -> None:
        if self.switch_interval_us:
            self._timers[Timer.SWITCH] = PeriodicTimer.armed(
                self.armed_ns, self.switch_interval_us * 1000
            )
        if self.read_interval_us:
            self._timers[Timer.READ] = PeriodicTimer.armed(
                self.armed_ns, self.read_interval_us * 1000
            )

    def next_deadline(self) -> int | None:
        """The earliest pending expiry (monotonic ns), or ``None`` without timers."""
        return min((t.deadline for t in self._timers.values()), default=None)

    def due(self, now_ns: int) -> list[Timer]:
        """The timers that expired by ``now_ns`` (:meth:`PeriodicTimer.fire`: once each
        however many periods passed, re-armed on their grid)."""
        return [timer for timer, periodic in self._timers.items() if periodic.fire(now_ns)]


def _active(reader: StreamReader) -> bool:
    return bool(reader.mapping.load_ulong(_OFF_ACTIVE_READERS))


def on_switch_timer(readers: Iterable[StreamReader]) -> int:
    """``lib_ring_buffer_channel_switch_timer()``: flush (``SWITCH_ACTIVE``) every stream with
    an active reader; returns how many were flushed."""
    count = 0
    for reader in readers:
        if _active(reader):
            reader.flush_buffer(True)
            count += 1
    return count


def on_read_timer(streams: Iterable[tuple[StreamReader, int]]) -> int:
    """``lib_ring_buffer_channel_do_read()`` over ``(reader, wakeup_fd)`` pairs: wake the
    readers that have a sub-buffer to read; returns how many were woken."""
    count = 0
    for reader, wakeup_fd in streams:
        if wakeup_fd >= 0 and _active(reader) and reader.poll_deliver():
            with contextlib.suppress(BlockingIOError, BrokenPipeError):
                os.write(wakeup_fd, b"\0")
            count += 1
    return count
