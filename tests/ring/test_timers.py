"""The consumer-side ring-buffer timers as deadlines (no sleeping: a fake clock)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ustref.consumerd.effects import open_stream_fds
from ustref.ring import create, layout
from ustref.ring.channel import PureChannel
from ustref.ring.reader import Status
from ustref.ring.timers import ChannelTimers, Timer, on_read_timer, on_switch_timer
from ustref.ring.writer import MetadataWriter

MS = 1_000_000  # ns


def _attr(**kw: int | bool) -> create.ChannelAttr:
    return create.ChannelAttr(type=create.ChanType.PER_CPU, subbuf_size=4096, num_subbuf=2, **kw)  # type: ignore[arg-type]


def test_no_timers_no_deadline() -> None:
    timers = ChannelTimers.for_channel(_attr(), armed_ns=5)
    assert timers.next_deadline() is None
    assert timers.due(10**18) == []


def test_read_timer_only_for_rt_clients() -> None:
    # the read timer selects the rt client, so it is always armed when non-zero …
    rt = ChannelTimers.for_channel(_attr(read_timer_interval=200), armed_ns=0)
    assert rt.next_deadline() == 200_000
    # … except on the metadata client, which wakes up by writer
    meta = create.ChannelAttr(
        type=create.ChanType.METADATA, subbuf_size=4096, num_subbuf=2, read_timer_interval=200
    )
    assert ChannelTimers.for_channel(meta, armed_ns=0).next_deadline() is None


def test_periodic_grid_and_coalescing() -> None:
    timers = ChannelTimers.for_channel(
        _attr(switch_timer_interval=1000, read_timer_interval=3000), armed_ns=100
    )
    assert timers.next_deadline() == 100 + 1 * MS
    assert timers.due(100 + MS - 1) == []
    assert timers.due(100 + MS) == [Timer.SWITCH]
    assert timers.next_deadline() == 100 + 2 * MS
    # 5.5 periods late: one run (signals coalesce), next expiry stays on the grid
    assert timers.due(100 + 7 * MS + MS // 2) == [Timer.SWITCH, Timer.READ]
    assert timers.next_deadline() == 100 + 8 * MS
    assert timers.due(100 + 8 * MS) == [Timer.SWITCH]
    assert timers.due(100 + 9 * MS) == [Timer.SWITCH, Timer.READ]


@pytest.fixture
def metadata_stream() -> Iterator[tuple[PureChannel, MetadataWriter]]:
    attr = create.ChannelAttr(type=create.ChanType.METADATA, subbuf_size=4096, num_subbuf=2)
    fds = open_stream_fds(1)
    chan = PureChannel.create(attr, fds)
    writer = MetadataWriter.attach(fds[0])
    yield chan, writer
    writer.close()
    chan.destroy()
    os.close(fds[0])


def test_switch_timer_flushes_only_streams_with_a_reader(
    metadata_stream: tuple[PureChannel, MetadataWriter],
) -> None:
    _chan, writer = metadata_stream
    writer.write_one_packet(b"x" * 100)
    assert on_switch_timer([writer]) == 0
    assert writer.poll_deliver() is False
    writer.open_read()
    assert on_switch_timer([writer]) == 1
    assert writer.get_next_subbuf() is Status.OK
    assert writer.get_subbuf_size() == layout.METADATA_SUBBUF_HEADER_SIZE + 100


def test_read_timer_wakes_a_reader_with_data(
    metadata_stream: tuple[PureChannel, MetadataWriter],
) -> None:
    chan, writer = metadata_stream
    stream = chan.stream(0)
    writer.open_read()
    writer.write_one_packet(b"y" * 10)
    assert on_read_timer([(writer, stream.wakeup_fd)]) == 0  # packet still open
    writer.flush_buffer(True)
    os.set_blocking(stream.wait_fd, False)
    while True:  # the flush itself woke the reader (wakeup by writer): drain the pipe
        try:
            os.read(stream.wait_fd, 64)
        except BlockingIOError:
            break
    assert on_read_timer([(writer, stream.wakeup_fd)]) == 1
    assert os.read(stream.wait_fd, 64) == b"\0"
