"""Registry objects for the sans-IO core tests: a channel with no ring buffer behind it."""

from __future__ import annotations

import dataclasses
from typing import Any, cast

from ustref.consumerd.registry import Channel, ChannelType
from ustref.consumerd.ring_backend import UstChannel
from ustref.ids import ChannelKey, SessionId


class NoRing:
    """Stands in for a ust-ctl channel handle: no buffers, no timers."""

    destroyed = False

    def next_deadline(self) -> None:
        return None

    def run_timers(self, now: int) -> None:
        pass

    def destroy(self) -> None:
        self.destroyed = True


def bare_channel(key: int, kind: ChannelType, **changes: Any) -> Channel:
    """A local, monitored channel of session 1 named ``chan<key>``; ``changes``
    override any field (``monitor=False``, ``session_id_per_pid=9``…)."""
    channel = Channel(
        key=ChannelKey(key),
        session_id=SessionId(1),
        pathname="",
        name=f"chan{key}",
        type=kind,
        tracefile_size=0,
        tracefile_count=0,
        session_id_per_pid=0,
        monitor=True,
        ust_app_uid=0,
        monitor_timer_interval_us=0,
        switch_timer_interval_us=0,
        ust=cast(UstChannel, NoRing()),
        stream_fds=[],
    )
    return dataclasses.replace(channel, **changes) if changes else channel
