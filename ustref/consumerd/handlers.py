"""One handler per ``lttng_consumer_command``: the cases of ``lttng_ustconsumer_recv_cmd``.

Each handler mirrors one ``case`` of ``lttng_ustconsumer_recv_cmd``
(src/common/ust-consumer/ust-consumer.c @ v2.13.9) and the functions it calls, which
its docstring names; their v2.13.9 lines are written once, as the command's
:class:`~ustref.consumerd.behaviour.Source` s in
:data:`~ustref.consumerd.behaviour.BEHAVIOUR` (or in
:data:`~ustref.consumerd.behaviour.MIRRORED`), checked against the tree. A handler either
returns ``None`` (it sent everything) or is a generator that yields the waits of
:mod:`ustref.consumerd.exchange` (:class:`Need` when the session daemon has more to
send, :class:`Acquire` for the metadata socket, a request such as
:class:`OpenStreamFds` whose result the shell answers). A handler takes the
:class:`~ustref.consumerd.state.ConsumerState`, never the core, reads the time from
``state.now`` and makes no system call: system effects are actions. A failure it
raises (``UstrefError``, ``OSError``) is answered by the core's error boundary with
the command's ``on_error`` (:mod:`ustref.consumerd.behaviour`).
:data:`HANDLERS` maps every command to its handler.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

from ustref._lazy import lazy_module
from ustref.consumerd import lifetime, streams
from ustref.consumerd.decode import c_copy
from ustref.consumerd.exchange import (
    Acquire,
    CreatePipe,
    HandlerGen,
    Need,
    OpenStreamFds,
    PeerFamily,
    Received,
    RelaydSock,
    Release,
    SetNonBlocking,
    Sock,
    Wait,
)
from ustref.consumerd.metadata import MetadataCache
from ustref.consumerd.registry import (
    Channel,
    ChannelType,
    RelaydPair,
    Stream,
    close_fd,
)
from ustref.consumerd.relay_cleanup import cleanup_relayd
from ustref.consumerd.relay_stream import RelayOutput
from ustref.consumerd.state import ConsumerState, Handler
from ustref.errors import RemoteProtocolError, SocketClosedError, UstrefError
from ustref.ids import U64_MAX, ChannelKey, RelaydId, SessionId
from ustref.output.chunk import Credentials, TraceChunk
from ustref.protocol.constants import LTTNG_SYMBOL_NAME_LEN, PATH_MAX
from ustref.protocol.consumer import (
    CLOSE_TRACE_CHUNK_REPLY,
    CONSUMER_MSG_SIZE,
    DATA_PENDING_REPLY,
    DISCARDED_EVENTS_REPLY,
    LOST_PACKETS_REPLY,
    METADATA_REQUEST_MSG,
    STATUS_CHANNEL,
    AskChannelMember,
    CloseTraceChunkMember,
    ConsumerCloseTraceChunkReply,
    ConsumerMsg,
    ConsumerStatusChannel,
    CreateTraceChunkMember,
    DataPendingReply,
    DestroyRelaydMember,
    DiscardedEventsReply,
    InitMember,
    KeyArgs,
    LostPacketsReply,
    LttngConsumerCommand,
    LttngStreamType,
    MetadataRequestErrorReply,
    MetadataRequestMsg,
    PushMetadataMember,
    RelaydSockV2139,
    RotateChannelMember,
    SessionChannelArgs,
    SessionIdArgs,
    SnapshotChannelMember,
    TraceChunkExistsMember,
    channel_key,
    chunk_id,
    parse_metadata_socket_reply,
    relayd_id,
    relayd_index,
    session_id,
)
from ustref.protocol.fields import c_bytes
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode
from ustref.protocol.ust_abi import LttngUstAbiChanType
from ustref.ring import create, packet
from ustref.ring.timers import PeriodicTimer

if TYPE_CHECKING:
    from ustref.consumerd import relayd as client
else:
    # The relay daemon client and its grammar: executed when a session streams.
    client = lazy_module("ustref.consumerd.relayd")

log = logging.getLogger("ustref.consumerd")


def _member(msg: ConsumerMsg, kind: type[object]) -> object:
    if not isinstance(msg.u, kind):
        raise UstrefError(f"{msg.cmd_type.name}: unexpected union member {type(msg.u).__name__}")
    return msg.u


def _key(msg: ConsumerMsg) -> ChannelKey:
    u = _member(msg, KeyArgs)
    assert isinstance(u, KeyArgs)
    return channel_key(u)


# -- relay daemons: the sockets, the pair's lifetime, the streams announced to it -----------


def add_relayd_socket(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """ADD_RELAYD_SOCKET (mirrors ``consumer_add_relayd_socket``): a first status, the socket fd, a
    second status; the control socket creates the relayd pair, the data socket completes it.

    The session daemon sends these as soon as a session with a network output
    gets a domain command (``cmd_setup_relayd``, sessiond client.c), long before
    anything is traced, so ustref accepts and keeps them like the C consumer.
    The pair keeps the protocol version the session daemon agreed; the control
    socket gets its own exchange slot (:class:`~ustref.consumerd.exchange.RelaydSock`)."""
    u = _member(msg, RelaydSockV2139)
    assert isinstance(u, RelaydSockV2139)
    net = relayd_index(u)
    pair = state.registry.relayds.get(net)
    if pair is None and net == U64_MAX:
        # consumer_allocate_relayd_sock_pair refuses the all-ones index: a single
        # status ENOMEM, no fd read (consumer.c:3590–3593, 3707–3708).
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ENOMEM)
        return
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    got = yield Need(1, 1)
    if not got.fds:
        # The byte read came without the socket (``lttcomm_recv_fds_unix_sock`` does
        # not return ``sizeof(fd)``): ERROR_RECV_FD on the error socket and as the
        # final status, and the command is over (``consumer_add_relayd_socket``).
        state.send_error(LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_RECV_FD)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_RECV_FD)
        return
    (fd,) = got.fds
    refused = yield from _relayd_socket_refused(fd)
    if refused:
        close_fd(fd)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL)
        return
    if pair is None:
        # C asserts that a new index starts with its control socket; ustref
        # takes either first rather than dying on a peer's order.
        pair = RelaydPair(sessiond_session_id=session_id(u))
    if u.type == LttngStreamType.LTTNG_STREAM_CONTROL:
        close_fd(pair.control_fd)
        pair.control_fd = fd
        pair.relayd_session_id = u.relayd_session_id
        pair.major, pair.minor = u.major, u.minor
        state.open_relayd_slot(RelaydSock(net))
    else:
        close_fd(pair.data_fd)
        pair.data_fd = fd
    state.registry.relayds[net] = pair
    log.info(
        "relayd %d %s socket (fd %d)",
        u.net_index,
        "control" if u.type == LttngStreamType.LTTNG_STREAM_CONTROL else "data",
        fd,
    )
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


INET_FAMILIES = frozenset({int(socket.AF_INET), int(socket.AF_INET6)})
"""The peer address families ``lttcomm_populate_sock_from_open_socket`` wraps."""


def _relayd_socket_refused(fd: int) -> Generator[Wait, Received, str | None]:
    """Why the received relay daemon socket ``fd`` cannot be a relayd socket, or
    ``None``: ``lttcomm_populate_sock_from_open_socket`` (sessiond-comm.c) asks
    ``getpeername`` (a request, :class:`PeerFamily`). Its failure (a descriptor that is
    not a socket, an unconnected socket) makes ``consumer_add_relayd_socket`` answer
    FATAL; a peer that is neither AF_INET nor AF_INET6 makes C call ``abort()``, where
    ustref refuses the same way, FATAL, and stays up (lines in the behaviour table)."""
    try:
        got = yield PeerFamily(fd)
    except OSError as exc:
        log.error("relayd socket fd %d: getpeername: %s", fd, exc)
        return f"getpeername: {exc}"
    family = int.from_bytes(got.data, "little")
    if family not in INET_FAMILIES:
        log.error("relayd socket fd %d: peer address family %d is not INET", fd, family)
        return f"address family {family}"
    return None


def destroy_relayd(state: ConsumerState, msg: ConsumerMsg) -> None:
    """DESTROY_RELAYD (mirrors ``consumer_flag_relayd_for_destroy``): flag a known
    pair for destruction; it goes now if no stream holds it, else with the close of
    its last stream (``consumer_stream_relayd_close``). SUCCESS; RELAYD_FAIL for an
    unknown index."""
    u = _member(msg, DestroyRelaydMember)
    assert isinstance(u, DestroyRelaydMember)
    net = relayd_index(u)
    pair = state.registry.relayds.get(net)
    if pair is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL)
        return
    pair.destroy_flag = True
    if pair.refcount == 0:
        _destroy_relayd(state, net)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def _destroy_relayd(state: ConsumerState, net: RelaydId) -> None:
    """``consumer_destroy_relayd``: close the sockets, forget the pair and its slot."""
    pair = state.registry.relayds.pop(net, None)
    if pair is not None:
        pair.close()
    state.close_relayd_slot(RelaydSock(net))


def _relayd(state: ConsumerState, net: RelaydId) -> client.Relayd:
    """``consumer_find_relayd`` with a control socket: the client's view of the pair."""
    pair = state.registry.relayds.get(net)
    if pair is None or pair.control_fd is None:
        raise client.RelaydError(f"relayd {net} unknown")
    return client.Relayd(RelaydSock(net), pair.major, pair.minor)


def _send_relayd_stream(
    state: ConsumerState, stream: Stream, net: RelaydId, path: str | None = None
) -> HandlerGen:
    """``consumer_send_relayd_stream`` (the caller holds the relay's slot):
    RELAYD_ADD_STREAM under ``path`` (default: the channel's); the stream's output
    becomes the relay stream and holds a reference to the pair until it is closed.
    A failure cleans the relay up (``lttng_consumer_cleanup_relayd``)."""
    channel = stream.channel
    relay = _relayd(state, net)
    chunk = stream.trace_chunk
    try:
        handle = yield from client.add_stream(
            state,
            relay,
            channel_name=stream.name,
            domain_name="ust",
            pathname=channel.pathname if path is None else path,
            tracefile_size=channel.tracefile_size,
            tracefile_count=channel.tracefile_count,
            chunk_id=(chunk.chunk_id or 0) if chunk is not None else 0,
        )
    except (UstrefError, OSError):
        cleanup_relayd(state, net)
        raise
    pair = state.registry.relayds[net]
    pair.refcount += 1
    stream.output = RelayOutput(
        state,
        relay,
        name=stream.name,
        relay_stream_id=handle,
        metadata=channel.type is ChannelType.METADATA,
        on_closed=_closer(state, pair, net),
        on_error=lambda: cleanup_relayd(state, net),
    )


def _closer(state: ConsumerState, pair: RelaydPair, net: RelaydId) -> Callable[[], None]:
    """The end of ``consumer_stream_relayd_close``: the stream's reference to the pair
    goes; a pair flagged for destruction goes with its last stream."""

    def closed() -> None:
        pair.refcount -= 1
        if pair.refcount == 0 and pair.destroy_flag:
            _destroy_relayd(state, net)

    return closed


def ignored(state: ConsumerState, msg: ConsumerMsg) -> None:
    """ADD_CHANNEL, ADD_STREAM, STREAMS_SENT, SNAPSHOT_METADATA (the ``default:``
    branch of ``lttng_ustconsumer_recv_cmd``), UPDATE_STREAM (its case returns
    ``-ENOSYS``) and STOP (asserted away before the switch): the UST consumer sends nothing back.
    ustref logs them and goes on with the other commands instead of ending its command thread."""
    log.warning("%s ignored by the UST consumer", msg.cmd_type.name)


# -- session-wide -----------------------------------------------------------------------


def init(state: ConsumerState, msg: ConsumerMsg) -> None:
    """INIT (mirrors ``lttng_consumer_init_command``)."""
    u = _member(msg, InitMember)
    assert isinstance(u, InitMember)
    if state.sessiond_uuid is not None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET)
        return
    state.sessiond_uuid = u.sessiond_uuid
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def set_channel_monitor_pipe(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """SET_CHANNEL_MONITOR_PIPE (its case of ``lttng_ustconsumer_recv_cmd``): status, receive the
    pipe's write end, make it non-blocking, status."""
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    got = yield Need(1, 1)
    if not got.fds:
        raise RemoteProtocolError("the monitor pipe did not come with its byte", offset=0)
    (fd,) = got.fds
    if state.monitor_pipe is not None:
        close_fd(fd)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET)
        return
    state.act(SetNonBlocking(fd))
    state.monitor_pipe = fd
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def data_pending(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """DATA_PENDING (mirrors ``consumer_data_pending``): drain the
    session's streams, then 1 if some stream still holds unconsumed data or metadata.
    Only streams of the data and metadata threads count (``stream_list_ht``): those
    of channels without ``monitor`` are read by snapshots alone. With nothing left
    locally, a session streaming to a relay daemon asks it: BEGIN_DATA_PENDING, per
    stream QUIESCENT_CONTROL (metadata) or DATA_PENDING (data; 1 ends the command),
    END_DATA_PENDING (data in flight: 1); a relay failure reads as 0."""
    u = _member(msg, SessionIdArgs)
    assert isinstance(u, SessionIdArgs)
    pending = 0
    for channel in state.registry.of_session(session_id(u)):
        if not channel.monitor:
            continue
        for stream in channel.streams:
            state.drain(stream)
            if stream.reader is None:
                continue
            if stream.reader.get_next_subbuf() == 0:
                stream.reader.put_subbuf()
                pending = 1
            cache = channel.metadata_cache
            if cache is not None and stream.ust_metadata_pushed < cache.size:
                pending = 1
    if not pending:
        pending = yield from _relayd_data_pending(state, session_id(u))
    state.send(DATA_PENDING_REPLY.build(DataPendingReply(is_data_pending=pending)))


def _relayd_data_pending(
    state: ConsumerState, session: SessionId
) -> Generator[Wait, Received, int]:
    """The relay half of ``consumer_data_pending`` (``find_relayd_by_session_id``): a
    failed RELAYD_BEGIN_DATA_PENDING reads as "not pending"; a failed per-stream query
    or RELAYD_END_DATA_PENDING also cleans the relay up."""
    found = [
        (net, pair)
        for net, pair in state.registry.relayds.items()
        if pair.sessiond_session_id == session and pair.control_fd is not None
    ]
    if not found:
        return 0
    net, pair = found[0]
    outputs = [
        stream.output
        for channel in state.registry.of_session(session)
        for stream in channel.streams
        if isinstance(stream.output, RelayOutput) and channel.relayd_id == net
    ]
    relay = _relayd(state, net)
    try:
        yield Acquire(relay.sock)
        yield from client.begin_data_pending(state, relay, pair.relayd_session_id)
    except (UstrefError, OSError) as exc:
        # C: "Communication error thus the relayd so no data pending."
        log.error("data pending: relayd %d: %s", net, exc)
        return 0
    try:
        for output in outputs:
            if output.metadata:
                yield from client.quiescent_control(state, relay, output.relay_stream_id)
            elif (
                yield from client.data_pending(
                    state, relay, output.relay_stream_id, output.last_net_seq_num
                )
            ):
                return 1
        inflight = yield from client.end_data_pending(state, relay, pair.relayd_session_id)
    except (UstrefError, OSError) as exc:
        # C: "Relayd data pending failed. Cleaning up relayd", then "not pending".
        log.error("data pending: relayd %d: %s", net, exc)
        cleanup_relayd(state, net)
        return 0
    return 1 if inflight else 0


def _channel_counter(state: ConsumerState, msg: ConsumerMsg, attribute: str) -> int:
    u = _member(msg, SessionChannelArgs)
    assert isinstance(u, SessionChannelArgs)
    channel = state.registry.find(channel_key(u))
    # C finds the channel through its streams in ``stream_list_ht``, where an unmonitored
    # channel's streams never are: 0 for it, even after snapshots counted lost packets.
    if (
        channel is None
        or channel.session_id != session_id(u)
        or not channel.streams
        or not channel.monitor
    ):
        return 0
    value = getattr(channel, attribute)
    assert isinstance(value, int)
    return value


def discarded_events(state: ConsumerState, msg: ConsumerMsg) -> None:
    """DISCARDED_EVENTS (its case of ``lttng_ustconsumer_recv_cmd``): the channel's count, 0 if
    unknown."""
    count = _channel_counter(state, msg, "discarded_events")
    state.send(DISCARDED_EVENTS_REPLY.build(DiscardedEventsReply(discarded_events=count)))


def lost_packets(state: ConsumerState, msg: ConsumerMsg) -> None:
    """LOST_PACKETS (its case of ``lttng_ustconsumer_recv_cmd``): the channel's count, 0 if
    unknown."""
    count = _channel_counter(state, msg, "lost_packets")
    state.send(LOST_PACKETS_REPLY.build(LostPacketsReply(lost_packets=count)))


# -- trace chunks ---------------------------------------------------------------------


def create_trace_chunk(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """CREATE_TRACE_CHUNK (mirrors ``lttng_consumer_create_trace_chunk``): local chunks get the
    chunk directory fd after a first status; the new chunk becomes the current chunk of the
    session's channels."""
    u = _member(msg, CreateTraceChunkMember)
    assert isinstance(u, CreateTraceChunkMember)
    dirfd: int | None = None
    if u.relayd_id.is_set:
        yield from _create_remote_trace_chunk(state, u)
        return
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    got = yield Need(1, 1)
    if not got.fds:
        raise RemoteProtocolError("the chunk directory did not come with its byte", offset=0)
    (dirfd,) = got.fds
    credentials = (
        Credentials(uid=u.credentials.value.uid, gid=u.credentials.value.gid)
        if u.credentials.is_set
        else None
    )
    try:
        chunk = TraceChunk(
            chunk_id=chunk_id(u),
            creation_time=u.creation_timestamp,
            override_name=str(u.override_name) or None,
            credentials=credentials,
            chunk_directory_fd=dirfd,
        )
        published = state.chunks.publish(session_id(u), chunk)
    except UstrefError as exc:
        log.error("create trace chunk: %s", exc)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED)
        return
    for channel in state.registry.of_session(session_id(u)):
        channel.trace_chunk = published
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def _create_remote_trace_chunk(state: ConsumerState, u: CreateTraceChunkMember) -> HandlerGen:
    """``lttng_consumer_create_trace_chunk`` with a relay daemon: no directory fd (one
    status); the chunk is published and set on the session's channels, then
    RELAYD_CREATE_TRACE_CHUNK; a relay failure drops the chunk again."""
    net = RelaydId(u.relayd_id.value)
    failed = LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED
    try:
        chunk = TraceChunk(
            chunk_id=chunk_id(u),
            creation_time=u.creation_timestamp,
            override_name=str(u.override_name) or None,
        )
        published = state.chunks.publish(session_id(u), chunk)
    except UstrefError as exc:
        log.error("create trace chunk: %s", exc)
        state.send_status(failed)
        return
    for channel in state.registry.of_session(session_id(u)):
        channel.trace_chunk = published
    try:
        relay = _relayd(state, net)
        yield Acquire(relay.sock)
        yield from client.create_trace_chunk(
            state,
            relay,
            chunk_id=u.chunk_id,
            creation_timestamp=u.creation_timestamp,
            override_name=published.name if published.name_overridden else None,
        )
    except (UstrefError, OSError) as exc:
        log.error("create trace chunk: relayd %d: %s", net, exc)
        for channel in state.registry.of_session(session_id(u)):
            if channel.trace_chunk is published:
                channel.trace_chunk = None
        yield from _roll_back_remote_chunk(state, net, u)
        published.close()
        state.send_status(failed)
        return
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def _roll_back_remote_chunk(
    state: ConsumerState, net: RelaydId, u: CreateTraceChunkMember
) -> HandlerGen:
    """The roll-back of ``lttng_consumer_create_trace_chunk`` when the relay refused the
    chunk: ``lttng_consumer_close_trace_chunk`` at the creation timestamp, no close
    command, so RELAYD_CLOSE_TRACE_CHUNK on a relay still known; its failure is only
    logged (the answer stays CREATE_TRACE_CHUNK_FAILED)."""
    try:
        relay = _relayd(state, net)
        yield Acquire(relay.sock)
        yield from client.close_trace_chunk(
            state,
            relay,
            chunk_id=u.chunk_id,
            close_timestamp=u.creation_timestamp,
            close_command=None,
        )
    except (UstrefError, OSError) as exc:
        log.error("create trace chunk: roll-back on relayd %d: %s", net, exc)


def close_trace_chunk(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """CLOSE_TRACE_CHUNK (mirrors ``lttng_consumer_close_trace_chunk``): set the close command,
    detach the chunk from the channels, drop it; the chunk is closed (and moved) when its last
    stream lets it go. The reply's path is empty for a local chunk; with a relay daemon,
    RELAYD_CLOSE_TRACE_CHUNK carries the close command and the relay's path is answered
    (the consumer's own chunk object has no directory: its close command is not run)."""
    u = _member(msg, CloseTraceChunkMember)
    assert isinstance(u, CloseTraceChunkMember)
    code = LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    path = ""
    chunk = state.chunks.find(session_id(u), chunk_id(u))
    if chunk is None:
        code = LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
    elif u.relayd_id.is_set:
        net = RelaydId(u.relayd_id.value)
        try:
            chunk.set_close_timestamp(u.close_timestamp)
            for channel in state.registry.of_session(session_id(u)):
                if channel.trace_chunk is chunk:
                    channel.trace_chunk = None
            relay = _relayd(state, net)
            yield Acquire(relay.sock)
            path = yield from client.close_trace_chunk(
                state,
                relay,
                chunk_id=u.chunk_id,
                close_timestamp=u.close_timestamp,
                close_command=u.close_command.value if u.close_command.is_set else None,
            )
        except (UstrefError, OSError) as exc:
            log.error("close trace chunk: relayd %d: %s", net, exc)
            code = LttcommReturnCode.LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED
        chunk.close()
    else:
        try:
            chunk.set_close_timestamp(u.close_timestamp)
            if u.close_command.is_set:
                chunk.close_command = u.close_command.value
            for channel in state.registry.of_session(session_id(u)):
                if channel.trace_chunk is chunk:
                    channel.trace_chunk = None
            path = chunk.close()
        except UstrefError as exc:
            log.error("close trace chunk: %s", exc)
            code = LttcommReturnCode.LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED
    encoded = c_bytes(path) + b"\0"
    reply = ConsumerCloseTraceChunkReply(ret_code=code, path_length=len(encoded), path=encoded)
    state.send(CLOSE_TRACE_CHUNK_REPLY.build(reply))
    state.memory_freed()


def trace_chunk_exists(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """TRACE_CHUNK_EXISTS (mirrors ``lttng_consumer_trace_chunk_exists``): the consumer's
    own registry first (EXISTS_LOCAL), then, for a relay daemon, RELAYD_TRACE_CHUNK_EXISTS
    (EXISTS_REMOTE or UNKNOWN; RELAYD_FAIL when the relay fails, INVALID_PARAMETERS when
    it is unknown)."""
    u = _member(msg, TraceChunkExistsMember)
    assert isinstance(u, TraceChunkExistsMember)
    if state.chunks.exists(session_id(u), chunk_id(u)):
        code = LttcommReturnCode.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_LOCAL
    elif not u.relayd_id.is_set:
        code = LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
    else:
        net = RelaydId(u.relayd_id.value)
        try:
            relay = _relayd(state, net)
        except client.RelaydError:
            state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS)
            return
        try:
            yield Acquire(relay.sock)
            exists = yield from client.trace_chunk_exists(state, relay, u.chunk_id)
        except (UstrefError, OSError) as exc:
            log.error("trace chunk exists: relayd %d: %s", net, exc)
            code = LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL
        else:
            code = (
                LttcommReturnCode.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_REMOTE
                if exists
                else LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK
            )
    state.send_status(code)


# -- channels -----------------------------------------------------------------------------


def _create_streams(
    state: ConsumerState, channel: Channel, identity: packet.ChannelIdentity
) -> HandlerGen:
    """Mirrors ``create_ust_streams``: one stream per possible
    CPU until ust-ctl has no more; metadata streams poll a private pipe, which the
    shell creates (:class:`CreatePipe`)."""
    cpu = 0
    while True:
        ust = channel.ust.create_stream(cpu, identity)
        if ust is None:
            return
        poll_pipe: tuple[int, int] | None = None
        if channel.type is ChannelType.METADATA:
            try:
                got = yield CreatePipe()
            except OSError:
                ust.destroy()
                raise
            read_end, write_end = got.fds
            poll_pipe = (read_end, write_end)
            wait_fd = read_end
        else:
            wait_fd = ust.wait_fd
        stream = Stream(
            key=state.registry.next_stream_key(),
            channel=channel,
            cpu=cpu,
            ust=ust,
            wait_fd=wait_fd,
            reader=ust.reader,
            metadata_poll_pipe=poll_pipe,
        )
        channel.streams.append(stream)
        cpu += 1


def ask_channel_creation(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """ASK_CHANNEL_CREATION (mirrors ``ask_channel`` and ``create_ust_channel``): open the stream
    shm objects (``open_ust_stream_fd``: anonymous POSIX shm, or ``<shm_path><cpu>`` files with
    ``--shm-path``; a :class:`OpenStreamFds` request), create the ust-ctl channel and its streams,
    start the channel's timers at ``state.now``, answer a status channel."""
    u = _member(msg, AskChannelMember)
    assert isinstance(u, AskChannelMember)
    if u.chunk_id.is_set and state.chunks.find(session_id(u), chunk_id(u)) is None:
        # consumer_allocate_channel finds no such chunk (consumer.c:1024–1028): no
        # channel, the error status channel, before any buffer is created.
        log.error("ask channel %d: no trace chunk %d in session %d", u.key, u.chunk_id.value,
                  u.session_id)  # fmt: skip
        state.send(STATUS_CHANNEL.build(_channel_fail()))
        return
    # consumer_allocate_channel keeps what strncpy and a forced NUL leave of each string
    # (an array without a NUL was read whole: ustref.consumerd.decode).
    pathname = c_copy(u.pathname, PATH_MAX)
    name = c_copy(u.name, LTTNG_SYMBOL_NAME_LEN)
    root_shm_path = c_copy(u.root_shm_path, PATH_MAX)
    shm_path = c_copy(u.shm_path, PATH_MAX)
    metadata = u.type == LttngUstAbiChanType.LTTNG_UST_ABI_CHAN_METADATA
    attr = create.ChannelAttr(
        type=create.ChanType.METADATA if metadata else create.ChanType.PER_CPU,
        subbuf_size=u.subbuf_size,
        num_subbuf=u.num_subbuf,
        overwrite=bool(u.overwrite),
        switch_timer_interval=u.switch_timer_interval,
        read_timer_interval=u.read_timer_interval,
        chan_id=u.chan_id,
        uuid=bytes(u.uuid),
        blocking_timeout=u.blocking_timeout,
    )
    request = OpenStreamFds(
        1 if metadata else state.backend.nr_stream_per_channel(),
        shm_path=shm_path,
        owner=(u.buffer_credentials.uid, u.buffer_credentials.gid),
    )
    got = yield request
    stream_fds = list(got.fds)
    try:
        handle = state.backend.create_channel(attr, stream_fds, state.now)
    except (UstrefError, OSError) as exc:
        log.error("ask channel: %s", exc)
        for fd in stream_fds:
            close_fd(fd)
        state.send(STATUS_CHANNEL.build(_channel_fail()))
        return
    chunk = state.chunks.find(session_id(u), chunk_id(u)) if u.chunk_id.is_set else None
    channel = Channel(
        key=channel_key(u),
        session_id=session_id(u),
        pathname=pathname,
        name=name,
        type=ChannelType.METADATA if metadata else ChannelType.DATA,
        tracefile_size=u.tracefile_size,
        tracefile_count=u.tracefile_count,
        session_id_per_pid=u.session_id_per_pid,
        monitor=bool(u.monitor),
        ust_app_uid=u.ust_app_uid,
        monitor_timer_interval_us=u.monitor_timer_interval,
        switch_timer_interval_us=u.switch_timer_interval,
        ust=handle,
        stream_fds=stream_fds,
        trace_chunk=chunk,
        shm_path=shm_path,
        root_shm_path=root_shm_path,
        relayd_id=relayd_id(u),
        is_live=bool(u.is_live),
    )
    kind = packet.ClientKind.METADATA if metadata else packet.ClientKind.DATA
    identity = packet.ChannelIdentity(
        kind=kind, uuid=u.uuid, stream_id=0 if metadata else u.chan_id
    )
    try:
        if not (metadata and not channel.monitor):
            yield from _create_streams(state, channel, identity)
    except (UstrefError, OSError) as exc:
        log.error("ask channel: streams: %s", exc)
        state.registry.channels[channel.key] = channel
        lifetime.destroy_channel(state, channel)
        state.send(STATUS_CHANNEL.build(_channel_fail()))
        return
    if metadata:
        channel.metadata_cache = MetadataCache()
        if channel.switch_timer_interval_us:
            # consumer_timer_switch_start(): the consumer's own metadata timer.
            period = channel.switch_timer_interval_us * 1000
            channel.metadata_timer = PeriodicTimer.armed(state.now, period)
    else:
        if u.live_timer_interval:
            # consumer_timer_live_start()
            channel.live_timer = PeriodicTimer.armed(state.now, u.live_timer_interval * 1000)
        if channel.monitor_timer_interval_us:
            # consumer_timer_monitor_start()
            period = channel.monitor_timer_interval_us * 1000
            channel.monitor_timer = PeriodicTimer.armed(state.now, period)
    state.registry.channels[channel.key] = channel
    reply = ConsumerStatusChannel(
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        key=channel.key,
        stream_count=len(channel.streams),
    )
    state.send(STATUS_CHANNEL.build(reply))


def _channel_fail() -> ConsumerStatusChannel:
    """``consumer_send_status_channel(sock, NULL)``."""
    return ConsumerStatusChannel(
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL, key=0, stream_count=0
    )


def _start_consuming(stream: Stream) -> None:
    """Mirrors ``send_stream_to_thread`` with
    ``consumer_stream_create_output_files``: the stream enters its channel's chunk."""
    stream.trace_chunk = stream.channel.trace_chunk
    streams.open_output(stream)  # a relay stream already has its output
    if isinstance(stream.output, RelayOutput):
        stream.output.in_thread = True


def get_channel(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """GET_CHANNEL (mirrors ``send_channel_to_sessiond_and_relayd``): a streamed channel's
    streams are announced to the relay first (RELAYD_ADD_STREAM each; a failure answers
    RELAYD_FAIL alone); then status, the ust-ctl hand-over of the channel and its streams,
    the streams go to the data thread (monitor mode) and a final status."""
    channel = state.registry.find(_key(msg))
    if channel is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND)
        return
    if channel.relayd_id is not None:
        try:
            yield Acquire(RelaydSock(channel.relayd_id))
            for stream in channel.streams:
                stream.trace_chunk = channel.trace_chunk
                yield from _send_relayd_stream(state, stream, channel.relayd_id)
        except (UstrefError, OSError) as exc:
            log.error("get channel %d: relayd: %s", channel.key, exc)
            state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL)
            return
        yield Release(RelaydSock(channel.relayd_id))
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    state.handover(channel)
    channel.sent_to_sessiond = True
    if channel.type is ChannelType.DATA:
        channel.wait_fd = channel.ust.wait_fd
    if channel.monitor:
        for stream in channel.streams:
            _start_consuming(stream)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def destroy_channel(state: ConsumerState, msg: ConsumerMsg) -> None:
    """DESTROY_CHANNEL (mirrors ``notify_thread_del_channel``)."""
    channel = state.registry.find(_key(msg))
    if channel is not None:
        for stream in channel.streams:
            state.drain(stream)
        lifetime.destroy_channel(state, channel)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def _chan_or_not_found(state: ConsumerState, msg: ConsumerMsg) -> Channel | None:
    channel = state.registry.find(_key(msg))
    if channel is None:
        state.send_status(LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND)
    return channel


def flush_channel(state: ConsumerState, msg: ConsumerMsg) -> None:
    """FLUSH_CHANNEL (mirrors ``flush_channel``): flush
    every non-quiescent stream (SWITCH_FLUSH), then drain what became readable. C walks
    ``stream_per_chan_id_ht``: an unmonitored channel's streams are not there."""
    channel = _chan_or_not_found(state, msg)
    if channel is None:
        return
    for stream in channel.streams if channel.monitor else ():
        if not stream.quiescent:
            streams.flush(stream, producer_active=False)
            stream.quiescent = True
        if stream.output is not None:
            state.drain(stream)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def clear_quiescent_channel(state: ConsumerState, msg: ConsumerMsg) -> None:
    """CLEAR_QUIESCENT_CHANNEL (mirrors ``clear_quiescent_channel``): the streams may be flushed
    again (not an unmonitored channel's: C walks ``stream_per_chan_id_ht``)."""
    channel = _chan_or_not_found(state, msg)
    if channel is None:
        return
    for stream in channel.streams if channel.monitor else ():
        stream.quiescent = False
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


# -- metadata -------------------------------------------------------------------------------


def setup_metadata(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """SETUP_METADATA (mirrors ``setup_metadata``): the metadata stream is announced
    to the relay (RELAYD_ADD_STREAM then RELAYD_STREAMS_SENT) when the channel is
    streamed, and goes to the metadata thread. A relay failure destroys the stream
    (``consumer_stream_destroy``), and with its last reference the channel."""
    channel = _chan_or_not_found(state, msg)
    if channel is None:
        return
    if not channel.monitor:
        state.send_status(
            LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
        )  # snapshot mode: streams on demand
        return
    stream = channel.metadata_stream
    if stream is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA)
        return
    if channel.relayd_id is not None:
        sock = RelaydSock(channel.relayd_id)
        stream.trace_chunk = channel.trace_chunk
        try:
            yield Acquire(sock)
            yield from _send_relayd_stream(state, stream, channel.relayd_id)
        except (UstrefError, OSError) as exc:
            log.error("setup metadata: relayd: %s", exc)
            lifetime.destroy_channel(state, channel)
            state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA)
            return
        try:
            yield from client.streams_sent(state, _relayd(state, channel.relayd_id))
        except (UstrefError, OSError) as exc:
            log.error("setup metadata: relayd streams sent: %s", exc)
            cleanup_relayd(state, channel.relayd_id)
            lifetime.destroy_channel(state, channel)
            state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL)
            return
        yield Release(sock)
    _start_consuming(stream)
    state.drain(stream)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def push_metadata(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """PUSH_METADATA (mirrors ``lttng_ustconsumer_recv_metadata``): status, receive ``len`` bytes
    into the cache, let the metadata stream take them, status."""
    u = _member(msg, PushMetadataMember)
    assert isinstance(u, PushMetadataMember)
    channel = state.registry.find(channel_key(u))
    if channel is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL)
        return
    if not u.len:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
        return
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    got = yield Need(u.len)
    if channel.metadata_cache is None:
        # A data channel's key: C locks its NULL metadata cache (SIGSEGV,
        # ust-consumer.c:1305); ustref answers as a failed cache write.
        log.error("push metadata: channel %d is not a metadata channel", u.key)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA)
        return
    state.send_status(_store_metadata(state, channel, u, got.data))


def _store_metadata(
    state: ConsumerState, channel: Channel, u: PushMetadataMember, data: bytes
) -> LttcommReturnCode:
    """Mirrors ``lttng_ustconsumer_recv_metadata`` after the bytes
    came: write them into the cache, let the metadata stream take them; the status."""
    assert channel.metadata_cache is not None
    stream = channel.metadata_stream
    try:
        changed = channel.metadata_cache.write(u.target_offset, data, u.version)
    except UstrefError as exc:
        log.error("push metadata: %s", exc)
        return LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA
    if changed and stream is not None:
        # `lttng regenerate metadata`: the stream starts over from the new cache and
        # its file is truncated (metadata_stream_reset_cache_consumed_position,
        # reset_metadata_flag → utils_truncate_stream_file). Earlier pushes were
        # drained when they came, so the ring holds nothing of the old version.
        streams.set_metadata_version(stream, u.version)
    if stream is not None and stream.output is not None:
        state.drain(stream)
    return LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS


def request_metadata(state: ConsumerState, channel: Channel) -> HandlerGen:
    """Mirrors ``lttng_ustconsumer_request_metadata``: ask the
    session daemon, on the metadata socket, for the metadata of ``channel`` that the
    cache lacks. It answers PUSH_METADATA (status, ``len`` bytes, status) or
    ``LTTNG_ERR_UND`` when the registry is gone (acknowledged with a status).

    ustref writes metadata synchronously, so the C ``wait`` (until the metadata
    stream consumed the new bytes) is always met when this returns. A reply cut
    short by EOF is C's short read: ERROR_RECV_CMD on the error socket, and the
    request returns as done (``lttcomm_recv_unix_sock`` returned 0)."""
    request = MetadataRequestMsg(
        session_id=channel.session_id,
        session_id_per_pid=channel.session_id_per_pid,
        bits_per_long=64,
        uid=channel.ust_app_uid,
        key=channel.key,
    )
    log.debug("metadata request: channel %d, session %d", channel.key, channel.session_id)
    yield Acquire(Sock.METADATA)
    state.send(METADATA_REQUEST_MSG.build(request), sock=Sock.METADATA)
    try:
        got = yield Need(CONSUMER_MSG_SIZE, 0, Sock.METADATA)
    except SocketClosedError as exc:
        log.error("metadata request of channel %d: %s", channel.key, exc)
        state.send_error(LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_RECV_CMD)
        return
    try:
        reply = parse_metadata_socket_reply(state.abi, got.data)
    except RemoteProtocolError as exc:
        raise UstrefError(f"metadata request of channel {channel.key}: {exc}") from exc
    if isinstance(reply, MetadataRequestErrorReply):
        log.debug("metadata request of channel %d: no registry", channel.key)
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS, sock=Sock.METADATA)
        yield Release(Sock.METADATA)
        return
    u = reply.u
    assert isinstance(u, PushMetadataMember)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS, sock=Sock.METADATA)
    if not u.len:
        yield Release(Sock.METADATA)
        return
    payload = yield Need(u.len, 0, Sock.METADATA)
    if channel.metadata_cache is None:
        raise UstrefError(f"metadata request: channel {channel.key} has no metadata cache")
    state.send_status(_store_metadata(state, channel, u, payload.data), sock=Sock.METADATA)
    yield Release(Sock.METADATA)


def close_metadata(state: ConsumerState, msg: ConsumerMsg) -> None:
    """CLOSE_METADATA (mirrors ``close_metadata`` and ``lttng_ustconsumer_close_metadata``):
    write out what is cached, then
    close the metadata stream; the channel goes with it (in monitor mode the stream's
    teardown drops the channel's last reference, in snapshot mode ``close_metadata``
    deletes the channel itself)."""
    channel = _chan_or_not_found(state, msg)
    if channel is None:
        return
    if channel.type is not ChannelType.METADATA:
        # C asserts the channel is a metadata channel (ust-consumer.c:3233); ustref
        # answers as for a key that names no metadata channel, and keeps the channel.
        state.send_status(LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND)
        return
    stream = channel.metadata_stream
    if stream is not None:
        state.drain(stream)
        streams.on_hangup(stream)
        state.drain(stream)
        lifetime.close_stream(stream)
    lifetime.destroy_channel(state, channel)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


# -- rotation, clear, packets ----------------------------------------------------------------


def rotate_channel(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """ROTATE_CHANNEL (mirrors ``lttng_consumer_rotate_channel`` and
    ``lttng_consumer_rotate_ready_streams``): flush,
    consume up to the sampled position, then every stream continues in the channel's
    current chunk. ustref drains synchronously, so every stream is rotate-ready at once."""
    u = _member(msg, RotateChannelMember)
    assert isinstance(u, RotateChannelMember)
    channel = state.registry.find(channel_key(u))
    if channel is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND)
        return
    to_open = []
    rotating_to_new_chunk = True
    for stream in channel.streams:
        if stream.reader is None or stream.trace_chunk is None:
            continue
        if channel.type is ChannelType.METADATA or stream.opened_packet_in_current_trace_chunk:
            # Metadata: never an empty packet. Data: a packet was opened in this chunk,
            # so an active flush (a no-op at a packet boundary) closes it.
            flush_active = True
        else:
            # No packet opened in the chunk's lifetime: flush an empty one rather than
            # leave an empty file, unless data is waiting (in ``lttng_consumer_rotate_channel``).
            stream.reader.snapshot_sample_positions()
            produced = stream.reader.snapshot_get_produced()
            flush_active = produced != stream.reader.snapshot_get_consumed()
        streams.flush(stream, producer_active=flush_active)
        # Synchronous here, so even while paused (the test-only pause pipe): C would
        # leave the rotation pending until the data thread resumes.
        state.drain(stream, even_paused=True)
        stream.opened_packet_in_current_trace_chunk = False
        if channel.type is ChannelType.DATA and stream.trace_chunk is not channel.trace_chunk:
            to_open.append(stream)
    for stream in channel.streams:
        if stream.trace_chunk is channel.trace_chunk:
            rotating_to_new_chunk = False
    net = relayd_id(u)
    if net is not None:
        try:
            yield from _relayd_rotate_streams(state, channel, net, rotating_to_new_chunk)
        except (UstrefError, OSError) as exc:
            log.error("rotate channel %d: relayd %d: %s", channel.key, net, exc)
            state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ROTATION_FAIL)
            return
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
    for stream in channel.streams:
        lifetime.rotate_stream(state, stream)
    # The new chunk gets a packet opened as close to the rotation point as possible
    # (the end of lttng_consumer_rotate_channel, then consumer_stream_open_packet per stream).
    for stream in to_open:
        if stream.reader is not None and stream.trace_chunk is not None:
            streams.open_packet(stream)


def _relayd_rotate_streams(
    state: ConsumerState, channel: Channel, net: RelaydId, to_new_chunk: bool
) -> HandlerGen:
    """The relay part of ``lttng_consumer_rotate_channel``: each stream's rotation
    position, the sequence number of its first packet after the current chunk
    (``last_sequence_number + 1`` plus the whole packets produced and not yet consumed;
    the metadata stream has no sequence number: -1 + 1), then RELAYD_ROTATE_STREAMS
    with the next chunk's id when the channel rotates into a new chunk. A relay daemon
    that is gone fails the rotation; one that fails it is cleaned up."""
    positions = []
    for stream in channel.streams:
        output = stream.output
        if not isinstance(output, RelayOutput) or stream.reader is None:
            continue
        reader = stream.reader
        reader.snapshot_sample_positions()
        max_sb = reader.get_max_subbuf_size()
        produced = reader.snapshot_get_produced()
        produced -= produced % max_sb
        behind = ((produced - reader.snapshot_get_consumed()) & U64_MAX) // max_sb
        last = U64_MAX if stream.last_sequence_number is None else stream.last_sequence_number
        position = (last + 1 + behind) & U64_MAX
        positions.append((output.relay_stream_id, position))
        if channel.type is ChannelType.DATA:
            stream.relay_rotation_at = position
    chunk = channel.trace_chunk
    relay = _relayd(state, net)
    yield Acquire(relay.sock)
    try:
        yield from client.rotate_streams(
            state,
            relay,
            new_chunk_id=chunk.chunk_id if to_new_chunk and chunk is not None else None,
            positions=positions,
        )
    except (UstrefError, OSError):
        cleanup_relayd(state, net)
        raise
    yield Release(relay.sock)


def clear_channel(state: ConsumerState, msg: ConsumerMsg) -> None:
    """CLEAR_CHANNEL (mirrors ``lttng_consumer_clear_channel``): nothing for a metadata channel;
    every stream of a data channel is flushed and cleared (``consumer_clear_stream``: an active
    flush, then ``lttng_ust_ctl_clear_buffer``, which drops what the buffer holds by moving the
    consumed position to the current sub-buffer)."""
    channel = state.registry.find(_key(msg))
    if channel is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND)
        return
    if channel.type is ChannelType.DATA:
        try:
            for stream in channel.streams:
                streams.flush(stream, producer_active=True)
                stream.ust.clear()
        except UstrefError as exc:
            log.error("clear channel %d: %s", channel.key, exc)
            state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL)
            return
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def open_channel_packets(state: ConsumerState, msg: ConsumerMsg) -> None:
    """OPEN_CHANNEL_PACKETS (mirrors ``lttng_consumer_open_channel_packets``): open a packet
    (a flush of an empty packet) in every stream still on the channel's own stream list.

    C walks ``channel->streams``, which ``send_streams_to_thread`` empties when GET_CHANNEL
    hands a monitored channel's streams to the data thread: for such a channel the command
    opens nothing. Unmonitored (snapshot) channels keep their streams on the list, and so
    does a monitored channel before its GET_CHANNEL."""
    channel = state.registry.find(_key(msg))
    if channel is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND)
        return
    if channel.metadata_stream is not None:
        # C tests ``channel->metadata_stream``: a snapshot-mode metadata channel has none
        # between snapshots and answers SUCCESS.
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS)
        return
    on_own_list = not (channel.monitor and channel.sent_to_sessiond)
    for stream in channel.streams if on_own_list else ():
        if stream.reader is not None:
            streams.open_packet(stream)
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)


def _snapshot_data(
    state: ConsumerState, channel: Channel, nb_packets: int, net: RelaydId | None, path: str
) -> HandlerGen:
    """Mirrors ``snapshot_channel``: each stream into a local file of the channel's
    chunk, or announced to the relay daemon ``net`` under ``path`` (RELAYD_ADD_STREAM),
    its packets sent without index, then closed (RELAYD_CLOSE_STREAM)."""
    for stream in channel.streams:
        stream.trace_chunk = channel.trace_chunk
        try:
            if net is None:
                streams.open_output(stream, with_index=False)
            else:
                yield Acquire(RelaydSock(net))
                yield from _send_relayd_stream(state, stream, net, path)
                yield Release(RelaydSock(net))
            streams.snapshot_stream(stream, nb_packets)
        finally:
            streams.close_output(stream)
            stream.trace_chunk = None


def _snapshot_metadata(
    state: ConsumerState, channel: Channel, net: RelaydId | None, path: str
) -> HandlerGen:
    """Mirrors ``snapshot_metadata``: create the metadata stream, announce it to the
    relay daemon ``net`` (under ``path``) if any, write the whole cache through it,
    destroy it."""
    identity = packet.ChannelIdentity(kind=packet.ClientKind.METADATA, uuid=bytes(16), stream_id=0)
    yield from _create_streams(state, channel, identity)
    stream = channel.metadata_stream
    if stream is None:
        raise UstrefError("snapshot metadata: no metadata stream")
    stream.trace_chunk = channel.trace_chunk
    try:
        if net is None:
            streams.open_output(stream)
        else:
            yield Acquire(RelaydSock(net))
            yield from _send_relayd_stream(state, stream, net, path)
            yield Release(RelaydSock(net))
        streams.drain(stream)
    finally:
        lifetime.close_stream(stream)


def snapshot_channel(state: ConsumerState, msg: ConsumerMsg) -> HandlerGen:
    """SNAPSHOT_CHANNEL (its case of ``lttng_ustconsumer_recv_cmd``): snapshot a data channel's
    streams or the metadata into the channel's current chunk, locally or to a relay daemon."""
    u = _member(msg, SnapshotChannelMember)
    assert isinstance(u, SnapshotChannelMember)
    channel = state.registry.find(channel_key(u))
    if channel is None:
        state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND)
        return
    code = LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
    try:
        if channel.trace_chunk is None:
            raise UstrefError("snapshot: the channel has no trace chunk")
        net = relayd_id(u)
        if u.metadata:
            if channel.metadata_cache is None:
                # C asserts `channel->metadata_cache` (ust-consumer.c:3324).
                raise UstrefError("snapshot metadata: not a metadata channel")
            yield from request_metadata(state, channel)
            yield from _snapshot_metadata(state, channel, net, str(u.pathname))
        else:
            yield from _snapshot_data(state, channel, u.nb_packets_per_stream, net, str(u.pathname))
    except (UstrefError, OSError) as exc:
        log.error("snapshot channel %d: %s", u.key, exc)
        code = LttcommReturnCode.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED
    state.send_status(code)


HANDLERS: dict[LttngConsumerCommand, Handler] = {
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_CHANNEL: ignored,
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_STREAM: ignored,
    LttngConsumerCommand.LTTNG_CONSUMER_UPDATE_STREAM: ignored,
    LttngConsumerCommand.LTTNG_CONSUMER_STOP: ignored,
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET: add_relayd_socket,
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD: destroy_relayd,
    LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING: data_pending,
    LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION: ask_channel_creation,
    LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL: get_channel,
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL: destroy_channel,
    LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA: push_metadata,
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA: close_metadata,
    LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA: setup_metadata,
    LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL: flush_channel,
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL: snapshot_channel,
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_METADATA: ignored,
    LttngConsumerCommand.LTTNG_CONSUMER_STREAMS_SENT: ignored,
    LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS: discarded_events,
    LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS: lost_packets,
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL: clear_quiescent_channel,
    LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE: set_channel_monitor_pipe,
    LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL: rotate_channel,
    LttngConsumerCommand.LTTNG_CONSUMER_INIT: init,
    LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK: create_trace_chunk,
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK: close_trace_chunk,
    LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS: trace_chunk_exists,
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL: clear_channel,
    LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS: open_channel_packets,
}
"""Every ``lttng_consumer_command`` → its handler (the switch of ``lttng_ustconsumer_recv_cmd``)."""
