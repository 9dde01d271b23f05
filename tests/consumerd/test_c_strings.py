"""Fixed-size C strings without a NUL: the consumer answers as the C one does.

``lttng_ustconsumer_recv_cmd`` reads the ``char`` arrays of ``lttcomm_consumer_msg``
as C strings and never checks for a NUL; the strict grammar refuses such a message,
and the core used to drop it without a word (found by ``ustref fuzz consumerd
--target both``, seeds 3 and 7: an unterminated ``ask_channel.name`` and
``.pathname``). :func:`ustref.consumerd.decode.decode_command` reads an unterminated
array whole; each command then answers what C answers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.test_channels import _ask as ask
from ustref.consumerd import ring_backend
from ustref.consumerd.core import Core
from ustref.consumerd.decode import c_copy, decode_command
from ustref.consumerd.exchange import Send
from ustref.errors import RemoteProtocolError
from ustref.ids import ChannelKey
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    NO_RELAYD,
    STATUS_CHANNEL,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    LttngConsumerCommand,
    OptionalCredentials,
    OptionalU64,
    SnapshotChannelMember,
)
from ustref.protocol.fields import CharArray, unwrap
from ustref.protocol.layout import walk
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.protocol.registry import parse

ABI = Abi.V2_13_9
SESSION = 5
Cmd = LttngConsumerCommand


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[ABI].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _ask() -> bytes:
    """A monitored data channel (key 1, ``channel0`` under ``uid/0/64-bit``), no chunk."""
    return ask(1, metadata=False, chunk=False)


def _create_chunk(override_name: str = "") -> bytes:
    member = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        override_name=override_name,
        session_id=SESSION,
        chunk_id=0,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(
            is_set=1, value=Credentials(uid=os.getuid(), gid=os.getgid())
        ),
    )
    return _msg(Cmd.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, member)


def _snapshot() -> bytes:
    member = SnapshotChannelMember(
        pathname="snap",
        use_relayd=0,
        relayd_id=NO_RELAYD,
        key=77,
        metadata=0,
        nb_packets_per_stream=0,
    )
    return _msg(Cmd.LTTNG_CONSUMER_SNAPSHOT_CHANNEL, member)


def _fill(raw: bytes, field: str, content: bytes) -> bytes:
    """``raw`` with the char array ``field`` (``u.ask_channel.name`` …) set to
    ``content``, which fills it: no NUL left."""
    (array,) = [f for f in walk(CONSUMER_MSG[ABI].grammar) if f.name == field]
    assert isinstance(unwrap(array.construct), CharArray)
    body = (content * array.size)[: array.size]
    assert len(body) == array.size and 0 not in body
    return raw[: array.offset] + body + raw[array.offset + array.size :]


ARRAYS = [
    (_ask, "u.ask_channel.pathname"),
    (_ask, "u.ask_channel.name"),
    (_ask, "u.ask_channel.root_shm_path"),
    (_ask, "u.ask_channel.shm_path"),
    (_snapshot, "u.snapshot_channel.pathname"),
    (_create_chunk, "u.create_trace_chunk.override_name"),
]


def test_every_char_array_of_a_ust_command_is_covered() -> None:
    """The arrays above are all those of the commands a UST consumer handles (the
    kernel's ADD_CHANNEL aside): a new one in the grammar must be added here."""
    arrays = {
        f.name
        for f in walk(CONSUMER_MSG[ABI].grammar)
        if isinstance(unwrap(f.construct), CharArray) and not f.name.startswith("u.channel.")
    }
    assert arrays == {field for _, field in ARRAYS}


@pytest.mark.parametrize(("build", "field"), ARRAYS, ids=[f for _, f in ARRAYS])
def test_an_unterminated_array_is_read_whole(build: object, field: str) -> None:
    """The strict grammar refuses the message; the consumer reads the array whole (its
    non-UTF-8 bytes kept), and every other field as the strict grammar does."""
    assert callable(build)
    good = build()
    raw = _fill(good, field, b"ab\xff")
    with pytest.raises(RemoteProtocolError, match="not NUL-terminated"):
        parse(CONSUMER_MSG[ABI], raw)
    msg = decode_command(ABI, raw)
    name = field.rsplit(".", 1)[-1]
    value = getattr(msg.u, name)
    size = len(value.encode("utf-8", "surrogateescape"))
    assert size == {"name": 256, "override_name": 255}.get(name, 4096)
    assert value.startswith("ab\udcffab")
    strict = parse(CONSUMER_MSG[ABI], good)
    for other in strict.u.__dataclass_fields__:
        if other != name:
            assert getattr(msg.u, other) == getattr(strict.u, other), other
    assert decode_command(ABI, good) == strict


def _answered_channel(driver: Driver, raw: bytes) -> tuple[LttcommReturnCode, int]:
    (reply,) = [a for a in driver.command(raw) if isinstance(a, Send)]
    status = STATUS_CHANNEL.parse(reply.data)
    return LttcommReturnCode(status.ret_code), status.key


@pytest.mark.parametrize(
    ("field", "kept"),
    [("u.ask_channel.name", ("name", 255)), ("u.ask_channel.pathname", ("pathname", 4095))],
)
def test_ask_channel_with_an_unterminated_string_is_answered(
    field: str, kept: tuple[str, int]
) -> None:
    """``consumer_allocate_channel`` copies ``name`` and ``pathname`` with ``strncpy``
    and a forced NUL: the channel is created (SUCCESS) and keeps the first
    ``size - 1`` bytes."""
    driver = Driver(Core(backend=ring_backend.backend(ring_backend.PURE)), observe=False)
    try:
        code, key = _answered_channel(driver, _fill(_ask(), field, b"x"))
        assert (code, key) == (LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS, 1)
        channel = driver.core.registry.find(ChannelKey(1))
        assert channel is not None
        attribute, size = kept
        assert getattr(channel, attribute) == "x" * size
    finally:
        driver.core.shutdown(driver.now)


def test_ask_channel_with_an_unterminated_shm_path_fails_like_c() -> None:
    """An unterminated ``shm_path`` is kept as 4095 bytes: the stream files
    ``<shm_path><cpu>`` cannot be opened (ENAMETOOLONG), so CHANNEL_FAIL, as
    ``create_ust_channel`` answers — an answer, not silence."""
    driver = Driver(Core(backend=ring_backend.backend(ring_backend.PURE)), observe=False)
    try:
        code, key = _answered_channel(driver, _fill(_ask(), "u.ask_channel.shm_path", b"s"))
        assert (code, key) == (LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL, 0)
        assert driver.core.registry.find(ChannelKey(1)) is None
    finally:
        driver.core.shutdown(driver.now)


def test_an_unterminated_override_name_fails_the_chunk(tmp_path: Path) -> None:
    """``is_valid_chunk_name`` refuses a name as long as its array (``lttng_strnlen``
    reaches ``LTTNG_NAME_MAX``): SUCCESS for the fd, then CREATE_TRACE_CHUNK_FAILED."""
    driver = Driver(observe=False)
    first = driver.command(_fill(_create_chunk(), "u.create_trace_chunk.override_name", b"o"))
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    second = driver.command(b"\0", [dirfd])
    assert driver.statuses(first + second) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED,
    ]
    assert list(tmp_path.iterdir()) == []


def test_snapshot_with_an_unterminated_pathname_is_answered() -> None:
    """SNAPSHOT_CHANNEL's ``pathname`` is used only for a relay daemon: an unknown
    channel gets CHAN_NOT_FOUND whatever the path holds."""
    driver = Driver(observe=False)
    raw = _fill(_snapshot(), "u.snapshot_channel.pathname", b"p")
    assert driver.statuses(driver.command(raw)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND
    ]


def test_c_copy_keeps_size_minus_one_bytes() -> None:
    assert c_copy("abc", 3) == "ab"
    assert c_copy("abc", 4) == "abc"
    # A multi-byte character cut in two keeps its first byte, as strncpy does.
    assert c_copy("é", 2).encode("utf-8", "surrogateescape") == "é".encode()[:1]
