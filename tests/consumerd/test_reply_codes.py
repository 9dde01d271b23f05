"""Each command's reply codes, tied to tests: the spec lists them, the daemon sends them.

Every :class:`~ustref.consumerd.behaviour.Code` of the behaviour table names the tests
that make ustref-consumerd answer it (``Code.tests``), unless only the C consumer can
send it (``Code.only == "C"``, the reason in its meaning). Two checks keep the table
honest:

* every named test exists: its file is in the repository and defines the function;
* the daemon sends no code its command's section leaves out: every
  ``LttcommReturnCode``/``LttngErrorCode`` member a handler's source names (read with
  :mod:`ast`, following the calls to other functions of ``handlers.py``), plus the
  command's ``on_error``, is listed for that command.

The rest of this module holds the tests that produce codes no other test did.
"""

from __future__ import annotations

import ast
import inspect
import os
from pathlib import Path
from typing import cast

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.test_testpoint import _Reader, _stream
from ustref.consumerd import handlers, streams
from ustref.consumerd.behaviour import BEHAVIOUR
from ustref.consumerd.exchange import Send
from ustref.consumerd.registry import ChannelType, Stream
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG,
    CONSUMER_MSG_UNION_SIZE,
    DATA_PENDING_REPLY,
    NO_RELAYD,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    KeyArgs,
    LttngConsumerCommand,
    OptionalCredentials,
    OptionalTraceChunkCommand,
    OptionalU64,
    PushMetadataMember,
    SessionIdArgs,
    SnapshotChannelMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.ring.reader import Status, StreamReader

REPO = Path(__file__).resolve().parents[2]

#: Functions of ``handlers.py`` whose statuses go to another socket than the command
#: socket: not part of any command's reply codes.
OTHER_SOCKET = {"request_metadata"}


def _msg(cmd: LttngConsumerCommand, u: object) -> bytes:
    return CONSUMER_MSG[Abi.V2_13_9].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def _defines(path: Path, function: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
        for node in ast.walk(tree)
    )


def test_every_code_ustref_can_send_names_a_test_that_exists() -> None:
    problems: list[str] = []
    for cmd, behaviour in BEHAVIOUR.items():
        for code in behaviour.codes:
            where = f"{cmd.name} {code.describe()}"
            if code.only == "C":
                if code.tests:
                    problems.append(f"{where}: C-only, yet names tests")
                continue
            if not code.tests:
                problems.append(f"{where}: no test produces it")
            for node_id in code.tests:
                path, _, function = node_id.partition("::")
                function = function.split("[", 1)[0]
                file = REPO / path
                if not path.startswith("tests/") or not file.is_file():
                    problems.append(f"{where}: {path} is not a test file of the repository")
                elif not function or not _defines(file, function):
                    problems.append(f"{where}: {path} defines no {function!r}")
    assert not problems, "\n".join(problems)


def _handler_codes(name: str, functions: dict[str, ast.FunctionDef], seen: set[str]) -> set[str]:
    """The code members named by ``name`` and the handlers.py functions it calls."""
    if name in seen or name in OTHER_SOCKET or name not in functions:
        return set()
    seen.add(name)
    found: set[str] = set()
    for node in ast.walk(functions[name]):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in {"LttcommReturnCode", "LttngErrorCode"}
        ):
            found.add(node.attr)
        elif isinstance(node, ast.Name) and node.id in functions:
            found |= _handler_codes(node.id, functions, seen)
    return found


def daemon_codes() -> dict[LttngConsumerCommand, set[str]]:
    """Per command, every code member its handler (and ``on_error``) can answer."""
    tree = ast.parse(inspect.getsource(handlers))
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    out: dict[LttngConsumerCommand, set[str]] = {}
    for cmd, handler in handlers.HANDLERS.items():
        codes = _handler_codes(handler.__name__, functions, set())
        on_error = BEHAVIOUR[cmd].on_error
        if on_error is not None and isinstance(on_error.value, LttcommReturnCode | LttngErrorCode):
            codes.add(on_error.value.name)
        out[cmd] = codes
    return out


def test_the_daemon_sends_no_code_its_section_leaves_out() -> None:
    problems = []
    for cmd, codes in daemon_codes().items():
        listed = {
            c.value.name
            for c in BEHAVIOUR[cmd].codes
            if isinstance(c.value, LttcommReturnCode | LttngErrorCode) and c.only != "C"
        }
        problems += [f"{cmd.name}: sends {name}, not listed" for name in sorted(codes - listed)]
    assert not problems, "\n".join(problems)


def test_the_static_reader_sees_a_handlers_codes() -> None:
    codes = daemon_codes()
    assert "LTTCOMM_CONSUMERD_ALREADY_SET" in codes[LttngConsumerCommand.LTTNG_CONSUMER_INIT]
    # request_metadata's statuses go to the metadata socket, not to SNAPSHOT_CHANNEL's reply.
    snapshot = codes[LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL]
    assert "LTTCOMM_CONSUMERD_ERROR_METADATA" not in snapshot
    assert "LTTCOMM_CONSUMERD_SNAPSHOT_FAILED" in snapshot


# -- codes no other test produced --------------------------------------------------------


def test_setup_metadata_of_a_monitored_channel_without_its_stream() -> None:
    """``setup_metadata``: a monitored metadata channel with no stream left → ERROR_METADATA."""
    driver = Driver()
    stream, _reader = _stream(driver.core, 4, ChannelType.METADATA, wait_fd=-1)
    stream.channel.streams.clear()
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA, KeyArgs(key=4))
    assert driver.statuses(driver.command(raw)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA
    ]


def test_flush_channel_of_a_known_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    driver = Driver()
    _stream(driver.core, 8, ChannelType.DATA, wait_fd=-1)
    flushed: list[Stream] = []
    monkeypatch.setattr(streams, "flush", lambda s, producer_active: flushed.append(s))
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL, KeyArgs(key=8))
    assert driver.statuses(driver.command(raw)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]


def test_a_second_monitor_pipe_is_already_set() -> None:
    """``consumer_timer_thread_set_channel_monitor_pipe`` keeps the first pipe. The C consumer
    leaves the second fd open and unused (a leak); ustref closes it."""
    driver = Driver()
    raw = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE,
        bytes(CONSUMER_MSG_UNION_SIZE),
    )
    pipes = [os.pipe(), os.pipe()]
    try:
        answers = []
        for _read_end, write_end in pipes:
            assert driver.statuses(driver.command(raw)) == [
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
            ]
            answers += driver.statuses(driver.command(b"\0", [write_end]))
        assert answers == [
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
            LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET,
        ]
        assert driver.core.monitor_pipe == pipes[0][1]
        with pytest.raises(OSError):
            os.fstat(pipes[1][1])  # closed by ustref
    finally:
        for fd in (*pipes[0], pipes[1][0]):
            os.close(fd)


def _open_packets(
    monkeypatch: pytest.MonkeyPatch, *, monitor: bool, sent: bool, kind: ChannelType
) -> tuple[list[object], list[Stream]]:
    driver = Driver()
    stream, _reader = _stream(driver.core, 6, kind, wait_fd=-1)
    stream.channel.monitor = monitor
    stream.channel.sent_to_sessiond = sent
    opened: list[Stream] = []

    def open_packet(stream: Stream) -> bool:
        opened.append(stream)
        return True

    monkeypatch.setattr(streams, "open_packet", open_packet)
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS, KeyArgs(key=6))
    return driver.statuses(driver.command(raw)), opened


def test_open_channel_packets_of_a_metadata_channel_is_invalid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``lttng_consumer_open_channel_packets`` refuses a channel with a ``metadata_stream``."""
    statuses, opened = _open_packets(
        monkeypatch, monitor=True, sent=False, kind=ChannelType.METADATA
    )
    assert statuses == [LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS]
    assert opened == []


def test_open_channel_packets_of_a_streamless_metadata_channel_succeeds() -> None:
    """A snapshot-mode metadata channel has no stream between snapshots: C's
    ``channel->metadata_stream`` test passes, the empty list is walked, SUCCESS."""
    driver = Driver()
    stream, _reader = _stream(driver.core, 6, ChannelType.METADATA, wait_fd=-1)
    stream.channel.monitor = False
    stream.channel.streams.clear()
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS, KeyArgs(key=6))
    assert driver.statuses(driver.command(raw)) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]


@pytest.mark.parametrize(
    ("monitor", "sent", "opens"),
    [
        (False, True, True),  # snapshot channel: its streams stay on channel->streams
        (True, False, True),  # before GET_CHANNEL: the streams are still the channel's
        (True, True, False),  # after GET_CHANNEL: send_streams_to_thread emptied the list
    ],
    ids=["unmonitored", "monitored-before-get-channel", "monitored-after-get-channel"],
)
def test_open_channel_packets_walks_only_the_channels_own_streams(
    monkeypatch: pytest.MonkeyPatch, monitor: bool, sent: bool, opens: bool
) -> None:
    """``lttng_consumer_open_channel_packets`` walks ``channel->streams``: a monitored channel
    whose streams went to the data thread gets no packet opened, and still SUCCESS."""
    statuses, opened = _open_packets(monkeypatch, monitor=monitor, sent=sent, kind=ChannelType.DATA)
    assert statuses == [LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS]
    assert len(opened) == (1 if opens else 0)


def test_data_pending_is_one_while_a_sub_buffer_is_unconsumed() -> None:
    """``consumer_data_pending`` → ``data_pending(stream)``: a monitored stream with a
    sub-buffer still to consume answers 1."""

    class Ready(_Reader):
        def get_next_subbuf(self) -> Status:
            return Status.OK

        def put_subbuf(self) -> None:
            pass

    driver = Driver()
    stream, _reader = _stream(driver.core, 3, ChannelType.DATA, wait_fd=-1)
    stream.reader = cast(StreamReader, Ready())
    raw = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING,
        SessionIdArgs(session_id=int(stream.channel.session_id)),
    )
    (reply,) = driver.command(raw)
    assert isinstance(reply, Send)
    assert DATA_PENDING_REPLY.parse(reply.data).is_data_pending == 1


def test_push_metadata_to_an_unknown_channel() -> None:
    driver = Driver()
    raw = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA,
        PushMetadataMember(key=42, target_offset=0, len=10, version=0),
    )
    assert driver.statuses(driver.command(raw)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL
    ]


def test_snapshot_of_an_unknown_channel() -> None:
    driver = Driver()
    raw = _msg(
        LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL,
        SnapshotChannelMember(
            pathname="",
            use_relayd=0,
            metadata=0,
            relayd_id=NO_RELAYD,
            key=42,
            nb_packets_per_stream=0,
        ),
    )
    assert driver.statuses(driver.command(raw)) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND
    ]


def test_close_of_a_created_chunk(tmp_path: Path) -> None:
    """CLOSE_TRACE_CHUNK of a local chunk CREATE_TRACE_CHUNK made: SUCCESS, empty path."""
    driver = Driver()
    create = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        override_name="",
        session_id=1,
        chunk_id=5,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(
            is_set=1, value=Credentials(uid=os.getuid(), gid=os.getgid())
        ),
    )
    ok = LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    raw = _msg(LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, create)
    assert driver.statuses(driver.command(raw)) == [ok]
    dirfd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    assert driver.statuses(driver.command(b"\0", [dirfd])) == [ok]
    close = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        session_id=1,
        chunk_id=5,
        close_timestamp=1_700_000_001,
        close_command=OptionalTraceChunkCommand(is_set=0, value=0),  # type: ignore[arg-type]
    )
    (action,) = driver.command(_msg(LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, close))
    assert isinstance(action, Send)
    reply = CLOSE_TRACE_CHUNK_REPLY.parse(action.data)
    assert (reply.ret_code, reply.path) == (ok, b"\0")
    driver.core.shutdown(driver.now)
