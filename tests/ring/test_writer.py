"""Metadata writes and buffer clears: ustref against liblttng-ust-ctl 2.13.5.

Four ways to fill the same metadata channel with the same chunks, one
``write_one_packet`` call per step (each writes at most what fits in the current packet):

* ``lib/lib``: channel created by the library, written by the library (the reference);
* ``lib/pure``: channel created by the library, written by :class:`MetadataWriter`;
* ``pure/pure``: channel created by :class:`PureChannel`, written by :class:`MetadataWriter`;
* ``pure/lib``: the library writes into a ustref-created buffer: the library's channel
  handle is made over an fd whose contents are then replaced by the ustref-created stream
  object (the library's process-private channel object is only bookkeeping around it).

The metadata client has no clock, so every byte of the stream objects must agree, and the
return value of every call. Each resulting buffer is then read back twice, through the
library's reader (the bytes loaded under a library channel handle) and through ustref's
(the bytes in a fresh shm object), and every packet must agree.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ustref.consumerd.effects import open_stream_fds
from ustref.ring import create, layout, libustctl
from ustref.ring.channel import PureChannel
from ustref.ring.reader import Status, StreamReader
from ustref.ring.writer import BufferFull, MetadataWriter

pytestmark = pytest.mark.skipif(not libustctl.available(), reason="liblttng-ust-ctl missing")

UUID = bytes(range(16, 32))
WAYS = [("lib", "lib"), ("lib", "pure"), ("pure", "pure"), ("pure", "lib")]
GEOMETRIES = [(4096, 1), (4096, 2), (4096, 4), (8192, 4), (16384, 2)]
HEADER = layout.METADATA_SUBBUF_HEADER_SIZE


def _attr(subbuf_size: int, num_subbuf: int) -> create.ChannelAttr:
    return create.ChannelAttr(
        type=create.ChanType.METADATA, subbuf_size=subbuf_size, num_subbuf=num_subbuf, uuid=UUID
    )


def _oracle(attr: create.ChannelAttr, fd: int) -> libustctl.OracleChannel:
    return libustctl.OracleChannel(
        metadata=True,
        subbuf_size=attr.subbuf_size,
        num_subbuf=attr.num_subbuf,
        uuid=attr.uuid,
        stream_fds=[fd],
    )


def _pure_image(attr: create.ChannelAttr) -> bytes:
    fds = open_stream_fds(1)
    chan = PureChannel.create(attr, fds)
    try:
        return os.pread(fds[0], 1 << 24, 0)
    finally:
        chan.destroy()
        os.close(fds[0])


class Way:
    """One (creator, writer) combination, live."""

    def __init__(self, creator: str, writer: str, attr: create.ChannelAttr) -> None:
        self.fd = open_stream_fds(1)[0]
        self.oracle: libustctl.OracleChannel | None = None
        self.pure: PureChannel | None = None
        self.writer: MetadataWriter | None = None
        self.lib_stream: libustctl.OracleStream | None = None
        if creator == "lib" or writer == "lib":
            self.oracle = _oracle(attr, self.fd)
        if creator == "pure":
            if self.oracle is not None:
                image = _pure_image(attr)
                assert os.pwrite(self.fd, image, 0) == len(image)
            else:
                self.pure = PureChannel.create(attr, [self.fd])
        if writer == "lib":
            assert self.oracle is not None
            self.lib_stream = self.oracle.create_stream(0)
        else:
            self.writer = MetadataWriter.attach(self.fd)
            self.writer.open_read()  # what lttng_ust_ctl_create_stream() does

    def write(self, data: bytes) -> int:
        if self.writer is None:
            assert self.oracle is not None
            return self.oracle.write_one_packet(data)
        try:
            return self.writer.write_one_packet(data)
        except BufferFull:
            return -errno.ENOBUFS

    def flush(self) -> None:
        if self.writer is None:
            assert self.lib_stream is not None
            self.lib_stream.flush_buffer(True)
        else:
            self.writer.flush_buffer(True)

    def clear(self) -> None:
        if self.writer is None:
            assert self.lib_stream is not None
            self.lib_stream.clear_buffer()
        else:
            self.writer.clear_buffer()

    def image(self) -> bytes:
        return os.pread(self.fd, 1 << 24, 0)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.oracle is not None:
            self.oracle.close()
        if self.pure is not None:
            self.pure.destroy()
        os.close(self.fd)


@contextmanager
def _ways(attr: create.ChannelAttr) -> Iterator[dict[tuple[str, str], Way]]:
    ways: dict[tuple[str, str], Way] = {}
    try:
        for creator, writer in WAYS:
            ways[(creator, writer)] = Way(creator, writer, attr)
        yield ways
    finally:
        for live in ways.values():
            live.close()


def _drain(reader: StreamReader | libustctl.OracleStream) -> list[bytes]:
    out = []
    while reader.get_next_subbuf() is Status.OK:
        out.append(reader.read_subbuf(reader.get_padded_subbuf_size()))
        reader.put_next_subbuf()
    return out


def _released(image: bytes) -> bytes:
    """The image with the writer's reader reference dropped (``lib_ring_buffer_release_read``,
    as ``lttng_ust_ctl_destroy_stream`` does), so that a new reader can open it."""
    off = layout.RingBuffer.active_readers.offset
    assert image[off : off + 8] == (1).to_bytes(8, "little")
    return image[:off] + bytes(8) + image[off + 8 :]


def _read_with_library(attr: create.ChannelAttr, image: bytes) -> list[bytes]:
    image = _released(image)
    fd = open_stream_fds(1)[0]
    try:
        with _oracle(attr, fd) as oracle:
            os.pwrite(fd, image, 0)
            return _drain(oracle.create_stream(0))
    finally:
        os.close(fd)


def _read_with_ustref(image: bytes) -> list[bytes]:
    fd = os.memfd_create("ustref-readback")
    try:
        os.write(fd, _released(image))
        with StreamReader.from_fd(fd) as reader:
            reader.open_read()
            return _drain(reader)
    finally:
        os.close(fd)


def _chunks(data: bytes, seed: int) -> Iterator[bytes]:
    sizes = [1, 37, 4000, 100, 4096, 9000, 3, 5000, 12345]
    pos, i = 0, seed
    while pos < len(data):
        size = sizes[i % len(sizes)]
        yield data[pos : pos + size]
        pos += size
        i += 1


def _payload(n: int) -> bytes:
    return bytes((k * 7 + k // 251) % 256 for k in range(n))


@pytest.mark.parametrize(("subbuf_size", "num_subbuf"), GEOMETRIES)
def test_metadata_writes_agree(subbuf_size: int, num_subbuf: int) -> None:
    attr = _attr(subbuf_size, num_subbuf)
    capacity = num_subbuf * (subbuf_size - HEADER)
    data = _payload(capacity + subbuf_size)  # ends with a full buffer
    with _ways(attr) as ways:
        returns: dict[tuple[str, str], list[int]] = {k: [] for k in ways}
        for chunk in _chunks(data, subbuf_size):
            pos = 0
            while pos < len(chunk):
                got = {k: w.write(chunk[pos:]) for k, w in ways.items()}
                for k, n in got.items():
                    returns[k].append(n)
                n = got[("lib", "lib")]
                if n < 0:
                    break
                pos += n
        for live in ways.values():
            live.flush()
        images = {k: w.image() for k, w in ways.items()}
    ref = returns[("lib", "lib")]
    assert -errno.ENOBUFS in ref  # the last chunks met a full buffer
    assert sum(n for n in ref if n > 0) == capacity
    for way in WAYS:
        assert returns[way] == ref, way
        assert images[way] == images[("lib", "lib")], way
    packets = _read_with_library(attr, images[("lib", "lib")])
    assert len(packets) == num_subbuf
    assert b"".join(p[HEADER:] for p in packets) == data[:capacity]
    for way in WAYS:
        assert _read_with_library(attr, images[way]) == packets, way
        assert _read_with_ustref(images[way]) == packets, way


@pytest.mark.parametrize("fill", [0, 1, 100, 4096 - HEADER, 5000])
def test_clear_buffer_agrees(fill: int) -> None:
    attr = _attr(4096, 4)
    with _ways(attr) as ways:
        for live in ways.values():
            pos = 0
            data = _payload(fill)
            while pos < fill:
                pos += live.write(data[pos:])
            live.clear()
            assert live.write(b"after-clear") == len(b"after-clear")
        images = {k: w.image() for k, w in ways.items()}
    for way in WAYS:
        assert images[way] == images[("lib", "lib")], way
    packets = _read_with_ustref(images[("lib", "lib")])
    assert packets == _read_with_library(attr, images[("lib", "lib")])
