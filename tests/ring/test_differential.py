"""The pure reader against liblttng-ust-ctl on the same buffers.

Producers are the library's own: ``lttng_ust_ctl_write_metadata_to_channel``
on metadata channels, and ``lttng_ust_ctl_flush_buffer`` (the writer-side
``lib_ring_buffer_switch_slow``) on data channels in discard and overwrite
mode, which closes the current packet and, on an empty sub-buffer, opens and
delivers a header-only one. Each test runs with the oracle, the pure reader
and both alternating as the back end doing get/put (the ``driver`` fixture),
and every value is asked of both.
"""

from __future__ import annotations

import contextlib
import os
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.ring.conftest import Pair, Reader
from ustref.errors import LayoutError, LocalProtocolError
from ustref.ring import layout
from ustref.ring.crash import read_crash_record
from ustref.ring.libustctl import OracleChannel
from ustref.ring.reader import Status, StreamReader, page_align
from ustref.ring.shm import PAGE_SIZE

MakePair = Callable[..., Pair]
GETTERS = ("get_subbuf_size", "get_padded_subbuf_size", "get_mmap_read_offset")
PACKET_GETTERS = (
    "get_timestamp_begin",
    "get_timestamp_end",
    "get_events_discarded",
    "get_content_size",
    "get_packet_size",
    "get_sequence_number",
    "get_stream_id",
    "get_instance_id",
)
META_HEADER = layout.METADATA_SUBBUF_HEADER_SIZE


def held_values(reader: Reader, data: bool) -> dict[str, object]:
    values: dict[str, object] = {name: getattr(reader, name)() for name in GETTERS}
    values["positions"] = (reader.snapshot_get_consumed(), reader.snapshot_get_produced())
    values["bytes"] = reader.read_subbuf()
    values["max"] = (reader.get_max_subbuf_size(), reader.get_mmap_len())
    if data:
        values.update({name: getattr(reader, name)() for name in PACKET_GETTERS})
    return values


def drain(pair: Pair, *, data: bool) -> list[dict[str, object]]:
    """Get/put every ready sub-buffer through the driver; both back ends must agree."""
    packets: list[dict[str, object]] = []
    while True:
        statuses = {type(r).__name__: r.snapshot() for r in pair.both}
        assert len(set(statuses.values())) == 1, statuses
        status = pair.driver().get_next_subbuf()
        if status is not Status.OK:
            assert status is Status.AGAIN
            # nothing left for either back end
            assert all(r.get_next_subbuf() is Status.AGAIN for r in pair.both)
            return packets
        oracle_view, pure_view = (held_values(r, data) for r in pair.both)
        assert oracle_view == pure_view
        packets.append(pure_view)
        pair.driver().put_next_subbuf()


def metadata_payload(packets: list[dict[str, object]]) -> bytes:
    out = b""
    for packet in packets:
        raw = packet["bytes"]
        assert isinstance(raw, bytes)
        size = packet["get_subbuf_size"]
        assert isinstance(size, int)
        assert raw[:4] == layout.TSDL_MAGIC_NUMBER.to_bytes(4, "little")
        out += raw[META_HEADER:size]
    return out


@pytest.mark.parametrize("length", [1, 4059, 4060, 9000, 3 * 4096])
def test_metadata_channel(make_pair: MakePair, length: int) -> None:
    pair = make_pair(metadata=True, subbuf_size=4096, num_subbuf=4)
    text = bytes((i * 7 + 13) % 95 + 32 for i in range(length))
    pair.channel.write_metadata(text)
    pair.oracle.flush_buffer(True)  # close the packet the writer is in
    packets = drain(pair, data=False)
    # content: the metadata text, split in packets of at most one sub-buffer
    assert metadata_payload(packets) == text
    assert len(packets) == -(-length // (4096 - META_HEADER))
    for packet in packets:
        raw = packet["bytes"]
        assert isinstance(raw, bytes)
        content_bits = int.from_bytes(raw[24:28], "little")
        assert content_bits == 8 * int(packet["get_subbuf_size"])  # type: ignore[call-overload]


def test_metadata_producer_waits_for_the_reader(make_pair: MakePair) -> None:
    """A full discard buffer refuses a packet until the reader puts one back."""
    pair = make_pair(metadata=True, subbuf_size=4096, num_subbuf=2)
    text = bytes(range(256)) * 16
    written = []
    while (n := pair.channel.write_one_packet(text[: 4096 - META_HEADER])) > 0:
        written.append(text[:n])
        assert len(written) < 4
    assert n < 0  # -ENOBUFS: every sub-buffer is full or being written
    assert pair.driver().get_next_subbuf() is Status.OK
    pair.driver().put_next_subbuf()
    n = pair.channel.write_one_packet(b"tail")
    assert n == 4
    written.append(b"tail")
    pair.oracle.flush_buffer(True)
    payload = metadata_payload(drain(pair, data=False))
    assert written[0] + payload == b"".join(written)


def flushes(pair: Pair, count: int) -> None:
    for _ in range(count):
        pair.oracle.flush_buffer(False)


@pytest.mark.parametrize("overwrite", [False, True], ids=["discard", "overwrite"])
def test_data_channel_flushed_packets(make_pair: MakePair, overwrite: bool) -> None:
    num_subbuf = 4
    pair = make_pair(cpu=1, overwrite=overwrite, subbuf_size=4096, num_subbuf=num_subbuf, chan_id=5)
    flushes(pair, 11)
    packets = drain(pair, data=True)
    seqs = [p["get_sequence_number"] for p in packets]
    if overwrite:
        # the writer pushed the reader: only the newest full buffer's worth is left
        assert len(packets) == num_subbuf - 1 or len(packets) == num_subbuf
        assert seqs == list(range(11 - len(packets), 11))
    else:
        # discard mode: the writer stopped when the buffer was full
        assert seqs == list(range(num_subbuf))
    for packet in packets:
        assert packet["get_stream_id"] == 5
        assert packet["get_instance_id"] == 1
        assert packet["get_events_discarded"] == 0
        begin, end = packet["get_timestamp_begin"], packet["get_timestamp_end"]
        assert isinstance(begin, int) and isinstance(end, int) and begin <= end
        content = packet["get_content_size"]
        assert content in (8 * layout.DATA_SUBBUF_HEADER_SIZE,)
        assert packet["get_packet_size"] == 8 * page_align(layout.DATA_SUBBUF_HEADER_SIZE)
        raw = packet["bytes"]
        assert isinstance(raw, bytes)
        assert raw[:4] == layout.CTF_MAGIC_NUMBER.to_bytes(4, "little")


@pytest.mark.parametrize("overwrite", [False, True], ids=["discard", "overwrite"])
def test_snapshot_iteration_without_consuming(make_pair: MakePair, overwrite: bool) -> None:
    """The consumer's snapshot loop: sample positions, get_subbuf(pos)/put_subbuf, no move."""
    pair = make_pair(overwrite=overwrite, subbuf_size=4096, num_subbuf=4)
    flushes(pair, 6)
    for reader in pair.both:
        assert reader.snapshot_sample_positions() is Status.OK
    consumed = pair.oracle.snapshot_get_consumed()
    produced = pair.oracle.snapshot_get_produced()
    assert (consumed, produced) == (
        pair.pure.snapshot_get_consumed(),
        pair.pure.snapshot_get_produced(),
    )
    seen = []
    pos = consumed
    while pos < produced:
        getter = pair.driver()
        if getter.get_subbuf(pos) is Status.OK:
            assert held_values(pair.oracle, True) == held_values(pair.pure, True)
            seen.append(pair.pure.get_sequence_number())
            putter = pair.driver() if pair.mode == "mixed" else getter
            putter.put_subbuf()
        pos += 4096
    assert seen == sorted(seen) and seen
    # nothing was consumed
    assert pair.pure.consumed_position() == consumed


def test_snapshot_statuses_agree(make_pair: MakePair) -> None:
    pair = make_pair(overwrite=False, subbuf_size=4096, num_subbuf=4)
    # a new buffer: the writer is in sub-buffer 0 with only its header
    assert [r.snapshot() for r in pair.both] == [Status.AGAIN, Status.AGAIN]
    assert [r.get_subbuf(0) for r in pair.both] == [Status.AGAIN, Status.AGAIN]
    pair.oracle.flush_buffer(True)
    assert [r.snapshot() for r in pair.both] == [Status.OK, Status.OK]
    # a position behind consumed is refused by both
    pair.driver().get_next_subbuf()
    pair.driver().put_next_subbuf()
    assert [r.get_subbuf(0) for r in pair.both] == [Status.AGAIN, Status.AGAIN]


@pytest.mark.parametrize("metadata", [False, True], ids=["data", "metadata"])
@pytest.mark.parametrize("active", [False, True], ids=["flush", "active"])
def test_pure_flush_matches_library_flush(
    oracle_channel: Callable[..., object], metadata: bool, active: bool
) -> None:
    """``flush_buffer`` by the pure reader leaves the same shm bytes as the library's,
    timestamps aside."""
    from ustref.ring.libustctl import OracleChannel

    images = []
    for use_pure in (False, True):
        channel = oracle_channel(metadata=metadata, subbuf_size=4096, num_subbuf=4)
        assert isinstance(channel, OracleChannel)
        stream = channel.create_stream(0)
        if metadata:
            channel.write_metadata(b"x" * 5000)
        with StreamReader.from_fd(stream.shm_fd) as pure:
            for _ in range(3):
                if use_pure:
                    pure.flush_buffer(active)
                else:
                    stream.flush_buffer(active)
            images.append(bytearray(pure.mapping.read_bytes(0, pure.mapping.size)))
            mask_timestamps(pure, images[-1])
    assert images[0] == images[1]


@pytest.mark.parametrize("metadata", [False, True], ids=["data", "metadata"])
@pytest.mark.parametrize("flushes", [0, 1, 3, 5])
def test_pure_clear_matches_library_clear(
    oracle_channel: Callable[..., object], metadata: bool, flushes: int
) -> None:
    """``clear_buffer`` by the pure reader (a ``SWITCH_ACTIVE`` switch, then the consumed
    position moved to the current sub-buffer) leaves the same shm bytes as
    ``lttng_ust_ctl_clear_buffer()``, timestamps aside, with 0 to 5 packets delivered
    before (5: the discard-mode buffer of 4 is full and the last flush was refused)."""
    from ustref.ring.libustctl import OracleChannel

    images = []
    for use_pure in (False, True):
        channel = oracle_channel(metadata=metadata, subbuf_size=4096, num_subbuf=4)
        assert isinstance(channel, OracleChannel)
        stream = channel.create_stream(0)
        if metadata:
            channel.write_metadata(b"x" * 5000)
        with StreamReader.from_fd(stream.shm_fd) as pure:
            for _ in range(flushes):
                stream.flush_buffer(False)
            if use_pure:
                pure.clear_buffer()
            else:
                stream.clear_buffer()
            images.append(bytearray(pure.mapping.read_bytes(0, pure.mapping.size)))
            mask_timestamps(pure, images[-1])
            assert pure.get_next_subbuf() is not Status.OK  # nothing left to read
    assert images[0] == images[1]


def mask_timestamps(reader: StreamReader, image: bytearray) -> None:
    """Zero what depends on the clock: last_tsc, ts_end[] and packet timestamps."""
    zero8 = bytes(8)
    last_tsc = layout.RingBuffer.last_tsc.offset
    image[last_tsc : last_tsc + 8] = zero8
    ts_end = reader.tables.ts_end
    image[ts_end : ts_end + 8 * reader.geometry.num_subbuf] = bytes(8 * reader.geometry.num_subbuf)
    if reader.kind.value == "data":
        for data in reader.tables.data:
            for field in ("ctx.timestamp_begin", "ctx.timestamp_end"):
                at = data + layout.field_offset(layout.PacketHeader, field)
                image[at : at + 8] = zero8


def test_current_timestamp_is_the_trace_clock(make_pair: MakePair) -> None:
    pair = make_pair(subbuf_size=4096, num_subbuf=2)
    before = pair.oracle.get_current_timestamp()
    mine = pair.pure.get_current_timestamp()
    after = pair.oracle.get_current_timestamp()
    assert before <= mine <= after
    assert abs(mine - time.clock_gettime_ns(time.CLOCK_MONOTONIC)) < 10**9


def test_metadata_has_no_packet_getters(make_pair: MakePair) -> None:
    pair = make_pair(metadata=True, subbuf_size=4096, num_subbuf=2)
    pair.channel.write_metadata(b"abc")
    pair.oracle.flush_buffer(True)
    assert pair.driver().get_next_subbuf() is Status.OK
    for reader in pair.both:
        for name in ("get_timestamp_begin", "get_sequence_number", "get_stream_id"):
            with pytest.raises(LocalProtocolError):
                getattr(reader, name)()
    # the pure reader's refusal names the stream and the getter
    for name in (*PACKET_GETTERS, "get_current_timestamp"):
        what = name.removeprefix("get_")
        expected = f"{pair.pure.mapping.source}: {what}: the metadata client has no such getter"
        with pytest.raises(LocalProtocolError) as caught:
            getattr(pair.pure, name)()
        assert str(caught.value) == expected


def test_put_without_get_and_second_reader(make_pair: MakePair) -> None:
    pair = make_pair(subbuf_size=4096, num_subbuf=2)
    with pytest.raises(LocalProtocolError, match="without a held"):
        pair.pure.put_subbuf()
    # the oracle stream holds the reader reference (lib_ring_buffer_open_read)
    with pytest.raises(LocalProtocolError, match="EBUSY"):
        pair.pure.open_read()


def test_crash_record_written_by_the_library(make_pair: MakePair) -> None:
    """init_crash_abi() computes offsets with the C compiler: they are our mirrors'."""
    pair = make_pair(subbuf_size=8192, num_subbuf=2, overwrite=True)
    record = read_crash_record(pair.pure.mapping)
    assert record.geometry.subbuf_size == 8192 and record.geometry.num_subbuf == 2
    assert record.geometry.overwrite
    assert record.content_size_offset == layout.field_offset(
        layout.PacketHeader, "ctx.content_size"
    )
    assert record.packet_size_offset == layout.field_offset(layout.PacketHeader, "ctx.packet_size")
    assert (record.content_size_length, record.packet_size_length) == (8, 8)
    assert record.mmap_length == pair.pure.mapping.size
    assert pair.pure.tables.memory_map % PAGE_SIZE == 0
    metadata = make_pair(metadata=True, subbuf_size=4096, num_subbuf=2)
    meta_record = read_crash_record(metadata.pure.mapping)
    # the metadata client gives no content/packet size field callbacks
    assert (meta_record.content_size_length, meta_record.packet_size_length) == (0, 0)
    assert not meta_record.geometry.overwrite


# -- whole shm images: the pure reader and the library on twin buffers -----------------


class Twins:
    """Two identically prepared channels: the library works one, the pure reader the
    other. Producers run on both alike (the library's own writer paths); after every
    reader-side operation both results and both whole shm images (timestamps masked)
    must be equal — what a getter does not show (a sub-buffer id written back to the
    wrong slot, a counter left behind) still shows in the image."""

    def __init__(self, oracle_channel: Callable[..., OracleChannel], **attrs: object) -> None:
        self.channels = [oracle_channel(**attrs), oracle_channel(**attrs)]
        self.streams = [channel.create_stream(0) for channel in self.channels]
        self.views = [
            StreamReader.from_fd(s.shm_fd, source=f"twin {i}") for i, s in enumerate(self.streams)
        ]
        self.lib: Reader = self.streams[0]
        self.pure: Reader = self.views[1]
        self.ops = 0

    def close(self) -> None:
        for view in self.views:
            view.close()

    def produce(self, flushes: int = 0, metadata: bytes = b"") -> None:
        """The same writer-side work on both buffers, by the library."""
        for channel, stream in zip(self.channels, self.streams, strict=True):
            if metadata:
                channel.write_metadata(metadata)
                stream.flush_buffer(True)
            for _ in range(flushes):
                stream.flush_buffer(False)
        self.assert_same_images("produce")

    def images(self) -> list[bytearray]:
        out = []
        for view in self.views:
            image = bytearray(view.mapping.read_bytes(0, view.mapping.size))
            mask_timestamps(view, image)
            out.append(image)
        return out

    def assert_same_images(self, what: str) -> None:
        lib, pure = self.images()
        if lib != pure:
            diff = [i for i in range(len(lib)) if lib[i] != pure[i]]
            pytest.fail(
                f"after op {self.ops} ({what}) the shm images differ at {len(diff)} bytes, "
                f"first at {diff[0]:#x}: library {lib[diff[0]]:#04x}, pure {pure[diff[0]]:#04x}"
            )

    def act(self, name: str, *args: object) -> object:
        """Both back ends do ``name(*args)``; results and images must agree."""
        self.ops += 1
        results = [getattr(reader, name)(*args) for reader in (self.lib, self.pure)]
        assert results[0] == results[1], (name, results)
        self.assert_same_images(f"{name}{args}")
        return results[1]

    def held(self, data: bool) -> None:
        """The getters agree, clock readings aside (the images hold the bytes)."""
        clock = {"get_timestamp_begin", "get_timestamp_end", "bytes"}
        lib, pure = (
            {k: v for k, v in held_values(r, data).items() if k not in clock}
            for r in (self.lib, self.pure)
        )
        assert lib == pure

    def drain(self, data: bool, *, limit: int = 64) -> int:
        """get_next/put_next until AGAIN, comparing images after each step."""
        for got in range(limit):
            if self.act("get_next_subbuf") is not Status.OK:
                return got
            self.held(data)
            self.act("put_next_subbuf")
        raise AssertionError("drain did not end")


@pytest.fixture
def twins(oracle_channel: Callable[..., OracleChannel]) -> Iterator[Callable[..., Twins]]:
    made: list[Twins] = []

    def make(**attrs: object) -> Twins:
        made.append(Twins(oracle_channel, **attrs))
        return made[-1]

    yield make
    for twin in made:
        twin.close()


KINDS = {
    "discard": {"overwrite": False},
    "overwrite": {"overwrite": True},
    "metadata": {"metadata": True},
}


def produce_some(twin: Twins, kind: str, packets: int, round_: int) -> None:
    if kind == "metadata":
        twin.produce(metadata=bytes([65 + round_ % 26]) * (packets * (4096 - META_HEADER) - 7))
    else:
        twin.produce(flushes=packets)


@pytest.mark.parametrize("kind", KINDS)
def test_images_equal_after_every_get_and_put_across_wrap_around(
    twins: Callable[..., Twins], kind: str
) -> None:
    """Rounds of produce/drain move the positions through the buffer several times
    (8 rounds of 3 packets in 4 sub-buffers); in overwrite mode the last round laps
    the reader first."""
    twin = twins(subbuf_size=4096, num_subbuf=4, **KINDS[kind])
    data = kind != "metadata"
    total = 0
    for round_ in range(8):
        produce_some(twin, kind, 3, round_)
        total += twin.drain(data)
    if data:
        produce_some(twin, kind, 11, 8)  # more than the buffer holds
        total += twin.drain(data)
    assert total >= 8 * 3
    assert twin.views[1].consumed_position() >= 4 * 2 * 4096  # wrapped at least twice


@pytest.mark.parametrize("kind", KINDS)
def test_images_equal_after_snapshot_get_put(twins: Callable[..., Twins], kind: str) -> None:
    """The snapshot loop (sample positions, get_subbuf(pos)/put_subbuf at each
    position, nothing consumed), after the positions wrapped once."""
    twin = twins(subbuf_size=4096, num_subbuf=4, **KINDS[kind])
    data = kind != "metadata"
    produce_some(twin, kind, 3, 0)
    twin.drain(data)
    produce_some(twin, kind, 6 if data else 3, 1)
    twin.act("snapshot_sample_positions")
    consumed = twin.act("snapshot_get_consumed")
    produced = twin.act("snapshot_get_produced")
    assert isinstance(consumed, int) and isinstance(produced, int)
    got = 0
    for pos in range(consumed, produced, 4096):
        if twin.act("get_subbuf", pos) is Status.OK:
            twin.held(data)
            twin.act("put_subbuf")
            got += 1
    assert got
    twin.act("snapshot")


@pytest.mark.parametrize("kind", KINDS)
def test_images_equal_after_reader_flushes(twins: Callable[..., Twins], kind: str) -> None:
    """The reader-side ``flush_buffer`` (active and final), between gets and puts."""
    twin = twins(subbuf_size=4096, num_subbuf=4, **KINDS[kind])
    data = kind != "metadata"
    for round_ in range(3):
        if not data:
            for channel in twin.channels:
                channel.write_metadata(b"m" * (1000 + round_))
            twin.assert_same_images("write_metadata")
        twin.act("flush_buffer", True)
        twin.act("flush_buffer", False)
        twin.drain(data)


# -- the rest of the reader's surface: held, write_subbuf, positions, poll, readers ----


def test_held_write_subbuf_and_produced_position(make_pair: MakePair) -> None:
    pair = make_pair(subbuf_size=4096, num_subbuf=4)
    flushes(pair, 2)
    assert pair.oracle.snapshot_sample_positions() is Status.OK
    assert pair.pure.produced_position() == pair.oracle.snapshot_get_produced()
    assert not pair.pure.held()
    assert pair.driver().get_next_subbuf() is Status.OK
    assert pair.pure.held()  # buf->get_subbuf is in shared memory: set by either back end
    read, write = os.pipe()
    try:
        assert pair.pure.write_subbuf(write) == pair.pure.get_padded_subbuf_size()
        assert os.read(read, 1 << 16) == pair.pure.read_subbuf()
        assert pair.pure.write_subbuf(write, 100) == 100
        assert os.read(read, 1 << 16) == pair.pure.read_subbuf(100)
        with pytest.raises(LocalProtocolError, match="4097 bytes is more than a sub-buffer"):
            pair.pure.write_subbuf(write, 4097)
        with pytest.raises(LocalProtocolError, match="4097 bytes is more than a sub-buffer"):
            pair.pure.read_subbuf(4097)
    finally:
        os.close(read)
        os.close(write)
    pair.driver().put_next_subbuf()
    assert not pair.pure.held()


def test_poll_deliver(make_pair: MakePair) -> None:
    """``lib_ring_buffer_poll_deliver``: a delivered sub-buffer that is not the writer's."""
    pair = make_pair(subbuf_size=4096, num_subbuf=4)
    assert not pair.pure.poll_deliver()  # only the open packet
    flushes(pair, 1)
    assert pair.pure.poll_deliver()
    drain(pair, data=True)
    assert not pair.pure.poll_deliver()
    flushes(pair, 2)  # sub-buffers 1 and 2: the reader is at index 1 now
    assert pair.pure.poll_deliver()
    assert pair.driver().get_next_subbuf() is Status.OK
    pair.driver().put_next_subbuf()
    assert pair.pure.poll_deliver()


def test_finalized_streams_answer_nodata(twins: Callable[..., Twins]) -> None:
    """``finalized`` (set by the writer at the end) turns "nothing yet" into ENODATA."""
    twin = twins(subbuf_size=4096, num_subbuf=4)
    twin.produce(flushes=1)
    for view in twin.views:
        view.mapping.write_u32(layout.RingBuffer.finalized.offset, 1)
    twin.assert_same_images("finalize")
    assert twin.drain(True) == 1
    assert twin.act("snapshot") is Status.NODATA
    assert twin.act("get_subbuf", 4096) is Status.NODATA
    assert twin.act("get_next_subbuf") is Status.NODATA


def test_page_align() -> None:
    assert [page_align(v) for v in (0, 1, 4095, 4096, 4097, 8191)] == [0, 4096] + [4096] * 2 + [
        8192
    ] * 2


def test_reader_sources_and_options(make_pair: MakePair, tmp_path: Path) -> None:
    pair = make_pair(subbuf_size=4096, num_subbuf=2)
    fd = pair.oracle.shm_fd
    with StreamReader.from_fd(fd, retry_delay_s=0.25) as reader:
        assert reader.mapping.source == f"shm fd {fd}"
        assert reader.retry_delay_s == 0.25
    path = tmp_path / "stream"
    path.write_bytes(os.pread(fd, os.fstat(fd).st_size, 0))
    with StreamReader.open(path, retry_delay_s=0.5) as reader:
        assert reader.retry_delay_s == 0.5
        assert reader.mapping.source == str(path)


def test_a_stream_without_any_packet_magic_is_refused(
    oracle_channel: Callable[..., OracleChannel],
) -> None:
    channel = oracle_channel(subbuf_size=4096, num_subbuf=2)
    stream = channel.create_stream(0)
    fd = os.memfd_create("no-magic")
    try:
        os.write(fd, os.pread(stream.shm_fd, os.fstat(stream.shm_fd).st_size, 0))
        with StreamReader.from_fd(fd, source="probe") as probe:
            data = probe.tables.data
        for offset in data:
            os.pwrite(fd, bytes(4), offset)
        with pytest.raises(LayoutError) as caught:
            StreamReader.from_fd(fd, source="no magic")
        assert caught.value.source == "no magic"
        assert caught.value.reason == (
            "no sub-buffer starts with a CTF or TSDL packet magic: cannot tell the client"
        )
    finally:
        os.close(fd)


@pytest.mark.parametrize("overwrite", [False, True], ids=["discard", "overwrite"])
def test_pure_flush_wakes_the_reader(
    oracle_channel: Callable[..., OracleChannel], overwrite: bool
) -> None:
    """Delivering a sub-buffer writes to the wakeup fd when a reader is active
    (``lib_ring_buffer_wakeup``), and only then."""
    channel = oracle_channel(overwrite=overwrite, subbuf_size=4096, num_subbuf=4)
    stream = channel.create_stream(0)  # holds the reader reference
    read, write = os.pipe2(os.O_NONBLOCK)
    try:
        with StreamReader.from_fd(stream.shm_fd, wakeup_fd=write) as pure:
            pure.flush_buffer(True)  # nothing written yet: header-only packet delivered
            assert os.read(read, 16) == b"\0"
            assert pure.poll_deliver()
            assert pure.get_next_subbuf() is Status.OK
            assert pure.get_packet_size() == 8 * 4096
            pure.put_next_subbuf()
            # a full pipe (EAGAIN) does not stop the flush
            for chunk in (65536, 1):
                with contextlib.suppress(BlockingIOError):
                    while True:
                        os.write(write, bytes(chunk))
            pure.flush_buffer(False)  # an empty sub-buffer: a header-only packet is delivered
            assert pure.poll_deliver()
            assert pure.get_next_subbuf() is Status.OK
            pure.put_next_subbuf()
            # nor does a reader that went away (EPIPE)
            os.close(read)
            read = -1
            pure.flush_buffer(False)
            assert pure.poll_deliver()
    finally:
        if read >= 0:
            os.close(read)
        os.close(write)


def test_one_reader_at_a_time(oracle_channel: Callable[..., OracleChannel]) -> None:
    """``lib_ring_buffer_open_read``/``release_read`` on a stream nobody reads."""
    channel = oracle_channel(subbuf_size=4096, num_subbuf=2)
    stream = channel.create_stream(0)
    image = os.pread(stream.shm_fd, os.fstat(stream.shm_fd).st_size, 0)
    fd = os.memfd_create("free-stream")
    try:
        os.write(fd, image)
        first = StreamReader.from_fd(fd)
        second = StreamReader.from_fd(fd)
        active = layout.RingBuffer.active_readers.offset
        first.mapping.store_ulong(active, 0)  # the copy keeps the library's reference
        first.open_read()
        assert first.mapping.load_ulong(active) == 1
        with pytest.raises(LocalProtocolError, match="already has an active reader"):
            second.open_read()
        first.release_read()
        assert first.mapping.load_ulong(active) == 0
        second.open_read()
        second.close()  # close() releases the reference it holds
        assert first.mapping.load_ulong(active) == 0
        first.close()  # not reading any more: nothing to release
        assert struct.unpack("<Q", os.pread(fd, 8, active))[0] == 0
    finally:
        os.close(fd)


@pytest.mark.parametrize("active", [False, True], ids=["final", "active"])
@pytest.mark.parametrize("kind", KINDS)
def test_images_equal_after_reader_flushes_that_wrap(
    twins: Callable[..., Twins], kind: str, active: bool
) -> None:
    """Reader-side flushes with nobody consuming: the writer fills the buffer (discard)
    or laps the reader (overwrite: ``lib_ring_buffer_push_reader``), and closes each
    packet with the lost-record counts of the buffer (set alike on both twins)."""
    twin = twins(subbuf_size=4096, num_subbuf=4, **KINDS[kind])
    for view in twin.views:
        for number, field in enumerate(
            ("records_lost_full", "records_lost_wrap", "records_lost_big"), start=1
        ):
            view.mapping.store_ulong(getattr(layout.RingBuffer, field).offset, number << number)
    twin.assert_same_images("lost counts")
    for _ in range(11):
        twin.act("flush_buffer", active)
    if kind != "metadata":
        twin.act("get_next_subbuf")
        discarded = twin.act("get_events_discarded")
        assert discarded == (1 << 1) + (2 << 2) + (3 << 3)
        twin.act("put_next_subbuf")
    twin.drain(kind != "metadata")
