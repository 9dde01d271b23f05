"""The batched reader and the drain against liblttng-ust-ctl on twin buffers.

Two channels get the same writes from the library's own producers; one is
drained by the library (``get_next_subbuf``, write the padded sub-buffer,
``put_next_subbuf``, until ``-EAGAIN``), the other by ustref's batched
:func:`~ustref.ring.drain.drain`. The trace bytes written and the whole shm
objects afterwards must be equal (metadata packets carry no timestamps;
data packets are compared with their clock fields zeroed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.ring.test_differential import mask_timestamps
from ustref.errors import LayoutError, LocalProtocolError, UstrefError
from ustref.ring import layout, shm
from ustref.ring import reader as reader_module
from ustref.ring.drain import FdSink, PacketInfo, drain, packet_info, packet_infos
from ustref.ring.libustctl import OracleChannel, OracleStream
from ustref.ring.reader import Status, StreamReader, Subbuffer

MakeChannel = Callable[..., OracleChannel]
META_HEADER = layout.METADATA_SUBBUF_HEADER_SIZE


def write_packets(channel: OracleChannel, count: int, subbuf_size: int, seed: int) -> int:
    """``count`` writes of one packet's worth of text, each filling what is left of the
    current packet; return how many the buffer took."""
    for i in range(count):
        text = bytes((seed + i + j) % 251 for j in range(subbuf_size - META_HEADER))
        if channel.write_one_packet(text) <= 0:
            return i
    return count


def ready(reader: StreamReader) -> int:
    """How many sub-buffers the writer has left behind it (all committed here)."""
    size = reader.geometry.subbuf_size
    produced = reader.produced_position() & ~(size - 1)
    return (produced - reader.consumed_position()) // size


def oracle_drain(stream: OracleStream, fd: int) -> int:
    """The C consumer's loop, one sub-buffer per call, through the library."""
    count = 0
    while stream.get_next_subbuf() is Status.OK:
        os.write(fd, stream.read_subbuf())
        stream.put_next_subbuf()
        count += 1
    return count


def image(channel: OracleChannel) -> bytes:
    fd = channel.stream_fds[0]
    return os.pread(fd, os.fstat(fd).st_size, 0)


def contents(fd: int) -> bytes:
    return os.pread(fd, os.fstat(fd).st_size, 0)


class Twins:
    """Two channels with the same attributes: ``c`` drained by the library, ``py`` by ustref."""

    def __init__(self, make: MakeChannel, **attrs: object) -> None:
        self.c = make(**attrs)
        self.py = make(**attrs)
        self.c_stream = self.c.create_stream(0)
        self.py_stream = self.py.create_stream(0)  # holds the reader reference, as in C
        self.reader = StreamReader.from_fd(self.py_stream.shm_fd, source="twin stream")
        self.c_out = os.memfd_create("c-out")
        self.py_out = os.memfd_create("py-out")

    def close(self) -> None:
        self.reader.close()
        os.close(self.c_out)
        os.close(self.py_out)


@pytest.fixture
def twins(oracle_channel: MakeChannel) -> Iterator[Callable[..., Twins]]:
    made: list[Twins] = []

    def make(**attrs: object) -> Twins:
        pair = Twins(oracle_channel, **attrs)
        made.append(pair)
        return pair

    yield make
    for pair in made:
        pair.close()


@pytest.mark.parametrize("batch", [1, 3, 1024])
@pytest.mark.parametrize(("subbuf_size", "num_subbuf"), [(4096, 4), (8192, 8)])
def test_metadata_laps_match_the_library(
    twins: Callable[..., Twins], batch: int, subbuf_size: int, num_subbuf: int
) -> None:
    """Fill and drain several times around the ring: same trace bytes, same shm bytes."""
    pair = twins(metadata=True, subbuf_size=subbuf_size, num_subbuf=num_subbuf)
    drained = 0
    for round_, count in enumerate([num_subbuf, 1, num_subbuf - 1, 2, num_subbuf, num_subbuf]):
        took = write_packets(pair.c, count, subbuf_size, seed=round_)
        assert write_packets(pair.py, count, subbuf_size, seed=round_) == took
        c_count = oracle_drain(pair.c_stream, pair.c_out)
        result = drain(pair.reader, FdSink(pair.py_out), batch=batch, budget=10**6)
        assert result.status is Status.AGAIN
        assert result.subbuffers == c_count
        assert result.bytes_written == c_count * subbuf_size  # full packets: no padding
        drained += c_count
        assert contents(pair.py_out) == contents(pair.c_out)
        assert image(pair.py) == image(pair.c)
    # the ring went around more than once
    assert drained > 2 * num_subbuf
    assert pair.reader.consumed_position() == drained * subbuf_size


def test_padded_metadata_packets(twins: Callable[..., Twins]) -> None:
    """Short packets are written with their page padding, as the C consumer writes them."""
    pair = twins(metadata=True, subbuf_size=16384, num_subbuf=4)
    for channel, stream in ((pair.c, pair.c_stream), (pair.py, pair.py_stream)):
        channel.write_metadata(b"x" * 5000 + b"y" * 9000)
        stream.flush_buffer(True)
    oracle_drain(pair.c_stream, pair.c_out)
    result = drain(pair.reader, FdSink(pair.py_out))
    assert result.status is Status.AGAIN
    assert contents(pair.py_out) == contents(pair.c_out)
    assert result.bytes_written == len(contents(pair.c_out)) == 4096 * 4
    assert image(pair.py) == image(pair.c)


@pytest.mark.parametrize("overwrite", [False, True], ids=["discard", "overwrite"])
def test_data_packets_and_index_fields(twins: Callable[..., Twins], overwrite: bool) -> None:
    """Data packets (closed by flush_buffer): same bytes and shm but for the clock, and
    packet_infos() gives what the library's getters give, as packet_info() of each."""
    num_subbuf = 4
    pair = twins(overwrite=overwrite, subbuf_size=4096, num_subbuf=num_subbuf, chan_id=3)
    for stream in (pair.c_stream, pair.py_stream):
        for _ in range(6):
            stream.flush_buffer(False)
    expected: list[PacketInfo] = []
    while pair.c_stream.get_next_subbuf() is Status.OK:
        s = pair.c_stream
        expected.append(
            PacketInfo(
                s.get_packet_size(),
                s.get_content_size(),
                s.get_timestamp_begin(),
                s.get_timestamp_end(),
                s.get_events_discarded(),
                s.get_sequence_number(),
                s.get_stream_id(),
                s.get_instance_id(),
            )
        )
        os.write(pair.c_out, s.read_subbuf())
        s.put_next_subbuf()
    infos: list[PacketInfo] = []

    def sink(batch: Sequence[Subbuffer]) -> int:
        batch_infos = packet_infos(pair.reader, batch)
        assert batch_infos == [packet_info(pair.reader, subbuf) for subbuf in batch]
        infos.extend(batch_infos)
        return FdSink(pair.py_out)(batch)

    result = drain(pair.reader, sink, budget=num_subbuf + 1)
    assert result.status is Status.AGAIN
    assert result.subbuffers == len(expected) >= num_subbuf - 1
    clockless = [info._replace(timestamp_begin=0, timestamp_end=0) for info in infos]
    assert clockless == [info._replace(timestamp_begin=0, timestamp_end=0) for info in expected]
    assert [i.sequence_number for i in infos] == [i.sequence_number for i in expected]
    assert all(i.timestamp_begin <= i.timestamp_end for i in infos)
    c_image, py_image = bytearray(image(pair.c)), bytearray(image(pair.py))
    mask_timestamps(pair.reader, c_image)
    mask_timestamps(pair.reader, py_image)
    assert py_image == c_image
    assert len(contents(pair.py_out)) == len(contents(pair.c_out)) == 4096 * len(infos)


def test_batch_then_library_takes_over(twins: Callable[..., Twins]) -> None:
    """After put_next_subbufs the library reads on from where the batch stopped."""
    pair = twins(metadata=True, subbuf_size=4096, num_subbuf=8)
    write_packets(pair.py, 13, 4096, seed=7)
    available = ready(pair.reader)
    assert available > 4
    status, batch = pair.reader.get_next_subbufs(4)
    assert status is Status.OK and len(batch) == 4
    assert pair.reader.held() and not pair.reader.snapshot_get_consumed() % 4096
    with pytest.raises(LocalProtocolError, match="put_next_subbufs"):
        pair.reader.put_next_subbuf()
    with pytest.raises(LocalProtocolError, match="already held"):
        pair.reader.get_next_subbufs(1)
    first = bytes(batch[0].view)
    pair.reader.put_next_subbufs()
    assert not pair.reader.held()
    assert pair.reader.consumed_position() == 4 * 4096
    assert oracle_drain(pair.py_stream, pair.py_out) == available - 4
    assert first[:4] == layout.TSDL_MAGIC_NUMBER.to_bytes(4, "little")


def test_misuse(twins: Callable[..., Twins], monkeypatch: pytest.MonkeyPatch) -> None:
    pair = twins(metadata=True, subbuf_size=4096, num_subbuf=4)
    with pytest.raises(LocalProtocolError, match="at least one"):
        pair.reader.get_next_subbufs(0)
    with pytest.raises(LocalProtocolError, match="without a batch"):
        pair.reader.put_next_subbufs()
    write_packets(pair.py, 3, 4096, seed=2)
    status, batch = pair.reader.get_next_subbufs(1)
    assert status is Status.OK
    with pytest.raises(LocalProtocolError, match="metadata client"):
        packet_info(pair.reader, batch[0])
    pair.reader.put_next_subbufs()
    monkeypatch.setattr(reader_module, "PLAIN_WORD_ACCESS_IS_ATOMIC", False)
    with pytest.raises(UstrefError, match="x86-64"):
        StreamReader.from_fd(pair.py_stream.shm_fd)


def test_budget(twins: Callable[..., Twins]) -> None:
    pair = twins(metadata=True, subbuf_size=4096, num_subbuf=8)
    write_packets(pair.py, 11, 4096, seed=1)
    available = ready(pair.reader)
    assert available >= 4
    first = drain(pair.reader, FdSink(pair.py_out), budget=2, batch=1024)
    assert (first.status, first.subbuffers) == (Status.OK, 2)
    rest = drain(pair.reader, FdSink(pair.py_out), batch=1)
    assert (rest.status, rest.subbuffers) == (Status.AGAIN, available - 2)


def test_uncommitted_subbuffer_is_not_waited_for(twins: Callable[..., Twins]) -> None:
    """A sub-buffer reserved but not committed: the library sleeps (5 x 10 ms) before
    -EAGAIN, the drain answers AGAIN at once, and takes it once committed."""
    pair = twins(metadata=True, subbuf_size=4096, num_subbuf=4)
    write_packets(pair.py, 3, 4096, seed=3)
    available = ready(pair.reader)
    assert available >= 2
    cc_sb = pair.reader.tables.commit_cold + layout.CommitCountersCold.cc_sb.offset
    committed = pair.reader.mapping.load_ulong(cc_sb)
    pair.reader.mapping.store_ulong(cc_sb, committed - 1)  # one byte still uncommitted

    start = time.monotonic()
    result = drain(pair.reader, FdSink(pair.py_out))
    ours = time.monotonic() - start
    assert (result.status, result.subbuffers) == (Status.AGAIN, 0)

    start = time.monotonic()
    assert pair.py_stream.get_next_subbuf() is Status.AGAIN
    theirs = time.monotonic() - start
    assert theirs >= 0.045  # LTTNG_UST_RING_BUFFER_RETRY_DELAY_MS, five times
    assert ours < theirs / 5

    pair.reader.mapping.store_ulong(cc_sb, committed)  # the writer commits
    result = drain(pair.reader, FdSink(pair.py_out))
    assert (result.status, result.subbuffers) == (Status.AGAIN, available)


def test_sink_error_puts_the_batch_back(twins: Callable[..., Twins]) -> None:
    """As lttng_consumer_read_subbuffer()'s error_put_subbuf: put back, then raise."""
    pair = twins(metadata=True, subbuf_size=4096, num_subbuf=4)
    write_packets(pair.py, 3, 4096, seed=5)
    available = ready(pair.reader)
    kept: list[memoryview] = []

    def failing(batch: Sequence[Subbuffer]) -> int:
        kept.extend(subbuf.view for subbuf in batch)
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        drain(pair.reader, failing)
    assert not pair.reader.held()
    assert pair.reader.consumed_position() == available * 4096
    with pytest.raises(ValueError, match="released"):
        bytes(kept[0])  # the views died with the put


@pytest.fixture
def stream_file(oracle_channel: MakeChannel, tmp_path: Path) -> Path:
    """A regular-file copy of a metadata stream with three delivered packets."""
    channel = oracle_channel(metadata=True, subbuf_size=4096, num_subbuf=4)
    write_packets(channel, 3, 4096, seed=9)
    path = tmp_path / "metadata_stream"
    path.write_bytes(image(channel))
    return path


def test_truncated_before_the_write(stream_file: Path) -> None:
    """The file shrinks between get and write: writev gets EFAULT, not SIGBUS."""
    out = os.memfd_create("out")
    with StreamReader.open(stream_file) as reader:

        def truncating(batch: Sequence[Subbuffer]) -> int:
            os.truncate(stream_file, layout.CRASH_DUMP_ABI_LEN)
            return FdSink(out)(batch)

        with pytest.raises(LayoutError, match="EFAULT") as info:
            drain(reader, truncating)
        assert str(stream_file) in str(info.value)
    os.close(out)


def test_truncated_while_the_sink_reads(stream_file: Path) -> None:
    """A sink that copies the bytes in Python meets SIGBUS: the drain raises LayoutError."""
    with StreamReader.open(stream_file) as reader:
        copies: list[bytes] = []

        def copying(batch: Sequence[Subbuffer]) -> int:
            os.truncate(stream_file, layout.CRASH_DUMP_ABI_LEN)
            copies.extend(bytes(subbuf.view) for subbuf in batch)
            return sum(len(c) for c in copies)

        with pytest.raises(LayoutError, match=r"shrank.*SIGBUS") as info:
            drain(reader, copying)
        assert str(stream_file) in str(info.value)
        with pytest.raises(LayoutError, match="shrank"):
            reader.get_next_subbufs(1)


def test_write_views_resumes_short_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """writev may write less than asked (pipes, sockets): the rest follows, in order."""
    real = os.writev
    calls: list[int] = []

    def short(fd: int, buffers: Sequence[memoryview]) -> int:
        calls.append(len(buffers))
        return real(fd, [memoryview(b"".join(bytes(b) for b in buffers)[:5])])

    monkeypatch.setattr(os, "writev", short)
    data = [memoryview(bytes([i]) * n) for i, n in enumerate([3, 0, 7, 1, 12])]
    read_fd, write_fd = os.pipe()
    try:
        assert shm.write_views(write_fd, data) == 23
        assert os.read(read_fd, 100) == b"".join(bytes(v) for v in data)
    finally:
        os.close(read_fd)
        os.close(write_fd)
    assert len(calls) == 5  # ceil(23 / 5)
