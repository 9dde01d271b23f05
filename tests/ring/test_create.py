"""Differential test of pure ring-buffer creation against liblttng-ust-ctl 2.13.5.

Each configuration creates the same channel twice, over stream fds of the same kind
opened the way lttng-tools' consumer opens them (``open_ust_stream_fd``): once with
``lttng_ust_ctl_create_channel`` (the oracle) and once with
:meth:`ustref.ring.channel.PureChannel.create`. Compared:

* the GET_CHANNEL hand-over (``lttng_ust_ctl_send_channel_to_sessiond`` into a
  socketpair vs :meth:`PureChannel.handover`): every byte, size and type included, except
  the run-specific fields below;
* every stream's shm object, read through its fd right after creation: every byte except
  a data packet's ``timestamp_begin``;
* the stream hand-over (``lttng_ust_ctl_send_stream_to_sessiond``) bytes;
* fd kinds: stream fds (file type, mode, size, link count, file offset left by
  ``zero_file``), wait/wakeup pipes (FIFO, ``O_NONBLOCK`` only on the write end,
  ``FD_CLOEXEC`` on both).

Run-specific fields, masked (:data:`ustref.ring.create.RUN_SPECIFIC_CHANNEL_FIELDS`):
``switch_timer``/``read_timer`` (POSIX timer ids of the creating process),
``handle`` and ``u.s.priv`` (heap addresses of the creator), ``backend.config.cb`` and
``cb_ptr`` (addresses of client callbacks in the creator's text, ASLR),
``backend.start_tsc`` and a data stream's first ``timestamp_begin`` (the clock at
creation: checked to lie between two clock reads instead).

Axes: channel type (per-CPU data, metadata), discard/overwrite, sub-buffer size and count,
switch and read timers (read timer on selects the ``-rt`` clients), blocking timeout,
chan id and uuid, anonymous shm (lttng-tools' ``shm_open``+``shm_unlink``) and
``--shm-path`` files. The live and monitor timers and the tracefile limits of
ASK_CHANNEL never reach ``lttng_ust_ctl_create_channel`` (ust-consumer.c builds the attr
without them), so they are carried in each configuration only to show that the two
creations are made from attributes alone. Timer intervals are long (10 s) so that no
timer fires while the test compares.
"""

from __future__ import annotations

import fcntl
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ustref.consumerd.effects import open_stream_fds
from ustref.errors import LocalProtocolError, UstrefError
from ustref.ring import create, layout, libustctl
from ustref.ring.channel import PureChannel

pytestmark = pytest.mark.skipif(not libustctl.available(), reason="liblttng-ust-ctl missing")

LONG = 10_000_000  # µs: never fires during a test


@dataclass(frozen=True)
class Config:
    metadata: bool = False
    overwrite: bool = False
    subbuf_size: int = 4096
    num_subbuf: int = 4
    switch_timer: int = 0
    read_timer: int = 0
    blocking_timeout: int = 0
    chan_id: int = 0
    uuid: bytes = bytes(range(16))
    shm_path: bool = False
    # ASK_CHANNEL fields that do not reach lttng_ust_ctl_create_channel
    live_timer: int = 0
    monitor_timer: int = 0
    tracefile_size: int = 0
    tracefile_count: int = 0

    def attr(self) -> create.ChannelAttr:
        return create.ChannelAttr(
            type=create.ChanType.METADATA if self.metadata else create.ChanType.PER_CPU,
            subbuf_size=self.subbuf_size,
            num_subbuf=self.num_subbuf,
            overwrite=self.overwrite,
            switch_timer_interval=self.switch_timer,
            read_timer_interval=self.read_timer,
            chan_id=self.chan_id,
            uuid=self.uuid,
            blocking_timeout=self.blocking_timeout,
        )


def _matrix() -> list[Config]:
    out: list[Config] = []
    # data: mode x sub-buffer geometry
    for overwrite in (False, True):
        for size, count in ((4096, 1), (4096, 2), (8192, 4), (16384, 8), (4096, 16), (65536, 2)):
            if overwrite and count < 2:
                continue
            out.append(Config(overwrite=overwrite, subbuf_size=size, num_subbuf=count))
    # the consumer benchmark's geometries (bench_consumerd.py: discard, 4 sub-buffers of
    # 4 KiB, 64 KiB, 1 MiB), where pure and lib are compared in the same run
    for size in (4 << 10, 64 << 10, 1 << 20):
        out.append(Config(subbuf_size=size, num_subbuf=4))
    # data: timers (read timer selects the rt clients) x mode
    for overwrite in (False, True):
        for switch, read in ((LONG, 0), (0, LONG), (LONG, LONG), (LONG // 2, LONG // 3)):
            out.append(Config(overwrite=overwrite, switch_timer=switch, read_timer=read))
    # blocking timeouts, ids, uuids
    for timeout in (-1, 1500, 2_000_000_000):
        out.append(Config(blocking_timeout=timeout))
    out.append(Config(chan_id=7, uuid=bytes(range(100, 116))))
    out.append(Config(chan_id=2**32 - 1, uuid=b"\xff" * 16, overwrite=True))
    # ASK_CHANNEL-only parameters
    out.append(Config(live_timer=LONG, monitor_timer=LONG))
    out.append(Config(tracefile_size=1 << 20, tracefile_count=4, overwrite=True))
    # --shm-path
    for overwrite in (False, True):
        out.append(Config(shm_path=True, overwrite=overwrite, num_subbuf=2))
    out.append(Config(shm_path=True, read_timer=LONG, switch_timer=LONG))
    # metadata: geometry, timers, timeouts, shm-path
    for size, count in ((4096, 1), (4096, 2), (8192, 4), (4096, 8), (16384, 2)):
        out.append(Config(metadata=True, subbuf_size=size, num_subbuf=count))
    out.append(Config(metadata=True, switch_timer=LONG))
    out.append(Config(metadata=True, read_timer=LONG))
    out.append(Config(metadata=True, blocking_timeout=-1))
    out.append(Config(metadata=True, uuid=bytes(range(50, 66))))
    out.append(Config(metadata=True, shm_path=True))
    out.append(Config(metadata=True, shm_path=True, num_subbuf=2, subbuf_size=8192))
    return out


MATRIX = _matrix()


def test_matrix_is_large_enough() -> None:
    assert len(MATRIX) >= 40
    assert len(set(MATRIX)) == len(MATRIX)


def _mask_channel(blob: bytes) -> bytes:
    out = bytearray(blob)
    for offset, size, _name in create.run_specific_channel_ranges():
        out[offset : offset + size] = bytes(size)
    return bytes(out)


def _fd_kind(fd: int) -> tuple[object, ...]:
    st = os.fstat(fd)
    return (
        stat.S_IFMT(st.st_mode),
        stat.S_IMODE(st.st_mode),
        st.st_size,
        st.st_nlink,
        os.lseek(fd, 0, os.SEEK_CUR),
        fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_LARGEFILE,
    )


def _pipe_kind(fd: int) -> tuple[object, ...]:
    st = os.fstat(fd)
    return (
        stat.S_IFMT(st.st_mode),
        fcntl.fcntl(fd, fcntl.F_GETFL) & (os.O_NONBLOCK | os.O_ACCMODE),
        fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC,
    )


def _shm_dir(tmp_path: Path, side: str) -> str:
    d = tmp_path / side / "ust" / "uid" / "0" / "64-bit"
    d.mkdir(parents=True)
    return str(d / "chan_")


def _names_modes(path: str) -> list[tuple[str, int]]:
    d = Path(path).parent
    return sorted((p.name, stat.S_IMODE(p.stat().st_mode)) for p in d.iterdir())


@pytest.mark.parametrize("cfg", MATRIX, ids=[str(i) for i in range(len(MATRIX))])
def test_create_matches_library(cfg: Config, tmp_path: Path) -> None:
    attr = cfg.attr()
    client = create.select_client(attr)
    nr = create.nr_streams(client)
    lib_path = _shm_dir(tmp_path, "lib") if cfg.shm_path else ""
    pure_path = _shm_dir(tmp_path, "pure") if cfg.shm_path else ""
    lib_fds = open_stream_fds(nr, shm_path=lib_path)
    pure_fds = open_stream_fds(nr, shm_path=pure_path)
    received: list[int] = []
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    oracle = libustctl.OracleChannel(
        metadata=cfg.metadata,
        overwrite=cfg.overwrite,
        subbuf_size=cfg.subbuf_size,
        num_subbuf=cfg.num_subbuf,
        chan_id=cfg.chan_id,
        uuid=cfg.uuid,
        switch_timer_interval=cfg.switch_timer,
        read_timer_interval=cfg.read_timer,
        blocking_timeout=cfg.blocking_timeout,
        stream_fds=lib_fds,
    )
    pure = PureChannel.create(attr, pure_fds)
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    try:
        # stream shm objects, as created
        for i in range(nr):
            lib_bytes = os.pread(lib_fds[i], 1 << 24, 0)
            pure_bytes = os.pread(pure_fds[i], 1 << 24, 0)
            assert len(lib_bytes) == len(pure_bytes) == pure.streams[i].memory_map_size
            assert _fd_kind(lib_fds[i]) == _fd_kind(pure_fds[i])
            if not cfg.metadata:
                ts = (
                    create.DATA_TIMESTAMP_BEGIN
                    + create.plan_stream(cfg.subbuf_size, cfg.num_subbuf, cfg.overwrite).memory_map
                )
                for blob in (lib_bytes, pure_bytes):
                    assert before <= int.from_bytes(blob[ts : ts + 8], "little") <= after
                lib_bytes = lib_bytes[:ts] + bytes(8) + lib_bytes[ts + 8 :]
                pure_bytes = pure_bytes[:ts] + bytes(8) + pure_bytes[ts + 8 :]
            assert lib_bytes == pure_bytes, f"stream {i}"
        if cfg.shm_path:
            assert _names_modes(lib_path) == _names_modes(pure_path)
        # channel hand-over
        lib_msg, lib_got = oracle.handover()
        received += lib_got
        pure_msg, pure_fd = pure.handover()
        assert len(lib_got) == 1
        header = 12
        assert lib_msg[:header] == pure_msg[:header]
        assert lib_msg[-1:] == create.FD_CARRIER
        lib_blob, pure_blob = lib_msg[header:-1], pure_msg[header:]
        assert len(lib_blob) == len(pure_blob) == pure.memory_map_size
        assert _mask_channel(lib_blob) == _mask_channel(pure_blob)
        start = layout.field_offset(layout.Channel, "backend.start_tsc")
        lib_tsc = int.from_bytes(lib_blob[start : start + 8], "little")
        assert lib_tsc == 0 if cfg.metadata else before <= lib_tsc <= after
        assert _pipe_kind(oracle.wakeup_fd()) == _pipe_kind(pure_fd)
        assert _pipe_kind(oracle.wait_fd()) == _pipe_kind(pure.wait_fd)
        # streams opened for reading, and their hand-over
        for cpu in range(nr):
            stream = oracle.create_stream(cpu)
            lib_smsg, lib_sfds = stream.handover()
            received += lib_sfds
            pure_smsg, pure_sfds = pure.stream_handover(cpu)
            assert lib_smsg == pure_smsg + create.FD_CARRIER
            assert len(lib_sfds) == 2
            assert _fd_kind(lib_sfds[0])[:4] == _fd_kind(pure_sfds[0])[:4]
            # received fds carry no FD_CLOEXEC (recv_fds): compare the owners' fds for it
            assert _pipe_kind(lib_sfds[1])[:2] == _pipe_kind(pure_sfds[1])[:2]
            assert _pipe_kind(stream.wakeup_fd()) == _pipe_kind(pure.stream(cpu).wakeup_fd)
            assert _pipe_kind(stream.wait_fd()) == _pipe_kind(pure.stream(cpu).wait_fd)
    finally:
        oracle.close()
        pure.destroy()
        for fd in received + lib_fds + pure_fds:
            os.close(fd)


def test_destroy_closes_pipes_not_stream_fds() -> None:
    attr = create.ChannelAttr(type=create.ChanType.METADATA, subbuf_size=4096, num_subbuf=2)
    fds = open_stream_fds(1)
    chan = PureChannel.create(attr, fds)
    pipes = [chan.wait_fd, chan.wakeup_fd, chan.streams[0].wait_fd, chan.streams[0].wakeup_fd]
    chan.close_wakeup_fd()
    assert chan.wakeup_fd == -1
    chan.destroy()
    for fd in pipes:
        with pytest.raises(OSError):
            os.fstat(fd)
    os.fstat(fds[0])  # the caller's
    os.close(fds[0])


@pytest.mark.parametrize(
    ("attr", "what"),
    [
        (
            create.ChannelAttr(type=create.ChanType.PER_CPU, subbuf_size=2048, num_subbuf=4),
            "power of two",
        ),
        (
            create.ChannelAttr(type=create.ChanType.PER_CPU, subbuf_size=12288, num_subbuf=4),
            "power of two",
        ),
        (
            create.ChannelAttr(type=create.ChanType.PER_CPU, subbuf_size=4096, num_subbuf=3),
            "power of two",
        ),
        (
            create.ChannelAttr(
                type=create.ChanType.PER_CPU, subbuf_size=4096, num_subbuf=1, overwrite=True
            ),
            "at least 2",
        ),
        (
            create.ChannelAttr(
                type=create.ChanType.PER_CPU, subbuf_size=4096, num_subbuf=2, blocking_timeout=-2
            ),
            "< -1",
        ),
        (
            create.ChannelAttr(
                type=create.ChanType.PER_CPU, subbuf_size=4096, num_subbuf=2, blocking_timeout=2**42
            ),
            "int32",
        ),
    ],
)
def test_rejects_what_the_library_rejects(attr: create.ChannelAttr, what: str) -> None:
    nr = create.nr_streams(create.select_client(attr))
    fds = open_stream_fds(nr)
    try:
        with pytest.raises(UstrefError):
            libustctl.OracleChannel(
                overwrite=attr.overwrite,
                subbuf_size=attr.subbuf_size,
                num_subbuf=attr.num_subbuf,
                blocking_timeout=attr.blocking_timeout,
                stream_fds=fds,
            )
        with pytest.raises(LocalProtocolError, match=what):
            PureChannel.create(attr, fds)
    finally:
        for fd in fds:
            os.close(fd)


def test_memfd_option_is_sealed_against_shrinking() -> None:
    attr = create.ChannelAttr(type=create.ChanType.PER_CPU, subbuf_size=4096, num_subbuf=2)
    fds = open_stream_fds(create.nr_streams(create.select_client(attr)), anonymous="memfd")
    chan = PureChannel.create(attr, fds, seal=True)
    try:
        with pytest.raises(PermissionError):
            os.ftruncate(fds[0], 0)
        os.ftruncate(fds[0], chan.streams[0].memory_map_size + 4096)  # growing is allowed
    finally:
        chan.destroy()
        for fd in fds:
            os.close(fd)


def test_nr_stream_per_channel() -> None:
    assert (
        create.possible_cpus_array_len()
        == libustctl.library().lttng_ust_ctl_get_nr_stream_per_channel()
    )


def test_end_of_streams_marker() -> None:
    lib = libustctl.library()
    data, fds = libustctl._handover(
        lambda fd: int(lib.lttng_ust_ctl_send_stream_to_sessiond(fd, None))
    )
    assert fds == []
    assert data == create.END_OF_STREAMS
