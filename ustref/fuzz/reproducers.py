"""Hand-written reproducers of the C consumer's aborts found by reading its sources (issue 22).

The consumer fuzzer found ten crashes by itself (``spec/findings/``); a reading of
lttng-tools v2.13.9 found five more aborts that a session daemon's bytes reach.
Each is built here, field by field, as the short well-formed sequence that reaches
it, and :func:`write` saves it as a reproducer (``ustref-consumerd-reproducer/1``)
with the outcome the real C consumer gave (``ustref fuzz replay FILE``):

* ``push-metadata-data-channel`` — PUSH_METADATA with a data channel's key and a
  non-zero ``len``: ``lttng_ustconsumer_recv_metadata`` locks the NULL metadata cache
  (``pthread_mutex_lock(&channel->metadata_cache->lock)``, ust-consumer.c:1305);
* ``setup-metadata-data-channel`` — SETUP_METADATA on a monitored data channel before
  GET_CHANNEL (its streams still in the channel's list): ``setup_metadata`` reads the
  NULL ``metadata_stream`` (ust-consumer.c:910);
* ``snapshot-metadata-data-channel`` — SNAPSHOT_CHANNEL with ``metadata`` = 1 on an
  unmonitored data channel: ``lttng_ustconsumer_request_metadata`` asserts
  ``channel->metadata_cache`` (ust-consumer.c:3324);
* ``create-trace-chunk-no-credentials`` — CREATE_TRACE_CHUNK of a local chunk without
  credentials: ``lttng_trace_chunk_set_credentials`` (called at consumer.c:4794)
  dereferences the NULL credentials (trace-chunk.c:988);
* ``add-relayd-socket-unix`` — ADD_RELAYD_SOCKET (control) with a connected AF_UNIX
  socket: ``lttcomm_populate_sock_from_open_socket`` meets neither AF_INET nor
  AF_INET6 and calls ``abort()`` (sessiond-comm.c:528).

One more was found by the differential fuzzer (seed 6) and is built here the same way:

* ``close-trace-chunk-bad-command`` — CLOSE_TRACE_CHUNK whose ``close_command`` is set to a
  value out of ``enum lttng_trace_chunk_command_type``:
  ``lttng_trace_chunk_command_type_get_name`` (called at consumer.c:4933, only for
  logging, before the chunk is looked up) calls ``abort()`` in its ``default:``
  (trace-chunk.c:1826).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ustref.fuzz.differential import SETTLE
from ustref.fuzz.launch import Consumerd
from ustref.fuzz.replay import load
from ustref.fuzz.session import REPRODUCER_FORMAT, Action, Heard, Outcome, Session
from ustref.ids import U64_MAX
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    CONSUMER_MSG_SIZE,
    DATA_PENDING_REPLY,
    STATUS_MSG,
    AskChannelMember,
    CloseTraceChunkMember,
    ConsumerMsgV2139,
    CreateTraceChunkMember,
    Credentials,
    DataPendingReply,
    KeyArgs,
    LttngConsumerCommand,
    LttngEventOutput,
    LttngStreamType,
    LttngTraceChunkCommandType,
    OptionalCredentials,
    OptionalTraceChunkCommand,
    OptionalU64,
    PushMetadataMember,
    RelaydSockV2139,
    SessionIdArgs,
    SnapshotChannelMember,
)
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.sockets import LttcommSockProto
from ustref.protocol.ust_abi import LttngUstAbiChanType

ABI = Abi.V2_13_9
SESSION = 1
KEY = 1
CHUNK = 1
ROOT = Credentials(uid=0, gid=0)
"""The C consumer runs as root in the fuzzer's sandbox."""

Cmd = LttngConsumerCommand


def message(cmd: LttngConsumerCommand, u: object) -> bytes:
    """One ``lttcomm_consumer_msg`` of the v2.13.9 ABI."""
    return CONSUMER_MSG[ABI].build(ConsumerMsgV2139(cmd_type=cmd, u=u))  # type: ignore[arg-type]


def ask_data_channel(*, monitor: bool, chunk: bool = False) -> Action:
    """ASK_CHANNEL_CREATION of a per-CPU data channel ``KEY`` of session ``SESSION``."""
    member = AskChannelMember(
        subbuf_size=4096,
        num_subbuf=2,
        overwrite=0,
        switch_timer_interval=0,
        read_timer_interval=0,
        live_timer_interval=0,
        is_live=0,
        monitor_timer_interval=0,
        output=LttngEventOutput.LTTNG_EVENT_MMAP,
        type=LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_PER_CPU,
        session_id=SESSION,
        pathname="ust/uid/0/64-bit",
        name="channel0",
        buffer_credentials=ROOT,
        relayd_id=U64_MAX,
        key=KEY,
        chunk_id=OptionalU64(is_set=int(chunk), value=CHUNK if chunk else 0),
        uuid=bytes(range(16)),
        chan_id=0,
        tracefile_size=0,
        tracefile_count=0,
        session_id_per_pid=0,
        monitor=int(monitor),
        ust_app_uid=0,
        blocking_timeout=0,
        root_shm_path="",
        shm_path="",
    )
    note = f"ASK_CHANNEL_CREATION data channel {KEY}, monitor={int(monitor)}"
    return Action("send", data=message(Cmd.LTTNG_CONSUMER_ASK_CHANNEL_CREATION, member), note=note)


def create_chunk(*, credentials: bool) -> list[Action]:
    """CREATE_TRACE_CHUNK of a local chunk, then its directory fd."""
    member = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        override_name="",
        session_id=SESSION,
        chunk_id=CHUNK,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(is_set=int(credentials), value=ROOT),
    )
    note = f"CREATE_TRACE_CHUNK local, credentials.is_set={int(credentials)}"
    return [
        Action("send", data=message(Cmd.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, member), note=note),
        Action("send", data=b"\0", fds=("dir",), note="the chunk's directory fd"),
    ]


def push_metadata_data_channel() -> list[Action]:
    text = b"/* CTF 1.8 */..."
    push = PushMetadataMember(key=KEY, target_offset=0, len=len(text), version=0)
    return [
        ask_data_channel(monitor=True),
        Action(
            "send",
            data=message(Cmd.LTTNG_CONSUMER_PUSH_METADATA, push),
            note=f"PUSH_METADATA data channel {KEY}, len {len(text)}",
        ),
        Action("send", data=text, note="the metadata bytes"),
    ]


def setup_metadata_data_channel() -> list[Action]:
    return [
        ask_data_channel(monitor=True),
        Action(
            "send",
            data=message(Cmd.LTTNG_CONSUMER_SETUP_METADATA, KeyArgs(key=KEY)),
            note=f"SETUP_METADATA data channel {KEY} before GET_CHANNEL",
        ),
    ]


def snapshot_metadata_data_channel() -> list[Action]:
    snap = SnapshotChannelMember(
        pathname="snapshot-1",
        use_relayd=0,
        metadata=1,
        relayd_id=U64_MAX,
        key=KEY,
        nb_packets_per_stream=0,
    )
    return [
        *create_chunk(credentials=True),
        ask_data_channel(monitor=False, chunk=True),
        Action(
            "send",
            data=message(Cmd.LTTNG_CONSUMER_SNAPSHOT_CHANNEL, snap),
            note=f"SNAPSHOT_CHANNEL metadata=1 of unmonitored data channel {KEY}",
        ),
    ]


def create_trace_chunk_no_credentials() -> list[Action]:
    return create_chunk(credentials=False)


def relayd_control(net_index: int) -> bytes:
    """ADD_RELAYD_SOCKET of a control socket (TCP, protocol 2.13) for ``net_index``."""
    sock = RelaydSockV2139(
        net_index=net_index,
        type=LttngStreamType.LTTNG_STREAM_CONTROL,
        major=2,
        minor=13,
        relayd_socket_protocol=LttcommSockProto.LTTCOMM_SOCK_TCP,
        session_id=SESSION,
        relayd_session_id=1,
    )
    return message(Cmd.LTTNG_CONSUMER_ADD_RELAYD_SOCKET, sock)


def add_relayd_socket_unix() -> list[Action]:
    return [
        Action(
            "send",
            data=relayd_control(0),
            note="ADD_RELAYD_SOCKET control, net_index 0",
        ),
        Action(
            "send",
            data=b"\0",
            fds=("connected-socket",),
            note="a connected AF_UNIX socket (peer open)",
        ),
    ]


def close_trace_chunk_bad_command() -> list[Action]:
    close = CloseTraceChunkMember(
        relayd_id=OptionalU64(is_set=0, value=0),
        session_id=SESSION,
        chunk_id=CHUNK,
        close_timestamp=1_700_000_100,
        close_command=OptionalTraceChunkCommand(
            is_set=1, value=LttngTraceChunkCommandType.LTTNG_TRACE_CHUNK_COMMAND_TYPE_MAX
        ),
    )
    return [
        Action(
            "send",
            data=message(Cmd.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK, close),
            note="CLOSE_TRACE_CHUNK close_command = LTTNG_TRACE_CHUNK_COMMAND_TYPE_MAX",
        ),
    ]


#: Name → the actions that reach the abort (module docstring).
REPRODUCERS: dict[str, Callable[[], list[Action]]] = {
    "push-metadata-data-channel": push_metadata_data_channel,
    "setup-metadata-data-channel": setup_metadata_data_channel,
    "snapshot-metadata-data-channel": snapshot_metadata_data_channel,
    "create-trace-chunk-no-credentials": create_trace_chunk_no_credentials,
    "add-relayd-socket-unix": add_relayd_socket_unix,
    "close-trace-chunk-bad-command": close_trace_chunk_bad_command,
}


def document(name: str, outcome: Outcome) -> dict[str, Any]:
    """The reproducer file of ``name`` with the C consumer's ``outcome``."""
    return {
        "format": REPRODUCER_FORMAT,
        "abi": ABI.value,
        "source": f"ustref.fuzz.reproducers:{name}",
        "outcome": outcome.to_json(),
        "signature": outcome.signature(),
        "actions": [a.to_json() for a in REPRODUCERS[name]()],
    }


def file_name(doc: dict[str, Any]) -> str:
    """``crash-<12 hex>.json``, from the actions only (the outcome's log text varies)."""
    digest = hashlib.sha1(json.dumps(doc["actions"]).encode()).hexdigest()[:12]
    return f"crash-{digest}.json"


def write(name: str, outcome: Outcome, findings: Path) -> Path:
    """Save ``name``'s reproducer under ``findings``."""
    doc = document(name, outcome)
    path = findings / file_name(doc)
    path.write_text(json.dumps(doc, indent=1) + "\n")
    return path


_APPEND = re.compile(r"\bappend:(\d+)")

#: The session of the well-formed DATA_PENDING sent after a reproducer (no such session: 0).
NEXT_SESSION = 999
DATA_PENDING_NONE = DATA_PENDING_REPLY.build(DataPendingReply(is_data_pending=0))
"""Its answer."""


def data_pending(session_id: int) -> bytes:
    """A well-formed DATA_PENDING."""
    return message(Cmd.LTTNG_CONSUMER_DATA_PENDING, SessionIdArgs(session_id=session_id))


@dataclasses.dataclass(frozen=True)
class Survival:
    """What ustref-consumerd did with a reproducer, then with a well-formed command."""

    outcome: Outcome
    """How the reproducer's session ended (``ok``: still talking)."""
    heard: tuple[Heard, ...]
    """Everything it sent during the reproducer."""
    alive: bool
    """The process was still running after the reproducer."""
    next_reply: bytes
    """Its command-socket bytes after the DATA_PENDING that followed."""

    def answer(self, actions: int) -> str:
        """What it answered to the reproducer's last action: the status its reply starts
        with (a status message, status channel and close-trace-chunk reply all begin with
        their ``ret_code``) and the reply's size when larger, or nothing."""
        last = b"".join(
            h.data for h in self.heard if h.socket == "command" and h.after == actions - 1
        )
        if not last:
            return "nothing"
        size = "" if len(last) == STATUS_MSG.size else f" ({len(last)} bytes)"
        value = int.from_bytes(last[: STATUS_MSG.size], "little", signed=True)
        for codes in (LttcommReturnCode, LttngErrorCode):
            if value in codes._value2member_map_:
                return codes(value).name + size
        return f"{len(last)} bytes"

    def record(self, actions: int) -> dict[str, Any]:
        """The ``ustref`` record of a reproducer file."""
        return {"answer": self.answer(actions), "ending": self.outcome.kind, "alive": self.alive,
                "next_command_served": self.next_reply == DATA_PENDING_NONE}  # fmt: skip


def trailing_bytes(actions: list[Action]) -> int:
    """Bytes a mutation appended to a command (``append:N`` in its note): the start of
    a next message on the stream, which the peer must complete before it is in step."""
    return sum(int(m.group(1)) for a in actions for m in _APPEND.finditer(a.note))


def against(
    binary: str | Sequence[str], actions: list[Action], work: Path, timeout: float = 3.0
) -> Survival:
    """Run ``actions`` on a fresh consumer, then a well-formed DATA_PENDING if it still
    talks; what it did (:class:`Survival`)."""
    shutil.rmtree(work, ignore_errors=True)
    daemon = Consumerd(binary, work).start()
    try:
        return survive(Session(daemon, ABI, timeout, work / "dirfd"), actions)
    finally:
        daemon.stop()


def survive(session: Session, actions: list[Action]) -> Survival:
    """Perform ``actions`` in ``session``, then (if the consumer still talks) what brings
    its command socket back in step and a well-formed DATA_PENDING; what it did. The
    peers of the sockets sent are closed at the end."""
    next_reply = b""
    try:
        outcome = Outcome("ok")
        for action in actions:
            outcome = session.act(action)
            if outcome.kind != "ok":
                break
        if outcome.kind == "ok":
            outcome = session.settle(SETTLE)
        heard = tuple(session.heard)
        alive = session.daemon.alive()
        if outcome.kind == "ok":
            pad = trailing_bytes(actions)
            if pad:
                filler = bytes(CONSUMER_MSG_SIZE - pad % CONSUMER_MSG_SIZE)
                session.act(Action("send", data=filler, note="back in step"))
            mark = len(session.heard)
            after = session.act(
                Action("send", data=data_pending(NEXT_SESSION), note="DATA_PENDING")
            )
            if after.kind == "ok":
                session.settle(SETTLE)
            next_reply = b"".join(h.data for h in session.heard[mark:] if h.socket == "command")
    finally:
        session.release()
    return Survival(outcome, heard, alive, next_reply)


def record_ustref(path: Path, binary: str | Sequence[str], work: Path) -> dict[str, Any]:
    """Replay the reproducer file ``path`` against the consumer ``binary`` (ustref-consumerd)
    with :func:`against` and write what it did as the file's ``ustref`` record (the one
    ``tests/fuzz/test_reproducers.py`` compares); returns the record."""
    doc, _abi, actions = load(path)
    doc["ustref"] = against(binary, actions, work).record(len(actions))
    path.write_text(json.dumps(doc, indent=1) + "\n")
    record: dict[str, Any] = doc["ustref"]
    return record
