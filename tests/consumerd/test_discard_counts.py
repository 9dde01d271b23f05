"""The channel's discarded-event count when packet headers go backwards (issue 20, item 7).

Under many writers sharing per-UID buffers, lttng-ust 2.13.5 can deliver a packet
whose ``events_discarded`` is 0 after packets that counted discards (see
:func:`ustref.consumerd.streams._update_stats`). The C consumer then takes its
wrap branch in ``uint64_t`` arithmetic; ustref must report the same count for the
same packets, and never fail to build the DISCARDED_EVENTS reply.
"""

from __future__ import annotations

import ctypes
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

import pytest

from tests.consumerd.fakes import bare_channel
from ustref.consumerd.registry import ChannelType, Stream
from ustref.consumerd.ring_backend import UstStream
from ustref.consumerd.streams import _update_stats
from ustref.ids import StreamKey
from ustref.lttng import SessionDaemon
from ustref.lttng.sessiond import parse_discarded_events
from ustref.output.index import parse_index_file
from ustref.protocol.consumer import DISCARDED_EVENTS_REPLY, DiscardedEventsReply
from ustref.transport.launcher import which

# events_discarded of one stream's packets in one real 16-app per-UID run (C consumer):
# a header of 0 after a count, as lttng-ust delivers it from a late committer.
REAL_HEADERS = (12, 90_831, 0, 91_002, 711_677, 0, 712_000, 855_646, 0, 943_702, 0, 1_215_120)


def c_uint64_model(headers: Sequence[int]) -> int:
    """consumer-stream.c ``consumer_stream_update_stats()`` computed with C's own
    ``uint64_t`` (ctypes wraps as the C type does): the discarded-event count."""
    total = ctypes.c_uint64(0)
    last = ctypes.c_uint64(0)
    for value in headers:
        now = ctypes.c_uint64(value)
        if now.value < last.value:
            total = ctypes.c_uint64(total.value + (1 << 63) - last.value + now.value)
        else:
            total = ctypes.c_uint64(total.value + now.value - last.value)
        last = now
    return total.value


def _stream() -> Stream:
    channel = bare_channel(1, ChannelType.DATA)
    stream = Stream(
        key=StreamKey(0), channel=channel, cpu=0, ust=cast(UstStream, object()), wait_fd=-1
    )
    channel.streams.append(stream)
    return stream


def _feed(headers: Sequence[int], first_seq: int = 0) -> Stream:
    stream = _stream()
    for seq, value in enumerate(headers, first_seq):
        _update_stats(stream, value, seq)
    return stream


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param((0, 5, 9, 9, 40), id="monotonic"),
        pytest.param(REAL_HEADERS, id="zero-headers-of-a-real-run"),
        pytest.param((2**64 - 3, 4), id="a-real-wrap"),
        pytest.param((7, 0) * 40, id="eighty-backward-steps"),
    ],
)
def test_discarded_events_follow_the_c_uint64_arithmetic(headers: tuple[int, ...]) -> None:
    stream = _feed(headers)
    expected = c_uint64_model(headers)
    assert stream.channel.discarded_events == expected
    assert 0 <= stream.channel.discarded_events < 2**64
    # The reply the session daemon asks for always builds.
    reply = DiscardedEventsReply(discarded_events=stream.channel.discarded_events)
    assert DISCARDED_EVENTS_REPLY.parse(DISCARDED_EVENTS_REPLY.build(reply)) == reply


def test_lost_packets_count_the_gaps_in_sequence_numbers() -> None:
    stream = _stream()
    for seq in (3, 4, 8, 9, 20):
        _update_stats(stream, 0, seq)
    # the first packet starts the sequence; then 5-7 and 10-19 are missing
    assert stream.channel.lost_packets == 3 + 10


def _c_sum_of_index_files(trace: Path) -> int:
    """What ``consumer_stream_update_stats()`` sums over the packets the consumer
    wrote, read back from its CTF index files."""
    total = 0
    for index in sorted(trace.rglob("*.idx")):
        headers = [entry.events_discarded for entry in parse_index_file(index.read_bytes()).entries]
        total = ctypes.c_uint64(total + c_uint64_model(headers)).value
    return total


APPS = 16
EVENTS_PER_APP = 150_000


@pytest.mark.lttng
@pytest.mark.parametrize("consumer", ["c", "ustref"])
def test_many_apps_per_uid_discards_reported_as_the_packets_say(
    consumer: str, tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    """16 max-rate apps on per-UID 4 KiB buffers, most events discarded: the count
    ``lttng list`` prints (DISCARDED_EVENTS) equals the C arithmetic over the
    written packets, for the C consumer and for ustref-consumerd, and
    ``lttng destroy`` succeeds (it used to kill ustref-consumerd)."""
    extra: list[str] = []
    if consumer == "ustref":
        found = which("ustref-consumerd")
        assert found is not None, "ustref-consumerd is not installed"
        extra = [f"--consumerd64-path={found}"]
    app = app_builder("bench_app")
    trace = tmp_path / "trace"
    with SessionDaemon(extra_args=extra, workdir=tmp_path / "sd") as sd:
        sd.run_lttng("create", "s", f"--output={trace}")
        sd.run_lttng(
            "enable-channel", "-u", "ch", "--subbuf-size=4096", "--num-subbuf=4",
            "--buffers-uid", "--discard",
        )  # fmt: skip
        sd.run_lttng("enable-event", "-u", "-c", "ch", "ustref_bench:record")
        sd.run_lttng("start")
        apps = [
            subprocess.Popen([str(app), str(EVENTS_PER_APP)], env=sd.env, stdout=subprocess.DEVNULL)
            for _ in range(APPS)
        ]
        assert all(proc.wait(timeout=300) == 0 for proc in apps)
        sd.run_lttng("stop")
        listed = parse_discarded_events(sd.run_lttng("list", "s").stdout)
        consumers = sd.consumerd_pids()
        sd.run_lttng("destroy", "s")
        assert consumers, "no consumer daemon ran"
    assert listed["ch"] > 0, "nothing was discarded: the scenario does not test discards"
    assert listed["ch"] == _c_sum_of_index_files(trace)
