"""The core with real channels (no daemon), on each ust-ctl backend (pure, and
liblttng-ust-ctl when it loads): channel creation, the GET_CHANNEL hand-over as
actions, metadata through the ring into a file, the monitor timer with a fake clock."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.consumerd.drive import Driver
from ustref.consumerd import ring_backend
from ustref.consumerd.core import Core
from ustref.consumerd.exchange import Handover, Send, WriteMonitor
from ustref.consumerd.state import RELEASE_MEMORY_DELAY
from ustref.ids import ChannelKey
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CHANNEL_MONITOR_MSG,
    CONSUMER_MSG,
    CONSUMER_MSG_UNION_SIZE,
    NO_RELAYD,
    STATUS_CHANNEL,
    AskChannelMember,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    KeyArgs,
    LttngConsumerCommand,
    LttngEventOutput,
    OptionalCredentials,
    OptionalU64,
    PushMetadataMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.protocol.ust_abi import LttngUstAbiChanType

SESSION = 5


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _ask(key: int, *, metadata: bool, monitor_us: int = 0, chunk: bool = True) -> bytes:
    member = AskChannelMember(
        subbuf_size=4096,
        num_subbuf=2 if metadata else 4,
        overwrite=0,
        switch_timer_interval=0,
        read_timer_interval=0,
        live_timer_interval=0,
        is_live=0,
        monitor_timer_interval=monitor_us,
        output=LttngEventOutput.LTTNG_EVENT_MMAP,
        type=(
            LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_METADATA
            if metadata
            else LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU
        ),
        session_id=SESSION,
        pathname="uid/0/64-bit",
        name="metadata" if metadata else "channel0",
        buffer_credentials=Credentials(uid=os.getuid(), gid=os.getgid()),
        relayd_id=NO_RELAYD,
        key=key,
        chunk_id=OptionalU64(is_set=int(chunk), value=0),
        uuid=bytes(range(16)),
        chan_id=0xFFFFFFFF if metadata else 0,
        tracefile_size=0,
        tracefile_count=0,
        session_id_per_pid=0,
        monitor=1,
        ust_app_uid=0,
        blocking_timeout=0,
        root_shm_path="",
        shm_path="",
    )
    return _msg(LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION, member)


def _create_chunk(driver: Driver, directory: Path) -> None:
    member = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        override_name="",
        session_id=SESSION,
        chunk_id=0,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(
            is_set=1, value=Credentials(uid=os.getuid(), gid=os.getgid())
        ),
    )
    first = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, member))
    dirfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    second = driver.command(b"\0", [dirfd])
    assert driver.statuses(first + second) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS] * 2


SECOND = 1_000_000_000  # one second of the driver's clock, in ns


def test_data_channel_handover_and_monitor_timer(
    tmp_path: Path, backend: ring_backend.Backend
) -> None:
    (tmp_path / "uid/0/64-bit/index").mkdir(parents=True)
    driver = Driver(Core(backend=backend), now=5 * SECOND)
    core = driver.core
    _create_chunk(driver, tmp_path)
    read_end, write_end = os.pipe()
    try:
        driver.command(
            _msg(
                LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE,
                bytes(CONSUMER_MSG_UNION_SIZE),
            )
        )
        driver.command(b"\0", [write_end])

        (reply,) = driver.command(_ask(1, metadata=False, monitor_us=1_000_000))
        assert isinstance(reply, Send)
        status = STATUS_CHANNEL.parse(reply.data)
        assert status.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        assert status.key == 1
        assert status.stream_count == backend.nr_stream_per_channel()

        first, handover, last = driver.command(
            _msg(LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, KeyArgs(key=1))
        )
        assert isinstance(handover, Handover) and handover.channel is driver.core.registry.find(
            ChannelKey(1)
        )
        assert isinstance(first, Send) and isinstance(last, Send)
        names = sorted(p.name for p in (tmp_path / "uid/0/64-bit").iterdir())
        cpus = backend.nr_stream_per_channel()
        assert names == sorted([f"channel0_{cpu}" for cpu in range(cpus)] + ["index"])

        # Armed at ASK_CHANNEL_CREATION's `now`: the first sample one period later.
        assert core.next_deadline() == 6 * SECOND
        assert driver.tick(6 * SECOND - SECOND // 2) == []
        (sample_action,) = driver.tick(6 * SECOND)
        assert isinstance(sample_action, WriteMonitor) and sample_action.fd == write_end
        sample = CHANNEL_MONITOR_MSG.parse(os.read(read_end, 32))
        assert sample.key == 1
        assert core.next_deadline() == 7 * SECOND
    finally:
        core.shutdown(driver.now)
        os.close(read_end)
        os.close(write_end)


def test_metadata_goes_through_the_ring_into_the_metadata_file(
    tmp_path: Path, backend: ring_backend.Backend
) -> None:
    (tmp_path / "uid/0/64-bit/index").mkdir(parents=True)
    driver = Driver(Core(backend=backend))
    core = driver.core
    _create_chunk(driver, tmp_path)
    driver.command(_ask(2, metadata=True))
    driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA, KeyArgs(key=2)))
    text = b"/* CTF 1.8 */\n" + b"x" * 9000
    push = PushMetadataMember(key=2, target_offset=0, len=len(text), version=0)
    first = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA, push))
    second = driver.command(text)
    assert driver.statuses(first + second) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS] * 2
    driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA, KeyArgs(key=2)))
    assert core.registry.find(ChannelKey(2)) is None, (
        "the metadata channel outlived its closed stream"
    )
    core.shutdown(driver.now)
    data = (tmp_path / "uid/0/64-bit/metadata").read_bytes()
    # Every packet: a 37-byte metadata packet header (content_size in bits at
    # offset 24), then text; padded to the 4096-byte sub-buffer.
    assert len(data) % 4096 == 0 and len(data) >= 3 * 4096
    payload = b""
    for off in range(0, len(data), 4096):
        content = int.from_bytes(data[off + 24 : off + 28], "little") // 8
        payload += data[off + 37 : off + content]
    assert payload == text


def test_a_hung_up_channel_goes_with_its_last_stream(tmp_path: Path) -> None:
    """A dead per-PID app: the channel's wait fd hangs up, then each stream's; the
    channel and its shared memory are freed with the last stream (``unref_channel``)."""
    (tmp_path / "uid/0/64-bit/index").mkdir(parents=True)
    driver = Driver()
    core = driver.core
    _create_chunk(driver, tmp_path)
    driver.command(_ask(1, metadata=False))
    driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, KeyArgs(key=1)))
    channel = core.registry.find(ChannelKey(1))
    assert channel is not None
    shm_fds = list(channel.stream_fds)
    *others, last = list(channel.streams)
    try:
        core.channel_hangup(channel, driver.now)
        for stream in others:
            core.stream_ready(stream, driver.now, hangup=True)
            assert core.registry.find(ChannelKey(1)) is channel
        core.stream_ready(last, driver.now, hangup=True)
        assert core.registry.find(ChannelKey(1)) is None
        assert channel.stream_fds == [] and not channel.streams
        for fd in shm_fds:
            with pytest.raises(OSError):
                os.fstat(fd)
        # What the channel held goes back to the system a little later.
        assert driver.tick(driver.now) == [] and driver.releases == []
        driver.tick(driver.now + RELEASE_MEMORY_DELAY)
        assert driver.releases == [driver.now]
    finally:
        core.shutdown(driver.now)
