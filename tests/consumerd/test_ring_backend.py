"""The consumer's ust-ctl seam: both backends hand over the same bytes and fd kinds,
the pure backend runs the ring-buffer timers the library would run in the consumer,
and a pure ustref-consumerd never maps liblttng-ust-ctl."""

from __future__ import annotations

import dataclasses
import os
import select
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.test_channels import _ask as _ask_in_chunk
from tests.consumerd.test_channels import _create_chunk, _msg
from ustref.consumerd import ring_backend
from ustref.consumerd.core import Core
from ustref.consumerd.effects import open_stream_fds
from ustref.consumerd.exchange import Send, Sock
from ustref.consumerd.registry import Channel
from ustref.consumerd.startup import HEALTH_PATH_ENV
from ustref.errors import LocalProtocolError
from ustref.ids import U64_MAX, ChannelKey
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    ERROR_SOCKET_CODE,
    NO_RELAYD,
    STATUS_CHANNEL,
    STATUS_MSG,
    AskChannelMember,
    KeyArgs,
    LttngConsumerCommand,
    OptionalU64,
    PushMetadataMember,
    SnapshotChannelMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.ring import create, libustctl, packet
from ustref.ring.reader import Status
from ustref.transport.framing import hand_over

UUID = bytes(range(16))
_END = U64_MAX.to_bytes(8, "little")


def _need_lib() -> None:
    if not libustctl.available():
        pytest.skip("liblttng-ust-ctl not loadable")


# -- the hand-over ----------------------------------------------------------------------


@dataclass
class Received:
    data: bytes
    fds: list[int]


def _receive_all(sock: socket.socket) -> Received:
    data, fds = bytearray(), []
    while True:
        chunk, got, _flags, _addr = socket.recv_fds(sock, 65536, 4)
        fds.extend(got)
        if not chunk:
            return Received(bytes(data), fds)
        data += chunk


def _handover(
    backend: ring_backend.Backend, attr: create.ChannelAttr
) -> tuple[Received, list[int], ring_backend.UstChannel, list[int]]:
    """Create ``attr`` on ``backend`` with its streams and run the GET_CHANNEL hand-over
    (``send_channel_to_sessiond_and_relayd``) into a socketpair."""
    metadata = attr.type is create.ChanType.METADATA
    fds = open_stream_fds(1 if metadata else backend.nr_stream_per_channel())
    channel = backend.create_channel(attr, fds, 0)
    kind = packet.ClientKind.METADATA if metadata else packet.ClientKind.DATA
    identity = packet.ChannelIdentity(kind, attr.uuid, attr.chan_id)
    streams: list[ring_backend.UstStream] = []
    while (stream := channel.create_stream(len(streams), identity)) is not None:
        streams.append(stream)
    left, right = socket.socketpair()
    with left, right:
        hand_over(left, channel.handover())
        channel.close_wakeup_fd()
        for stream in streams:
            hand_over(left, stream.handover())
        hand_over(left, backend.end_of_streams())
        left.shutdown(socket.SHUT_WR)
        got = _receive_all(right)
    sizes = [os.fstat(fd).st_size for fd in fds]
    for stream in streams:
        stream.destroy()
    return got, sizes, channel, fds


def _split(got: Received) -> tuple[bytes, list[tuple[int, int]]]:
    """The channel blob and ``(memory_map_size, stream_nr)`` of each stream, checking the
    framing (fd carrier bytes, end marker) on the way."""
    data = got.data
    size = int.from_bytes(data[:8], "little")
    blob = data[12 : 12 + size]
    assert data[12 + size : 13 + size] == b"\0"  # the wakeup fd's carrier byte
    pos, streams = 13 + size, []
    while data[pos : pos + 8] != _END:
        mms = int.from_bytes(data[pos : pos + 8], "little")
        streams.append((mms, int.from_bytes(data[pos + 8 : pos + 12], "little")))
        assert data[pos + 12 : pos + 13] == b"\0"
        pos += 13
    assert pos + 8 == len(data)
    return blob, streams


def _masked(blob: bytes) -> bytes:
    out = bytearray(blob)
    for offset, size, _name in create.run_specific_channel_ranges():
        out[offset : offset + size] = bytes(size)
    return bytes(out)


def _kinds(fds: list[int]) -> list[str]:
    kinds = []
    for fd in fds:
        mode = os.fstat(fd).st_mode
        kinds.append("fifo" if stat.S_ISFIFO(mode) else "file" if stat.S_ISREG(mode) else "?")
    return kinds


ATTRS = {
    "metadata": create.ChannelAttr(
        type=create.ChanType.METADATA, subbuf_size=4096, num_subbuf=2, chan_id=0xFFFFFFFF, uuid=UUID
    ),
    "discard": create.ChannelAttr(
        type=create.ChanType.PER_CPU, subbuf_size=8192, num_subbuf=4, uuid=UUID
    ),
    "overwrite-rt-timers": create.ChannelAttr(
        type=create.ChanType.PER_CPU,
        subbuf_size=4096,
        num_subbuf=8,
        overwrite=True,
        switch_timer_interval=1_000_000,
        read_timer_interval=2_000_000,
        chan_id=3,
        uuid=UUID,
        blocking_timeout=5_000,
    ),
}


@pytest.mark.parametrize("name", sorted(ATTRS))
def test_both_backends_hand_over_the_same_channel(name: str) -> None:
    _need_lib()
    seen = {}
    for which in ring_backend.CHOICES:
        got, sizes, channel, fds = _handover(ring_backend.backend(which), ATTRS[name])
        try:
            blob, streams = _split(got)
            seen[which] = (_masked(blob), streams, _kinds(got.fds), sizes)
            # the channel's wakeup fd, then each stream's shm fd and wakeup fd
            assert len(got.fds) == 1 + 2 * len(streams)
            assert [os.fstat(fd).st_size for fd in got.fds[1::2]] == [m for m, _ in streams]
        finally:
            channel.destroy()
            for fd in got.fds + fds:
                os.close(fd)
    assert seen[ring_backend.PURE] == seen[ring_backend.LIB]
    _blob, streams, kinds, _sizes = seen[ring_backend.PURE]
    assert kinds == ["fifo"] + ["file", "fifo"] * len(streams)
    assert [nr for _, nr in streams] == list(range(len(streams)))


# -- ring-buffer timers in the core ------------------------------------------------------------


def _ask(key: int, *, metadata: bool) -> bytes:
    """test_channels' ASK_CHANNEL_CREATION without a trace chunk: these tests create none,
    and a chunk id naming no chunk fails the channel, as in C (consumer_allocate_channel)."""
    msg = CONSUMER_MSG[Abi.V2_13_9].parse(_ask_in_chunk(key, metadata=metadata))
    assert isinstance(msg.u, AskChannelMember)
    member = dataclasses.replace(msg.u, chunk_id=OptionalU64(is_set=0, value=0))
    return _msg(LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION, member)


def _ask_timers(key: int, *, switch_us: int = 0, read_us: int = 0) -> bytes:
    raw = _ask(key, metadata=False)
    msg = CONSUMER_MSG[Abi.V2_13_9].parse(raw)
    assert isinstance(msg.u, AskChannelMember)
    member = dataclasses.replace(
        msg.u, switch_timer_interval=switch_us, read_timer_interval=read_us
    )
    return _msg(LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION, member)


@pytest.fixture
def pure_core() -> Iterator[Driver]:
    """A driver (fake clock at 0, conversation checked) around a pure-backend core."""
    driver = Driver(Core(backend=ring_backend.PureBackend()))
    yield driver
    driver.core.shutdown(driver.now)


def _created(driver: Driver, raw: bytes, key: int) -> Channel:
    (reply,) = driver.command(raw)
    status = STATUS_CHANNEL.parse(reply.data)  # type: ignore[union-attr]
    assert status.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    channel = driver.core.registry.find(ChannelKey(key))
    assert channel is not None and channel.streams
    return channel


def _readable(fd: int) -> bool:
    return bool(select.select([fd], [], [], 0)[0])


def test_pure_switch_timer_flushes_and_wakes_the_consumer(pure_core: Driver) -> None:
    """``lib_ring_buffer_channel_switch_timer()``: every stream with a reader is flushed
    (SWITCH_ACTIVE); the delivery wakes the consumer's wait fd (wake-up by writer)."""
    channel = _created(pure_core, _ask_timers(1, switch_us=1000), 1)
    deadline = pure_core.core.next_deadline()
    assert deadline == 1_000_000  # armed at the driver's now (0), one period later
    pure_core.tick(deadline - 100_000)
    assert not any(_readable(s.wait_fd) for s in channel.streams)
    pure_core.tick(deadline)
    for stream in channel.streams:
        assert _readable(stream.wait_fd)
        assert stream.reader is not None and stream.reader.get_next_subbuf() is Status.OK
        stream.reader.put_next_subbuf()
    assert pure_core.core.next_deadline() == deadline + 1_000_000


def test_pure_read_timer_wakes_rt_streams(pure_core: Driver) -> None:
    """The ``-rt`` clients (read timer set) do not wake the reader on delivery;
    ``lib_ring_buffer_channel_do_read()`` does, on the read timer."""
    channel = _created(pure_core, _ask_timers(2, read_us=5000), 2)
    for stream in channel.streams:
        stream.ust.flush(False)
    assert not any(_readable(s.wait_fd) for s in channel.streams)
    deadline = pure_core.core.next_deadline()
    assert deadline == 5_000_000
    pure_core.tick(deadline)
    assert all(_readable(s.wait_fd) for s in channel.streams)


def test_lib_channels_leave_their_timers_to_the_library() -> None:
    _need_lib()
    driver = Driver(Core(backend=ring_backend.LibBackend()))
    try:
        _created(driver, _ask_timers(3, switch_us=1000, read_us=5000), 3)
        assert driver.core.next_deadline() is None
    finally:
        driver.core.shutdown(driver.now)


def test_clear_channel_empties_data_streams_and_spares_metadata(
    backend: ring_backend.Backend,
) -> None:
    """CLEAR_CHANNEL: each data stream is flushed and cleared (nothing left to read);
    a metadata channel is left alone (``lttng_consumer_clear_channel``)."""
    driver = Driver(Core(backend=backend))
    try:
        data = _created(driver, _ask(4, metadata=False), 4)
        meta = _created(driver, _ask(5, metadata=True), 5)
        meta_stream = meta.streams[0]
        assert meta.ust.write_one_packet(b"/* CTF 1.8 */") == len(b"/* CTF 1.8 */")
        for stream in (*data.streams, meta_stream):
            stream.ust.flush(False)  # a packet ready in every stream
        for key in (4, 5):
            actions = driver.command(
                _msg(LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL, KeyArgs(key=key))
            )
            assert driver.statuses(actions) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
        for stream in data.streams:
            assert stream.reader is not None
            assert stream.reader.get_next_subbuf() is not Status.OK
        assert meta_stream.reader is not None
        assert meta_stream.reader.get_next_subbuf() is Status.OK
        meta_stream.reader.put_next_subbuf()
    finally:
        driver.core.shutdown(driver.now)


def test_channel_hangup_closes_the_stream_wakeup_fds(pure_core: Driver) -> None:
    """``consumer_close_channel_streams()`` → ``lttng_ust_ctl_stream_close_wakeup_fd()``:
    a later delivery wakes nobody, the wait fd hangs up once every write end is gone."""
    channel = _created(pure_core, _ask(6, metadata=False), 6)
    pure_core.core.channel_hangup(channel, pure_core.now)
    for stream in channel.streams:
        ust = stream.ust
        assert isinstance(ust, ring_backend.PureStream)
        assert ust.obj.wakeup_fd == -1 and ust.reader.wakeup_fd is None
        ust.flush(False)  # delivers a packet, writes to no fd
        assert os.read(stream.wait_fd, 1) == b""  # EOF: no writer left


def test_metadata_snapshots_create_the_stream_again_each_time(
    tmp_path: Path, backend: ring_backend.Backend
) -> None:
    """A snapshot-mode metadata channel (``monitor`` 0) gets its stream at each
    SNAPSHOT_CHANNEL and loses it after (``snapshot_metadata``): the second creation
    meets the wait and wake-up fds the first destruction closed, and succeeds."""
    (tmp_path / "uid/0/64-bit").mkdir(parents=True)
    driver = Driver(Core(backend=backend))
    try:
        _create_chunk(driver, tmp_path)
        ask = CONSUMER_MSG[Abi.V2_13_9].parse(_ask_in_chunk(7, metadata=True))
        assert isinstance(ask.u, AskChannelMember)
        raw = _msg(
            LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION,
            dataclasses.replace(ask.u, monitor=0),
        )
        driver.command(raw)
        text = b"/* CTF 1.8 */ trace { major = 1; };"
        push = PushMetadataMember(key=7, target_offset=0, len=len(text), version=0)
        driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA, push))
        driver.command(text)
        snapshot = SnapshotChannelMember(
            pathname="",
            use_relayd=0,
            metadata=1,
            relayd_id=NO_RELAYD,
            key=7,
            nb_packets_per_stream=0,
        )
        nothing_new = PushMetadataMember(key=7, target_offset=len(text), len=0, version=0)
        for _ in range(3):
            # snapshot_metadata asks the session daemon first (metadata socket).
            (request,) = driver.command(
                _msg(LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL, snapshot)
            )
            assert isinstance(request, Send) and request.sock is Sock.METADATA
            ready, reply = driver.feed(
                Sock.METADATA, _msg(LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA, nothing_new)
            )
            assert isinstance(ready, Send) and ready.sock is Sock.METADATA
            assert isinstance(reply, Send) and reply.sock is Sock.COMMAND
            status = STATUS_MSG.parse(reply.data)
            assert status.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
            data = (tmp_path / "uid/0/64-bit/metadata").read_bytes()
            assert text in data
    finally:
        driver.core.shutdown(driver.now)


def test_unknown_backend() -> None:
    with pytest.raises(LocalProtocolError):
        ring_backend.backend("kernel")


# -- the process: what it maps -----------------------------------------------------------------


def _recv_exact(sock: socket.socket, n: int) -> tuple[bytes, list[int]]:
    data, fds = b"", []
    while len(data) < n:
        chunk, got, _flags, _addr = socket.recv_fds(sock, n - len(data), 4)
        assert chunk, "unexpected EOF"
        data += chunk
        fds += got
    return data, fds


def _get_channel(command: socket.socket, key: int) -> list[int]:
    """GET_CHANNEL: status, the ust-ctl hand-over (read to its end marker), status."""
    command.sendall(_msg(LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, KeyArgs(key=key)))
    fds: list[int] = []
    status, _ = _recv_exact(command, 4)
    assert STATUS_MSG.parse(status).ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    head, _ = _recv_exact(command, 12)
    _blob, got = _recv_exact(command, int.from_bytes(head[:8], "little") + 1)
    fds += got
    while True:
        size, _ = _recv_exact(command, 8)
        if size == _END:
            break
        _rest, got = _recv_exact(command, 5)
        fds += got
    status, _ = _recv_exact(command, 4)
    assert STATUS_MSG.parse(status).ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    return fds


@pytest.mark.parametrize(
    ("args", "env", "maps_library"),
    [
        ([], None, False),
        (["--ust-ctl", "pure"], ring_backend.LIB, False),
        ([], ring_backend.LIB, True),
    ],
    ids=["default", "option-over-env", "env-lib"],
)
def test_the_pure_consumer_never_maps_liblttng_ust_ctl(
    tmp_path: Path, args: list[str], env: str | None, maps_library: bool
) -> None:
    """ustref-consumerd creates, hands over and destroys a data and a metadata channel;
    meanwhile /proc/PID/maps names liblttng-ust-ctl (and its shim) only with ``lib``."""
    if maps_library:
        _need_lib()
    err_path, cmd_path = str(tmp_path / "error"), str(tmp_path / "command")
    err_listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    err_listener.bind(err_path)
    err_listener.listen(1)
    environ = {k: v for k, v in os.environ.items() if k != ring_backend.ENV}
    environ[HEALTH_PATH_ENV] = str(tmp_path / "health")
    if env is not None:
        environ[ring_backend.ENV] = env
    argv = [sys.executable, "-m", "ustref.consumerd", "", "-u", "--consumerd-cmd-sock", cmd_path]
    argv += ["--consumerd-err-sock", err_path, *args]
    proc = subprocess.Popen(argv, env=environ)
    fds: list[int] = []
    try:
        err_listener.settimeout(60)
        err, _ = err_listener.accept()
        err.settimeout(60)
        ready, _ = _recv_exact(err, 4)
        assert (
            ERROR_SOCKET_CODE.parse(ready).code
            == LttcommReturnCode.LTTCOMM_CONSUMERD_COMMAND_SOCK_READY
        )
        command = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        command.connect(cmd_path)
        metadata = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        metadata.connect(cmd_path)
        command.settimeout(60)
        for key, is_metadata in ((1, False), (2, True)):
            command.sendall(_ask(key, metadata=is_metadata))
            reply, _ = _recv_exact(command, STATUS_CHANNEL.size)
            assert (
                STATUS_CHANNEL.parse(reply).ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
            )
        fds += _get_channel(command, 1)
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert ("liblttng-ust-ctl" in maps) is maps_library
        assert ("ustctl-shim" in maps) is maps_library
        for key in (1, 2):
            command.sendall(
                _msg(LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL, KeyArgs(key=key))
            )
            status, _ = _recv_exact(command, 4)
            assert STATUS_MSG.parse(status).ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        command.close()
        assert proc.wait(timeout=60) == 0
        metadata.close()
        err.close()
    finally:
        for fd in fds:
            os.close(fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        err_listener.close()


def test_ust_ctl_option_is_checked() -> None:
    from ustref.consumerd.cli import UsageError, parse_args

    assert parse_args(["--ust-ctl=lib"]).ust_ctl == ring_backend.LIB
    with pytest.raises(UsageError):
        parse_args(["--ust-ctl", "kernel"])
