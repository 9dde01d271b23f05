"""What the UST consumer daemon *does* with each command: the behaviour table.

:data:`BEHAVIOUR` maps every :class:`~ustref.protocol.consumer.LttngConsumerCommand`
to a :class:`Behaviour`: the command's purpose, the consumer's actions in order
(each naming the C function and its v2.13.9 lines), the state it creates or
changes, its preconditions and what happens when one fails (C aborts flagged),
every code its replies can carry (each with the tests that make ustref-consumerd
answer it, :attr:`Code.tests`; ``tests/consumerd/test_reply_codes.py`` checks them
and that no handler answers a code left out), and the traffic it causes on the *other*
channels — the metadata socket, the relay daemon's control and data sockets,
the channel-monitor pipe and the error socket — each placed before the
command-socket reply step it precedes. Read from ``lttng_ustconsumer_recv_cmd``
and its helpers (src/common/ust-consumer/ust-consumer.c and
src/common/consumer/consumer.c @ v2.13.9; the switch has the same cases, codes
and order in ust-consumer.cpp @ 97535efaa, see :attr:`Behaviour.case_line`).

Contract with the consumer daemon's handler table (``ustref/consumerd/``):
both are keyed by ``LttngConsumerCommand`` and must cover the same commands —
every member of the enum, no more — so the spec (rendered from this table by
:mod:`ustref.specgen.behaviour`) and the executable handlers cannot drift.
A handler's reply codes and cross-socket traffic are the ones listed here; the
command-socket steps themselves are :mod:`ustref.protocol.conversation.rules`'s,
and :func:`check_table` proves every ``before`` names one of them.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import LttngConsumerCommand
from ustref.protocol.conversation.rules import command_steps
from ustref.protocol.conversation.steps import Step, StreamList
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode

UST_CONSUMER = "src/common/ust-consumer/ust-consumer.c"
CONSUMER = "src/common/consumer/consumer.c"
CONSUMER_STREAM = "src/common/consumer/consumer-stream.c"
CONSUMER_TIMER = "src/common/consumer/consumer-timer.c"
SESSIOND_COMM = "src/common/sessiond-comm/sessiond-comm.c"


class Peer(str, enum.Enum):
    """A channel other than the command socket that a command's handling touches."""

    METADATA = "metadata socket"
    """The session daemon's second connection: metadata requests (lttcomm_metadata_request_msg)."""
    RELAYD_CONTROL = "relayd control socket"
    """lttcomm_relayd_hdr + command payload, then a reply (ustref.protocol.relayd)."""
    RELAYD_DATA = "relayd data socket"
    """lttcomm_relayd_data_hdr + packet bytes, no reply."""
    MONITOR = "channel-monitor pipe"
    """lttcomm_consumer_channel_monitor_msg samples (32 bytes)."""
    ERROR = "error socket"
    """4-byte lttcomm_return_code values to the session daemon."""


@dataclasses.dataclass(frozen=True)
class Source:
    """A C function and its line range in a v2.13.9 file."""

    function: str
    file: str
    first: int
    last: int

    def describe(self) -> str:
        lines = f"{self.first}" if self.first == self.last else f"{self.first}–{self.last}"
        return f"`{self.function}` ({self.file.rsplit('/', 1)[-1]}:{lines})"


@dataclasses.dataclass(frozen=True)
class Traffic:
    """One message on another channel caused by the command.

    ``outbound`` is consumer → peer. ``before`` names the command-socket step
    (of :func:`~ustref.protocol.conversation.rules.command_steps`) it precedes;
    ``None`` means after the last reply (asynchronous or later).
    """

    peer: Peer
    outbound: bool
    what: str
    when: str = ""
    before: str | None = None


@dataclasses.dataclass(frozen=True)
class Precondition:
    """What must hold; ``otherwise`` is what happens when it does not."""

    what: str
    otherwise: str
    aborts: bool = False
    """The C consumer dies (assert/abort or its command thread stops)."""


@dataclasses.dataclass(frozen=True)
class Code:
    """A value a reply can carry, and what it means for this command."""

    value: LttcommReturnCode | LttngErrorCode | int
    meaning: str
    tests: tuple[str, ...] = ()
    """Pytest node ids (``tests/<file>.py::<function>[<params>]``) of tests that make
    ustref-consumerd answer this code for this command; ``tests/consumerd/test_reply_codes.py``
    checks that each names a function of a file of the repository."""
    only: str = ""
    """``"C"``: only the C consumer answers it (ustref's handler never does: the meaning says
    why), so no test can; ``"ustref"``: ustref answers it where the C consumer stops."""

    def describe(self) -> str:
        name = getattr(self.value, "name", None)
        return f"`{name}` = {int(self.value)}" if name else f"{int(self.value)}"


@dataclasses.dataclass(frozen=True)
class Behaviour:
    """The behaviour of one command in the UST consumer (see the module docstring)."""

    purpose: str
    actions: tuple[str, ...]
    sources: tuple[Source, ...]
    case_line: Mapping[Abi, int]
    state: tuple[str, ...] = ()
    preconditions: tuple[Precondition, ...] = ()
    codes: tuple[Code, ...] = ()
    traffic: tuple[Traffic, ...] = ()
    abi_notes: Mapping[Abi, str] = dataclasses.field(default_factory=dict)
    on_error: Code | None = None
    """What the C consumer answers when handling the command fails (the value of the
    reply the command socket is due, in that reply's shape: a status, a status channel,
    DATA_PENDING's int, a u64 count, a close-trace-chunk reply); ``None`` for the
    commands answered with nothing. ustref's error boundary
    (:class:`ustref.consumerd.core.Core`) answers it. Set from :data:`_ON_ERROR`."""


#: Tests shared by many codes: every answered command's failure reply, unknown channel keys.
ON_ERROR_TEST = (
    "tests/consumerd/test_error_boundary.py::test_a_failure_before_any_reply_answers_on_error"
)
UNKNOWN_KEY_TEST = "tests/consumerd/test_core.py::test_unknown_channel_statuses"
REPLY_CODES = "tests/consumerd/test_reply_codes.py::"
HOSTILE_METADATA_ANNOUNCEMENT = (
    "tests/consumerd/test_hostile_peers.py::"
    "test_a_failed_metadata_announcement_deletes_the_metadata_channel"
)


def on_error_test(command: str) -> str:
    """The node id of the error-boundary test of ``command`` (its ``on_error`` reply)."""
    return f"{ON_ERROR_TEST}[{command}-error0]"


def tested(code: Code, *tests: str) -> Code:
    """``code`` with the tests that produce it for one command."""
    return dataclasses.replace(code, tests=tests)


OK = Code(LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS, "done")
CHAN_NOT_FOUND = Code(LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND, "no channel has `key`")
UST_CHAN_NOT_FOUND = Code(
    LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND,
    "no channel has `key` (an `lttng_error_code` value in `ret_code`)",
)

#: ``lttng_ustconsumer_recv_cmd`` as a whole, and its common endings.
RECV_CMD = Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1386, 2345)
END_MSG_SESSIOND = Source("end_msg_sessiond", UST_CONSUMER, 2296, 2312)

#: The other C functions ustref-consumerd mirrors (threads, streams, channel
#: teardown, timers): the daemon's docstrings cite them by name, and this is where
#: their v2.13.9 lines are written (checked by :func:`ustref.specgen.sources.check_sources`;
#: ``tests/consumerd/test_citations.py`` fails on a name missing here).
MIRRORED: tuple[Source, ...] = (
    Source("send_stream_to_thread", UST_CONSUMER, 185, 224),
    Source("get_stream_shm_path", UST_CONSUMER, 227, 244),
    Source("create_ust_streams", UST_CONSUMER, 252, 357),
    Source("open_ust_stream_fd", UST_CONSUMER, 359, 379),
    Source("create_ust_channel", UST_CONSUMER, 387, 474),
    Source("metadata_stream_reset_cache_consumed_position", UST_CONSUMER, 1258, 1266),
    Source("lttng_ustconsumer_flush_buffer", UST_CONSUMER, 2413, 2420),
    Source("lttng_ustconsumer_on_stream_hangup", UST_CONSUMER, 2453, 2469),
    Source("lttng_ustconsumer_del_channel", UST_CONSUMER, 2471, 2506),
    Source("commit_one_metadata_packet", UST_CONSUMER, 2562, 2635),
    Source("lttng_ustconsumer_sync_metadata", UST_CONSUMER, 2648, 2710),
    Source("consumer_stream_ust_on_wake_up", UST_CONSUMER, 2763, 2789),
    Source("extract_data_subbuffer_info", UST_CONSUMER, 2828, 2905),
    Source("get_next_subbuffer", UST_CONSUMER, 2931, 2966),
    Source("get_next_subbuffer_metadata", UST_CONSUMER, 2968, 3065),
    Source("put_next_subbuffer", UST_CONSUMER, 3067, 3074),
    Source("consumer_find_channel", CONSUMER, 248, 266),
    Source("consumer_destroy_relayd", CONSUMER, 343, 363),
    Source("consumer_del_channel", CONSUMER, 369, 424),
    Source("cleanup_relayd_ht", CONSUMER, 430, 445),
    Source("update_endpoint_status_by_netidx", CONSUMER, 454, 480),
    Source("lttng_consumer_cleanup_relayd", CONSUMER, 490, 518),
    Source("consumer_flag_relayd_for_destroy", CONSUMER, 526, 537),
    Source("consumer_del_stream", CONSUMER, 545, 549),
    Source("consumer_find_relayd", CONSUMER, 692, 711),
    Source("consumer_send_relayd_stream", CONSUMER, 718, 761),
    Source("write_relayd_stream_header", CONSUMER, 825, 878),
    Source("consumer_metadata_stream_dump", CONSUMER, 925, 959),
    Source("consumer_add_channel", CONSUMER, 1124, 1154),
    Source("lttng_consumer_send_error", CONSUMER, 1269, 1277),
    Source("lttng_consumer_cleanup", CONSUMER, 1283, 1334),
    Source("destroy_data_stream_ht", CONSUMER, 1491, 1511),
    Source("destroy_metadata_stream_ht", CONSUMER, 1517, 1537),
    Source("write_relayd_metadata_id", CONSUMER, 1576, 1609),
    Source("lttng_consumer_on_read_subbuffer_mmap", CONSUMER, 1622, 1781),
    Source("lttng_consumer_recv_cmd", CONSUMER, 2083, 2097),
    Source("consumer_del_metadata_stream", CONSUMER, 2129, 2195),
    Source("validate_endpoint_status_data_stream", CONSUMER, 2269, 2284),
    Source("validate_endpoint_status_metadata_stream", CONSUMER, 2291, 2317),
    Source("consumer_thread_metadata_poll", CONSUMER, 2323, 2533),
    Source("consumer_thread_data_poll", CONSUMER, 2539, 2829),
    Source("consumer_close_channel_streams", CONSUMER, 2837, 2882),
    Source("consumer_thread_channel_poll", CONSUMER, 2911, 3148),
    Source("consumer_thread_sessiond_poll", CONSUMER, 3181, 3353),
    Source("lttng_consumer_read_subbuffer", CONSUMER, 3378, 3490),
    Source("find_relayd_by_session_id", CONSUMER, 3732, 3754),
    Source("consumer_send_status_msg", CONSUMER, 3893, 3901),
    Source("consumer_get_consume_start_pos", CONSUMER, 3927, 3942),
    Source("consumer_clear_stream", CONSUMER, 4411, 4434),
    Source("lttng_consumer_rotate_stream", CONSUMER, 4573, 4639),
    Source("consumer_stream_update_stats", CONSUMER_STREAM, 84, 137),
    Source("consumer_stream_consume_mmap", CONSUMER_STREAM, 163, 205),
    Source("consumer_stream_send_index", CONSUMER_STREAM, 232, 251),
    Source("do_sync_metadata", CONSUMER_STREAM, 259, 365),
    Source("consumer_stream_sync_metadata", CONSUMER_STREAM, 377, 416),
    Source("consumer_stream_sync_metadata_index", CONSUMER_STREAM, 418, 466),
    Source("consumer_stream_open_packet", CONSUMER_STREAM, 512, 583),
    Source("post_consume_open_new_packet", CONSUMER_STREAM, 594, 640),
    Source("consumer_stream_relayd_close", CONSUMER_STREAM, 813, 844),
    Source("consumer_stream_close", CONSUMER_STREAM, 853, 934),
    Source("unref_channel", CONSUMER_STREAM, 1034, 1049),
    Source("consumer_stream_destroy", CONSUMER_STREAM, 1059, 1114),
    Source("consumer_stream_write_index", CONSUMER_STREAM, 1121, 1166),
    Source("consumer_stream_create_output_files", CONSUMER_STREAM, 1168, 1230),
    Source("metadata_bucket_flush", CONSUMER_STREAM, 1262, 1274),
    Source("metadata_bucket_consume", CONSUMER_STREAM, 1276, 1295),
    Source("consumer_stream_enable_metadata_bucketization", CONSUMER_STREAM, 1297, 1316),
    Source("consumer_stream_metadata_set_version", CONSUMER_STREAM, 1318, 1328),
    Source("metadata_switch_timer", CONSUMER_TIMER, 80, 121),
    Source("send_empty_index", CONSUMER_TIMER, 123, 139),
    Source("check_stream", CONSUMER_TIMER, 179, 223),
    Source("consumer_flush_ust_index", CONSUMER_TIMER, 225, 266),
    Source("live_timer", CONSUMER_TIMER, 271, 309),
    Source("sample_channel_positions", CONSUMER_TIMER, 567, 639),
    Source("monitor_timer", CONSUMER_TIMER, 645, 711),
)

#: Failures every command shares: they are not repeated per command.
COMMON_PRECONDITIONS: tuple[Precondition, ...] = (
    Precondition(
        "the whole `lttcomm_consumer_msg` arrives (`lttcomm_recv_unix_sock` (unix.c:195–209) "
        "loops until all of it came, the peer hung up or an error)",
        "a message cut short by EOF returns 0, an error −1; `lttng_ustconsumer_recv_cmd` "
        "returns either as is (ust-consumer.c:1399–1412: its `ERROR_RECV_CMD` is for a "
        "positive short count, which the loop never returns) and "
        "`consumer_thread_sessiond_poll` ends without a word (consumer.c:3283–3292): the "
        "consumer shuts down as when the session daemon goes away (spec/sessiond-gone.md)",
        aborts=True,
    ),
    Precondition(
        "`cmd_type` is not `LTTNG_CONSUMER_STOP` (`assert`, ust-consumer.c:1419)",
        "assertion failure: the consumer aborts (SIGABRT) before reading the union",
        aborts=True,
    ),
    Precondition(
        "every reply can be sent",
        "`error_fatal` (ust-consumer.c:2336–2339; from `end_msg_sessiond`, 2305–2308): the "
        "command thread returns −1 and the consumer exits — except SNAPSHOT_CHANNEL "
        "(1887–1890), ROTATE_CHANNEL (2075–2078), CLEAR_CHANNEL (2125–2128), INIT "
        "(2139–2142) and CREATE_TRACE_CHUNK's first status (2172–2176), which go to "
        "`end_nosignal` (ust-consumer.c:2288): the consumer carries on",
        aborts=True,
    ),
    Precondition(
        "each fixed-size `char` array of the command (`ask_channel.pathname`, `.name`, "
        "`.root_shm_path`, `.shm_path`, `snapshot_channel.pathname`, "
        "`create_trace_chunk.override_name`) holds a NUL — nothing checks it",
        "the array is read as a C string that runs to its end (and on into the next fields "
        "until a zero byte, which ustref does not model): `consumer_allocate_channel` keeps "
        "the first `size − 1` bytes (`strncpy` and a forced NUL, consumer.c:1078–1091), "
        "`is_valid_chunk_name` refuses such an override name (trace-chunk.c:678–681), "
        "`relayd_add_stream` a path that does not fit its message (relayd.c:532–540). "
        "ustref reads an unterminated array whole (`ustref.consumerd.decode`; found by "
        "`ustref fuzz consumerd --target both`, seeds 3 and 7, when the strict grammar "
        "refused the message and nothing was answered)",
    ),
    Precondition(
        "each enum field the command reads holds a member of its enum (`cmd_type`; "
        "ASK_CHANNEL_CREATION's `output` and `type`; ADD_RELAYD_SOCKET's `type` and "
        "`relayd_socket_protocol`; CLOSE_TRACE_CHUNK's `close_command` when set) — C reads "
        "each as the integer it is",
        "an unknown `cmd_type` falls to `default: break` (ust-consumer.c:2284) and "
        "`end_nosignal`: no reply, and ustref answers none; an unset optional's value is "
        "never read (CLOSE_TRACE_CHUNK passes `is_set ? &close_command : NULL`, "
        "ust-consumer.c:2233–2235), and ustref does not check it either; any other value "
        "out of its enum: the command's own precondition (ASK_CHANNEL_CREATION's below, "
        "ADD_RELAYD_SOCKET's `assert` or FATAL, CLOSE_TRACE_CHUNK's `abort()` in "
        "`lttng_trace_chunk_command_type_get_name`). ustref's strict decode refuses such a "
        "value (`RemoteProtocolError`) and answers the command's failure reply "
        "(`Behaviour.on_error`, before any status of its own), never silence "
        "(`ustref.consumerd.core.Core._refuse`). For ADD_RELAYD_SOCKET with a known "
        "`net_index`, C answers SUCCESS, takes the fd and then answers FATAL "
        "(`consumer_add_relayd_socket`'s `default:` of its type switch, consumer.c:3670–3673, "
        "or `lttcomm_create_sock` failing on the protocol): ustref answers FATAL at once, "
        "and the session daemon, which sends the fd only after a SUCCESS "
        "(`consumer_send_msg`), sends none",
    ),
)

# --- cross-socket traffic building blocks -------------------------------------------------


def _metadata_exchange(before: str | None, when: str) -> tuple[Traffic, ...]:
    """Mirrors ``lttng_ustconsumer_request_metadata`` (a :class:`Source` of the table)."""
    return (
        Traffic(
            Peer.METADATA,
            True,
            "`lttcomm_metadata_request_msg` (key, session ids, app uid, bits_per_long)",
            when,
            before,
        ),
        Traffic(
            Peer.METADATA,
            False,
            "`lttcomm_consumer_msg` PUSH_METADATA (key, target_offset, len, version), or "
            "cmd_type = `LTTNG_ERR_UND` when the registry is gone",
            when,
            before,
        ),
        Traffic(
            Peer.METADATA,
            True,
            "status SUCCESS (ready; or acknowledging LTTNG_ERR_UND)",
            when,
            before,
        ),
        Traffic(Peer.METADATA, False, "`len` metadata bytes", when + " and len > 0", before),
        Traffic(
            Peer.METADATA,
            True,
            "status: SUCCESS, ERROR_METADATA or ENOMEM (after the cache write; "
            "waits for the metadata to be consumed up to offset+len)",
            when + " and len > 0",
            before,
        ),
    )


def _relayd(command: str, reply: str, when: str, before: str | None) -> tuple[Traffic, ...]:
    return (
        Traffic(
            Peer.RELAYD_CONTROL, True, f"`{command}` (lttcomm_relayd_hdr + payload)", when, before
        ),
        Traffic(Peer.RELAYD_CONTROL, False, reply, when, before),
    )


def _add_stream(when: str, before: str | None) -> tuple[Traffic, ...]:
    """``consumer_send_relayd_stream`` → ``relayd_add_stream`` (consumer.c:718–766)."""
    return _relayd(
        "RELAYD_ADD_STREAM",
        "`lttcomm_relayd_status_stream` (relayd stream id, ret_code)",
        when,
        before,
    )


def _close_stream(when: str, before: str | None) -> tuple[Traffic, ...]:
    """``consumer_stream_relayd_close`` → ``relayd_send_close_stream`` (consumer-stream.c:813)."""
    return _relayd("RELAYD_CLOSE_STREAM", "`lttcomm_relayd_generic_reply`", when, before)


_NOT_MONITORED = "the channel is not monitored (snapshot session)"
_MONITOR_NOTE = (
    "`consumer_timer_monitor_start` (monitor_timer_interval > 0): every interval one "
    "`lttcomm_consumer_channel_monitor_msg`: key, lowest and highest buffer usage, and "
    "`total_consumed`, the sum of the streams' `output_written` since they were created "
    "(cumulative, not since the last sample; no session id): `sample_channel_positions` "
    "(consumer-timer.c:567–639) and `monitor_timer` (consumer-timer.c:645–711)"
)

# --- the table ------------------------------------------------------------------------------

_STATUS_LAST = "status"

BEHAVIOUR: Mapping[LttngConsumerCommand, Behaviour] = {
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_CHANNEL: Behaviour(
        purpose="Kernel-consumer command (add a channel whose streams follow); "
        "not handled by the UST consumer.",
        actions=(
            "falls to `default: break` (ust-consumer.c:2284) then `end_nosignal`: nothing is done",
        ),
        sources=(Source("lttng_ustconsumer_recv_cmd default", UST_CONSUMER, 2284, 2294),),
        case_line={Abi.V2_13_9: 2284, Abi.R97535EFAA: 2268},
        state=("none",),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_STREAM: Behaviour(
        purpose="Kernel-consumer command (add one stream, fd follows); ignored here.",
        actions=(
            "falls to `default: break` (ust-consumer.c:2284): nothing is read or sent — a session "
            "daemon "
            "that sends an fd after it leaves the byte and fd queued on the socket",
        ),
        sources=(Source("lttng_ustconsumer_recv_cmd default", UST_CONSUMER, 2284, 2294),),
        case_line={Abi.V2_13_9: 2284, Abi.R97535EFAA: 2268},
        state=("none",),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_UPDATE_STREAM: Behaviour(
        purpose="Obsolete (kernel mmap/splice switch); the UST consumer refuses it.",
        actions=("returns `-ENOSYS` (ust-consumer.c:1476) without a reply",),
        sources=(Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1473, 1477),),
        case_line={Abi.V2_13_9: 1473, Abi.R97535EFAA: 1457},
        preconditions=(
            Precondition(
                "none can hold",
                "the negative return ends `consumer_thread_sessiond_poll`: the command thread "
                "stops and the consumer exits",
                aborts=True,
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_STOP: Behaviour(
        purpose="Deprecated stop request.",
        actions=("`assert(msg.cmd_type != LTTNG_CONSUMER_STOP)` (ust-consumer.c:1419) fails",),
        sources=(Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1419, 1419),),
        case_line={Abi.V2_13_9: 1419, Abi.R97535EFAA: 1410},
        preconditions=(
            Precondition(
                "never sent by a 2.13 session daemon",
                "assertion failure: SIGABRT (reproducer crash-42d7474beb42); past the assert, "
                "STOP has no case: `default: break` (ust-consumer.c:2284) and `end_nosignal` "
                "(ust-consumer.c:2288–2294) send nothing, so C's protocol has no reply for "
                "STOP. ustref answers nothing either and serves the next command",
                aborts=True,
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET: Behaviour(
        purpose="Hand over one connected socket (control first, then data) to a relay daemon.",
        actions=(
            "`consumer_add_relayd_socket` (consumer.c:3566): find the relayd pair by "
            "`net_index`; a control socket for an unknown index allocates the pair",
            "send status SUCCESS (ready for the fd), poll, receive one fd",
            "wrap it as the pair's control or data `lttcomm_relayd_sock` with the negotiated "
            "major/minor (`lttcomm_populate_sock_from_open_socket`, sessiond-comm.c:486–549: "
            "`getpeername`, then an AF_INET or AF_INET6 socket object around the fd; ustref "
            "asks the shell for the peer's address family, the `PeerFamily` request); the "
            "control socket records `relayd_session_id`",
            "send the final status; `add_relayd` publishes the pair",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1427, 1442),
            Source("consumer_add_relayd_socket", CONSUMER, 3566, 3724),
            Source("lttcomm_populate_sock_from_open_socket", SESSIOND_COMM, 486, 549),
        ),
        case_line={Abi.V2_13_9: 1427, Abi.R97535EFAA: 1418},
        state=(
            "a `consumer_relayd_sock_pair` keyed by `net_index` (control, then data socket)",
            "a pair that fails later is cleaned up without a command: a send error or hang-up "
            "while writing a sub-buffer (`relayd_hang_up`, consumer.c:1763–1771) or a failed "
            "DATA_PENDING query calls `lttng_consumer_cleanup_relayd` (consumer.c:490–517), "
            "which destroys the pair, closes its sockets and marks every stream using it "
            "inactive, so the data and metadata threads drop those streams",
        ),
        preconditions=(
            Precondition(
                "a new `net_index` comes with `type` = LTTNG_STREAM_CONTROL (`assert`, "
                "consumer.c:3588)",
                "assertion failure: SIGABRT (reproducer crash-5ff15eb43676)",
                aborts=True,
            ),
            Precondition(
                "a known `net_index` does not come with a second control socket (`assert`, "
                "consumer.c:3608)",
                "assertion failure: SIGABRT",
                aborts=True,
            ),
            Precondition(
                "the fd arrives (`lttcomm_recv_fds_unix_sock`)",
                "`ERROR_RECV_FD` on the error socket and as the final status",
            ),
            Precondition(
                "`getpeername` on the fd succeeds (`lttcomm_populate_sock_from_open_socket`, "
                "sessiond-comm.c:500–507)",
                "final status FATAL (`consumer_add_relayd_socket`, consumer.c:3676–3678): a "
                "descriptor that is not a socket (found by `ustref fuzz consumerd --target "
                "both`, seed 5: `/dev/null`) or an unconnected socket; the fd is closed, a new "
                "pair is not kept",
            ),
            Precondition(
                "the peer's address family is AF_INET or AF_INET6 (sessiond-comm.c:516–529)",
                "`abort()` (sessiond-comm.c:528): SIGABRT (reproducers crash-4ab31acc7a91 and "
                "crash-98ded0f6edc3, AF_UNIX sockets); ustref answers the final status FATAL, "
                "as for a failed `getpeername`, closes the fd and stays up",
                aborts=True,
            ),
        ),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "first status: send the fd; final: added",
                tests=(
                    "tests/consumerd/test_relayd_sockets.py::"
                    "test_control_then_data_socket_are_kept_then_closed_by_destroy",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ENOMEM,
                "single status: the pair could not be allocated — `net_index` is all ones "
                "(`consumer_allocate_relayd_sock_pair`, consumer.c:662–665; found by "
                "`ustref fuzz consumerd --target both`) or no memory (ustref allocates "
                "nothing that can fail)",
                tests=(
                    "tests/fuzz/test_differential.py::"
                    "test_add_relayd_socket_with_the_all_ones_index_answers_enomem",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_RECV_FD,
                "final status, also sent on the error socket: the byte read after the first "
                "status came without an fd (`lttcomm_recv_fds_unix_sock` does not return "
                "`sizeof(fd)`, consumer.c:3617–3632; found by `ustref fuzz consumerd --target "
                "both`, seed 11: a command longer than the message)",
                tests=(
                    "tests/consumerd/test_fd_carriers.py::"
                    "test_a_relayd_socket_byte_without_its_fd_answers_error_recv_fd",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
                "final status: bad `type`, socket creation failed, or the fd is not a "
                "connected socket (`getpeername` fails); ustref also for a peer that is "
                "neither AF_INET nor AF_INET6, where C aborts",
                tests=(
                    "tests/consumerd/test_error_boundary.py::"
                    "test_a_relayd_socket_failure_after_the_fd_answers_fatal",
                    on_error_test("LTTNG_CONSUMER_ADD_RELAYD_SOCKET"),
                    "tests/consumerd/test_relayd_sockets.py::"
                    "test_a_relayd_socket_that_is_not_inet_is_refused_with_fatal",
                ),
            ),
        ),
        traffic=(
            Traffic(
                Peer.ERROR,
                True,
                "`LTTCOMM_CONSUMERD_FATAL` if a status cannot be sent; "
                "`POLL_ERROR` if polling for the fd fails; `ERROR_RECV_FD`",
                "on failure",
            ),
        ),
        abi_notes={
            Abi.R97535EFAA: "`u.relayd_sock` embeds a whole in-process `lttcomm_relayd_sock` "
            "(see the field table). `consumer_add_relayd_socket` (consumer.cpp:3559) copies its "
            "`sock` (`lttcomm_copy_sock`: address family, protocol, sockaddr), creates a socket "
            "of that kind (`lttcomm_create_sock`) that the received fd then replaces, and takes "
            "major/minor from `u.relayd_sock.major`/`.minor`.",
        },
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD: Behaviour(
        purpose="Forget a relay daemon once its streams are gone.",
        actions=(
            "`consumer_find_relayd(net_seq_idx)`",
            "`consumer_flag_relayd_for_destroy`: set the destroy flag; the pair is "
            "destroyed now if no stream refers to it, else when the last one closes",
            "send status",
        ),
        sources=(Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1443, 1472), END_MSG_SESSIOND),
        case_line={Abi.V2_13_9: 1443, Abi.R97535EFAA: 1427},
        state=("relayd pair flagged for destruction; its sockets closed when unreferenced",),
        codes=(
            tested(
                OK,
                "tests/consumerd/test_relayd_sockets.py::"
                "test_control_then_data_socket_are_kept_then_closed_by_destroy",
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL,
                "no relayd has `net_seq_idx`",
                tests=(
                    ""
                    "tests/consumerd/test_relayd_sockets.py::test_destroy_of_an_unknown_relayd_fails",
                    on_error_test("LTTNG_CONSUMER_DESTROY_RELAYD"),
                ),
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING: Behaviour(
        purpose="Does any stream of the session still hold data not yet written or sent?",
        actions=(
            "`consumer_data_pending(session_id)` (consumer.c:3762): any stream of the session "
            "with data not yet consumed (`lttng_ustconsumer_data_pending`) → 1",
            "only streams of the data and metadata threads are walked (`stream_list_ht`): an "
            "unmonitored (snapshot) channel's streams are never there, so they never count",
            "if the session streams to a relayd: RELAYD_BEGIN_DATA_PENDING — its failure "
            "answers 0 and leaves the relayd as it is (consumer.c:3822–3829) — then per stream "
            "RELAYD_QUIESCENT_CONTROL (metadata stream) or RELAYD_DATA_PENDING (data stream, "
            "last sequence number sent) — a 1 answers 1 at once — then "
            "RELAYD_END_DATA_PENDING (any non-zero code: data in flight → 1); a failure of a "
            "per-stream query or of END_DATA_PENDING (for DATA_PENDING and END_DATA_PENDING, "
            "a reply code of 2³¹ or more, negative once read into a C int: "
            "`relayd_data_pending`, relayd.c:928–934; `relayd_end_data_pending`, "
            "relayd.c:1065–1072) answers 0 and cleans the relayd up "
            "(`lttng_consumer_cleanup_relayd`, consumer.c:3847–3851 and 3856–3863: the pair "
            "is destroyed and its streams' endpoints marked inactive, consumer.c:490–517)",
            "send the answer as a raw `int32` (no status)",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1478, 1502),
            Source("consumer_data_pending", CONSUMER, 3762, 3886),
        ),
        case_line={Abi.V2_13_9: 1478, Abi.R97535EFAA: 1462},
        codes=(
            Code(
                0,
                "no data pending: the trace is complete (also when a relay command fails)",
                tests=(
                    "tests/consumerd/test_core.py::test_data_pending_of_an_empty_session_is_zero",
                ),
            ),
            Code(
                1,
                "data pending",
                tests=(REPLY_CODES + "test_data_pending_is_one_while_a_sub_buffer_is_unconsumed",),
            ),
        ),
        traffic=(
            *_relayd(
                "RELAYD_BEGIN_DATA_PENDING",
                "`lttcomm_relayd_generic_reply`",
                "the session streams to a relayd",
                "is_data_pending",
            ),
            *_relayd(
                "RELAYD_QUIESCENT_CONTROL (metadata) / RELAYD_DATA_PENDING (data), per stream",
                "`lttcomm_relayd_generic_reply` (1: pending, the command ends here)",
                "the session streams to a relayd",
                "is_data_pending",
            ),
            *_relayd(
                "RELAYD_END_DATA_PENDING",
                "`lttcomm_relayd_generic_reply` (is pending)",
                "the session streams to a relayd",
                "is_data_pending",
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION: Behaviour(
        purpose="Create a channel: its ring buffers (shm) and, except for a snapshot-mode "
        "metadata channel, its streams.",
        actions=(
            "`consumer_allocate_channel` (consumer.c:1003): key, session, chunk, path, "
            "output, tracefile limits, monitor, live timer; `pathname`, `name`, "
            "`root_shm_path` and `shm_path` copied with `strncpy` and a forced NUL "
            "(consumer.c:1078–1091): at most `size − 1` bytes each",
            "translate `type`: PER_CPU → data channel (refcount 1), METADATA → metadata",
            "`ask_channel` → `create_ust_channel` (`lttng_ust_ctl_create_channel`; each stream's "
            "shm object from `open_ust_stream_fd`, ust-consumer.c:359–379: "
            "`shm_create_anonymous` — `shm_open` then `shm_unlink`, shm.c:209–238 — or the "
            "file `<shm_path><cpu>` (`get_stream_shm_path`, ust-consumer.c:227–244) when "
            "`shm_path` is set) and `create_ust_streams` (one per "
            "possible CPU; one for a monitored metadata channel; none for a snapshot-mode "
            "metadata channel); a stream that cannot be allocated sends `OUTFD_ERROR` on the "
            "error socket (`create_ust_streams` → `allocate_stream`, ust-consumer.c:153–168)",
            "metadata: `consumer_metadata_cache_allocate`, start the switch timer; data: "
            "start the live timer and the monitor timer",
            "`add_channel` → `consumer_add_channel` (consumer.c:1124–1154): publish the channel "
            "by `key` — a channel already holding that key loses it silently "
            "(`steal_channel_key`, consumer.c:276–292) and stays only for iteration — and hand "
            "it to the channel thread only if it is a data channel with a wait fd "
            "(`notify_channel_pipe`, consumer.c:1149–1151)",
            "send `lttcomm_consumer_status_channel` (SUCCESS, key, stream_count)",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1503, 1658),
            Source("ask_channel", UST_CONSUMER, 602, 654),
            Source("consumer_allocate_channel", CONSUMER, 1003, 1117),
            Source("end_channel_error", UST_CONSUMER, 2314, 2334),
            Source("consumer_send_status_channel", CONSUMER, 3908, 3925),
        ),
        case_line={Abi.V2_13_9: 1503, Abi.R97535EFAA: 1487},
        state=(
            "a `lttng_consumer_channel` keyed by `key` with its shm ring buffers and streams "
            "(not yet monitored: they wait for GET_CHANNEL)",
            "metadata: a metadata cache; switch timer armed (the timer asks for metadata)",
            "data: live timer (live sessions) and monitor timer armed",
        ),
        preconditions=(
            Precondition(
                "`type` is LTTNG_UST_ABI_CHAN_PER_CPU or _METADATA (`assert(0)`, "
                "ust-consumer.c:1580)",
                "assertion failure: SIGABRT (reproducer crash-798ab06c3bc2); past the assert, "
                "`goto error_fatal` (ust-consumer.c:1581, 2336–2339) sends nothing and ends "
                "the command thread. ustref answers the command's failure reply instead, the "
                "status channel CHANNEL_FAIL of `end_channel_error` (ust-consumer.c:2314–2330), "
                "and stays up",
                aborts=True,
            ),
            Precondition(
                "`output` is a known `lttng_event_output` (`assert(0)` in "
                "`consumer_allocate_channel`, consumer.c:1059)",
                "assertion failure: SIGABRT (reproducer crash-283a072f4fa1); past the assert, "
                "`consumer_allocate_channel` returns NULL (consumer.c:1060–1062), so "
                "`goto end_channel_error` (ust-consumer.c:1531–1533) answers "
                "`consumer_send_status_channel(sock, NULL)` (ust-consumer.c:2326), a status "
                "channel carrying CHANNEL_FAIL (consumer.c:3916–3917): ustref answers that and "
                "stays up",
                aborts=True,
            ),
            Precondition(
                "a chunk id that is set names a trace chunk of the session's registry",
                "status_channel CHANNEL_FAIL",
            ),
            Precondition(
                "the buffers can be created (memory, shm path, buffer credentials)",
                "status_channel CHANNEL_FAIL; the channel is destroyed",
            ),
        ),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "created; `key` and `stream_count` are valid",
                tests=(
                    ""
                    "tests/consumerd/test_channels.py::test_data_channel_handover_and_monitor_timer",
                    "tests/consumerd/test_c_strings.py::"
                    "test_ask_channel_with_an_unterminated_string_is_answered",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL,
                "not created (key 0, stream_count 0); `end_channel_error`",
                tests=(
                    on_error_test("LTTNG_CONSUMER_ASK_CHANNEL_CREATION"),
                    "tests/consumerd/test_c_strings.py::"
                    "test_ask_channel_with_an_unterminated_shm_path_fails_like_c",
                    "tests/consumerd/test_refused_commands.py::"
                    "test_ask_channel_with_an_enum_out_of_range_answers_channel_fail",
                ),
            ),
        ),
        traffic=(
            Traffic(
                Peer.ERROR,
                True,
                "`LTTCOMM_CONSUMERD_OUTFD_ERROR` (ust-consumer.c:165)",
                "a stream cannot be allocated (ENOMEM, EINVAL)",
                "status_channel",
            ),
            Traffic(
                Peer.MONITOR, True, _MONITOR_NOTE, "a data channel, once the pipe is set", None
            ),
            Traffic(
                Peer.METADATA,
                True,
                "switch-timer metadata requests (see the metadata socket exchange)",
                "a metadata channel with switch_timer_interval > 0",
                None,
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL: Behaviour(
        purpose="Hand a created channel and its streams to the session daemon (which passes "
        "them to the application) and start consuming them.",
        actions=(
            "`consumer_find_channel(key)`",
            "`send_channel_to_sessiond_and_relayd`: if the channel streams to a relayd, "
            "`consumer_send_relayd_stream` for each stream (RELAYD_ADD_STREAM) first",
            "send status (SUCCESS or RELAYD_FAIL); on SUCCESS the ust-ctl channel "
            "(`lttng_ust_ctl_send_channel_to_sessiond`, wakeup fd), then "
            "`lttng_ust_ctl_channel_close_wakeup_fd` closes the consumer's own copy of the "
            "channel's wakeup fd (ust-consumer.c:555–563): once every application holding "
            "it is gone the channel thread sees the channel's wait fd hang up — how a "
            "per-PID channel ends (spec/per-pid-channel-end.md); then each stream "
            "(shm fd + wakeup fd), then the end-of-list marker",
            "monitored channel: `send_streams_to_thread` (data or metadata thread polls them; "
            "`channel->streams` is left empty, ust-consumer.c:1704–1712); an unmonitored "
            "channel keeps its streams there (1697–1703)",
            "send the final status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1659, 1720),
            Source("send_channel_to_sessiond_and_relayd", UST_CONSUMER, 505, 592),
            Source("send_streams_to_thread", UST_CONSUMER, 661, 689),
        ),
        case_line={Abi.V2_13_9: 1659, Abi.R97535EFAA: 1643},
        state=(
            "streams sent to the relayd get relayd stream ids",
            "monitored: streams owned by the data/metadata threads and polled; snapshot "
            "sessions keep them in the channel",
        ),
        preconditions=(
            Precondition("a channel has `key`", "single status CHAN_NOT_FOUND"),
            Precondition(
                "the relayd accepts every stream",
                "single status RELAYD_FAIL (the hand-over is skipped, the consumer goes on)",
            ),
            Precondition(
                "the hand-over and the thread hand-off succeed",
                "`error_fatal`: the consumer exits",
                aborts=True,
            ),
        ),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "first: the hand-over follows; final: done",
                tests=(
                    ""
                    "tests/consumerd/test_channels.py::test_data_channel_handover_and_monitor_timer",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND,
                "single status: no channel has `key`",
                tests=(UNKNOWN_KEY_TEST,),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL,
                "single status: a stream could not be announced to the relayd",
                tests=(
                    "tests/consumerd/test_relayd_sockets.py::test_get_channel_answers_relayd_fail_when_the_relay_is_gone",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
                "final status, ustref only: the hand-over failed, where C goes to "
                "`error_get_channel_fatal` and exits",
                tests=(on_error_test("LTTNG_CONSUMER_GET_CHANNEL"),),
                only="ustref",
            ),
        ),
        traffic=(*_add_stream("the channel streams to a relayd (per stream)", "status.before"),),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL: Behaviour(
        purpose="Drop a channel whose streams were never handed to the threads "
        "(application gone before GET_CHANNEL completed).",
        actions=(
            "`notify_thread_del_channel(ctx, key)`: write the key to the channel thread's "
            "pipe; that thread deletes the channel",
            "send status SUCCESS",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1721, 1732),
            Source("notify_thread_del_channel", CONSUMER, 143, 147),
        ),
        case_line={Abi.V2_13_9: 1721, Abi.R97535EFAA: 1705},
        state=("the channel and its unsent streams are torn down asynchronously",),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "always, even for an unknown key",
                tests=(UNKNOWN_KEY_TEST, on_error_test("LTTNG_CONSUMER_DESTROY_CHANNEL")),
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA: Behaviour(
        purpose="Append (or, with a new version, replace) metadata in a metadata channel's "
        "cache, for the metadata thread to write out.",
        actions=(
            "`consumer_find_channel(key)`",
            "len = 0: reply the lookup result only",
            "send status SUCCESS (ready), poll the command socket",
            "`lttng_ustconsumer_recv_metadata`: allocate `len` bytes, receive them, "
            "`consumer_metadata_cache_write(offset, len, version)` — whose parameters are "
            "`unsigned int` (consumer-metadata-cache.c:77–79): the u64 `target_offset` and "
            "`len` are narrowed to 32 bits; a new version resets "
            "the stream's consumed position; wake the metadata thread",
            "wait until the metadata thread has consumed the cache up to offset+len "
            "(`consumer_metadata_cache_flushed`, then `usleep`, ust-consumer.c:1367–1373, "
            "of `DEFAULT_METADATA_AVAILABILITY_WAIT_TIME`, 200000 µs, defaults.h:302: "
            "200 ms sleeps)",
            "the metadata thread, on reading a sub-buffer of a new version "
            "(`metadata_stream_check_version`, consumer-stream.c:474–491), sets the stream's "
            "reset flag: a local metadata file is truncated to 0 "
            "(`utils_truncate_stream_file`, consumer.c:1694–1701), a relayd gets "
            "RELAYD_RESET_METADATA before the next packet (`relayd_reset_metadata`, "
            "consumer.c:1661–1669)",
            "send the final status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1767, 1836),
            Source("lttng_ustconsumer_recv_metadata", UST_CONSUMER, 1276, 1379),
        ),
        case_line={Abi.V2_13_9: 1767, Abi.R97535EFAA: 1751},
        state=("the channel's metadata cache (contents, max offset, version)",),
        preconditions=(
            Precondition("a channel has `key`", "single status CHANNEL_FAIL (a tolerated race)"),
            Precondition(
                "`len` bytes can be allocated",
                "final status ENOMEM *without reading the payload*: its bytes stay on the "
                "socket and are read as the next command",
            ),
            Precondition(
                "the bytes arrive",
                "`error_fatal`: the consumer exits",
                aborts=True,
            ),
        ),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "first: send the bytes; final: cached and consumed up to offset+len",
                tests=(
                    "tests/consumerd/test_channels.py::"
                    "test_metadata_goes_through_the_ring_into_the_metadata_file",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL,
                "single status: no channel has `key`",
                tests=(REPLY_CODES + "test_push_metadata_to_an_unknown_channel",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA,
                "final: the cache write failed or the metadata thread could not be woken",
                tests=(
                    "tests/consumerd/test_error_boundary.py::"
                    "test_a_writer_failure_after_the_first_status_answers_the_second",
                    on_error_test("LTTNG_CONSUMER_PUSH_METADATA"),
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ENOMEM,
                "final: no memory for the payload (left unread; ustref reads `len` bytes as "
                "they come)",
                only="C",
            ),
        ),
        traffic=(
            *_relayd(
                "RELAYD_SEND_METADATA (lttcomm_relayd_metadata_payload + bytes)",
                "none (no reply)",
                "the metadata thread writes the new metadata and the channel streams to a relayd",
                _STATUS_LAST,
            ),
            *_relayd(
                "RELAYD_RESET_METADATA (stream id, new version)",
                "`lttcomm_relayd_generic_reply`",
                "a new metadata version and the channel streams to a relayd",
                _STATUS_LAST,
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA: Behaviour(
        purpose="Close a metadata channel (session destroy, or the app's per-PID registry "
        "going away).",
        actions=(
            "`close_metadata(key)`: `lttng_ustconsumer_close_metadata` closes the metadata "
            "stream's poll pipe, which makes the metadata thread tear the stream (and the "
            "channel) down after writing what remains",
            "snapshot-mode channel: `consumer_del_channel` at once",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1733, 1743),
            Source("close_metadata", UST_CONSUMER, 798, 868),
            Source("lttng_ustconsumer_close_metadata", UST_CONSUMER, 3228, 3259),
        ),
        case_line={Abi.V2_13_9: 1733, Abi.R97535EFAA: 1717},
        state=("metadata stream closed; the channel deleted",),
        preconditions=(
            Precondition("a channel has `key`", "status LTTNG_ERR_UST_CHAN_NOT_FOUND"),
            Precondition(
                "the channel is a metadata channel "
                "(`assert(metadata->type == CONSUMER_CHANNEL_TYPE_METADATA)`, ust-consumer.c:3233)",
                "assertion failure on a data channel's key: SIGABRT "
                "(reproducer crash-026b44a01cd5)",
                aborts=True,
            ),
        ),
        codes=(
            tested(
                OK,
                "tests/consumerd/test_channels.py::"
                "test_metadata_goes_through_the_ring_into_the_metadata_file",
                on_error_test("LTTNG_CONSUMER_CLOSE_METADATA"),
            ),
            tested(UST_CHAN_NOT_FOUND, UNKNOWN_KEY_TEST),
        ),
        traffic=(
            *_close_stream(
                "the metadata stream was sent to a relayd (from the metadata "
                "thread, after the reply)",
                None,
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA: Behaviour(
        purpose="Start consuming a monitored metadata channel: announce its stream to the "
        "relayd and give it to the metadata thread.",
        actions=(
            "`setup_metadata(ctx, key)`: find the channel; snapshot-mode: nothing to do",
            "if the stream goes to a relayd: `consumer_send_relayd_stream` "
            "(RELAYD_ADD_STREAM) then `consumer_send_relayd_streams_sent` (RELAYD_STREAMS_SENT)",
            "`send_streams_to_thread`: the metadata thread polls it",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1837, 1846),
            Source("setup_metadata", UST_CONSUMER, 875, 957),
        ),
        case_line={Abi.V2_13_9: 1837, Abi.R97535EFAA: 1821},
        state=("the metadata stream moves to the metadata thread",),
        preconditions=(
            Precondition("a channel has `key`", "status LTTNG_ERR_UST_CHAN_NOT_FOUND"),
            Precondition(
                "the monitored channel still has its stream",
                "status ERROR_METADATA",
            ),
        ),
        codes=(
            tested(
                OK,
                "tests/consumerd/test_channels.py::"
                "test_metadata_goes_through_the_ring_into_the_metadata_file",
            ),
            tested(UST_CHAN_NOT_FOUND, UNKNOWN_KEY_TEST),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA,
                "no stream, or RELAYD_ADD_STREAM failed or found no relayd (the stream is "
                "destroyed, and with its channel's last reference the channel: "
                "`unref_channel`)",
                tests=(
                    REPLY_CODES + "test_setup_metadata_of_a_monitored_channel_without_its_stream",
                    HOSTILE_METADATA_ANNOUNCEMENT + "[add-stream]",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL,
                "RELAYD_STREAMS_SENT failed (the stream and its channel are destroyed too)",
                tests=(
                    "tests/consumerd/test_relayd_sockets.py::"
                    "test_setup_metadata_answers_relayd_fail_when_streams_sent_fails",
                    HOSTILE_METADATA_ANNOUNCEMENT + "[streams-sent]",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
                "the metadata thread could not take the stream",
                tests=(on_error_test("LTTNG_CONSUMER_SETUP_METADATA"),),
            ),
        ),
        traffic=(
            *_add_stream("the metadata stream goes to a relayd", "status"),
            *_relayd(
                "RELAYD_STREAMS_SENT",
                "`lttcomm_relayd_generic_reply`",
                "the metadata stream goes to a relayd",
                "status",
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL: Behaviour(
        purpose="Close the current packet of every stream of a channel (stop, rotation).",
        actions=(
            "`flush_channel(key)`: for each stream of the channel in `stream_per_chan_id_ht` "
            "(the data and metadata threads' streams: an unmonitored channel's are never "
            "there) not quiescent, `lttng_ust_ctl_flush_buffer(stream, 0)` and mark it "
            "quiescent",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1744, 1754),
            Source("flush_channel", UST_CONSUMER, 696, 749),
        ),
        case_line={Abi.V2_13_9: 1744, Abi.R97535EFAA: 1728},
        state=("streams quiescent (a later flush is a no-op until CLEAR_QUIESCENT_CHANNEL)",),
        preconditions=(Precondition("a channel has `key`", "status LTTNG_ERR_UST_CHAN_NOT_FOUND"),),
        codes=(
            tested(OK, REPLY_CODES + "test_flush_channel_of_a_known_channel"),
            tested(UST_CHAN_NOT_FOUND, UNKNOWN_KEY_TEST),
            Code(
                LttngErrorCode.LTTNG_ERR_BUFFER_FLUSH_FAILED,
                "a stream's flush failed",
                tests=(
                    "tests/consumerd/test_error_boundary.py::"
                    "test_a_flush_failure_answers_buffer_flush_failed",
                    on_error_test("LTTNG_CONSUMER_FLUSH_CHANNEL"),
                ),
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL: Behaviour(
        purpose="Write a snapshot of one channel of a snapshot (unmonitored) session, to the "
        "local chunk or to a relayd.",
        actions=(
            "`consumer_find_channel(key)`",
            "metadata = 1: `snapshot_metadata` — ask the session daemon for new metadata on "
            "the metadata socket (`lttng_ustconsumer_request_metadata`, wait), create the "
            "metadata stream, announce it to the relayd (RELAYD_ADD_STREAM) or create its "
            "output file, read every metadata sub-buffer "
            "(`lttng_consumer_read_subbuffer`: RELAYD_SEND_METADATA per packet), then "
            "destroy the stream (RELAYD_CLOSE_STREAM)",
            "metadata = 0: `snapshot_channel` — per stream: RELAYD_ADD_STREAM or output "
            "files, flush if active, take the snapshot positions, start "
            "`nb_packets_per_stream` packets back, send each packet "
            "(relay data socket: `lttcomm_relayd_data_hdr` + packet), close the stream "
            "(RELAYD_CLOSE_STREAM)",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1847, 1894),
            Source("snapshot_metadata", UST_CONSUMER, 965, 1039),
            Source("snapshot_channel", UST_CONSUMER, 1076, 1255),
            Source("lttng_ustconsumer_request_metadata", UST_CONSUMER, 3314, 3438),
        ),
        case_line={Abi.V2_13_9: 1847, Abi.R97535EFAA: 1831},
        state=(
            "metadata: the metadata cache is updated; a metadata stream lives only during "
            "the command",
            "data: packets skipped because the writer overtook them count as lost packets",
        ),
        preconditions=(
            Precondition("a channel has `key`", "status CHAN_NOT_FOUND"),
            Precondition(
                "the channel is not monitored (`assert(!channel->monitor)`, ust-consumer.c:980 "
                "and 1095)",
                "assertion failure for a normal session's channel: SIGABRT "
                "(reproducer crash-08740e201743)",
                aborts=True,
            ),
            Precondition(
                "the data channel has a trace chunk (`assert(channel->trace_chunk)`, "
                "ust-consumer.c:1103) "
                "and its streams none yet (`assert(!stream->trace_chunk)`, ust-consumer.c:1113)",
                "assertion failure: SIGABRT",
                aborts=True,
            ),
            Precondition(
                "the metadata reply names this channel (`assert(key == channel->key)`, "
                "ust-consumer.c:3402)",
                "assertion failure: SIGABRT — a peer's metadata-socket bytes",
                aborts=True,
            ),
        ),
        codes=(
            tested(
                OK,
                "tests/consumerd/test_ring_backend.py::"
                "test_metadata_snapshots_create_the_stream_again_each_time",
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_CHAN_NOT_FOUND,
                "no channel has `key`",
                tests=(REPLY_CODES + "test_snapshot_of_an_unknown_channel",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED,
                "a stream, file, relayd or ring operation failed",
                tests=(
                    "tests/consumerd/test_metadata_request.py::"
                    "test_a_wrong_reply_ends_the_request_without_killing_the_core",
                    on_error_test("LTTNG_CONSUMER_SNAPSHOT_CHANNEL"),
                ),
            ),
        ),
        traffic=(
            *_metadata_exchange("status", "metadata = 1"),
            *_add_stream("metadata = 1 and relayd_id != -1", "status"),
            Traffic(
                Peer.RELAYD_CONTROL,
                True,
                "`RELAYD_SEND_METADATA` + metadata packet, per sub-buffer (no reply)",
                "metadata = 1 and relayd_id != -1",
                "status",
            ),
            *_close_stream("metadata = 1 and relayd_id != -1", "status"),
            *_add_stream("metadata = 0 and relayd_id != -1 (per stream)", "status"),
            Traffic(
                Peer.RELAYD_DATA,
                True,
                "`lttcomm_relayd_data_hdr` + packet, per packet (no reply)",
                "metadata = 0 and relayd_id != -1",
                "status",
            ),
            *_close_stream("metadata = 0 and relayd_id != -1 (per stream)", "status"),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_METADATA: Behaviour(
        purpose="Unused: metadata snapshots go through SNAPSHOT_CHANNEL with metadata = 1.",
        actions=(
            "falls to `default: break` (ust-consumer.c:2284): nothing is done, nothing is sent",
        ),
        sources=(Source("lttng_ustconsumer_recv_cmd default", UST_CONSUMER, 2284, 2294),),
        case_line={Abi.V2_13_9: 2284, Abi.R97535EFAA: 2268},
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_STREAMS_SENT: Behaviour(
        purpose="Kernel-consumer command (all streams of a channel sent); ignored here: the "
        "UST consumer sends RELAYD_STREAMS_SENT itself.",
        actions=(
            "falls to `default: break` (ust-consumer.c:2284): nothing is done, nothing is sent",
        ),
        sources=(Source("lttng_ustconsumer_recv_cmd default", UST_CONSUMER, 2284, 2294),),
        case_line={Abi.V2_13_9: 2284, Abi.R97535EFAA: 2268},
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS: Behaviour(
        purpose="Events discarded so far in a channel (discard mode), for `lttng list`/stop.",
        actions=(
            "find the first stream of `session_id` in `stream_list_ht` whose channel has "
            "`channel_key`; read `chan->discarded_events` (0 if none: an unmonitored channel's "
            "streams are never in `stream_list_ht`)",
            "send it as a raw `uint64`",
        ),
        sources=(Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1895, 1945),),
        case_line={Abi.V2_13_9: 1895, Abi.R97535EFAA: 1879},
        codes=(
            Code(
                0,
                "the count (0 also for an unknown channel or session)",
                tests=("tests/consumerd/test_core.py::test_lost_packets_and_discarded_events",),
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS: Behaviour(
        purpose="Packets lost so far in a channel (overwrite mode, snapshots).",
        actions=(
            "as DISCARDED_EVENTS with `chan->lost_packets`: 0 for an unmonitored (snapshot) "
            "channel, although its snapshots count the packets they lose in "
            "`chan->lost_packets` — its streams are not in `stream_list_ht`",
            "send it as a raw `uint64`",
        ),
        sources=(Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1946, 1996),),
        case_line={Abi.V2_13_9: 1946, Abi.R97535EFAA: 1930},
        codes=(
            Code(
                0,
                "the count (0 also for an unknown channel or session)",
                tests=("tests/consumerd/test_core.py::test_lost_packets_and_discarded_events",),
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL: Behaviour(
        purpose="Let FLUSH_CHANNEL flush a channel's streams again (start after stop).",
        actions=(
            "`clear_quiescent_channel(key)`: `quiescent` = false for every stream of the "
            "channel in `stream_per_chan_id_ht` (not an unmonitored channel's)",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1755, 1766),
            Source("clear_quiescent_channel", UST_CONSUMER, 757, 791),
        ),
        case_line={Abi.V2_13_9: 1755, Abi.R97535EFAA: 1739},
        state=("streams not quiescent",),
        preconditions=(Precondition("a channel has `key`", "status LTTNG_ERR_UST_CHAN_NOT_FOUND"),),
        codes=(
            tested(
                OK,
                ""
                "tests/consumerd/test_core.py::test_clear_quiescent_channel_lets_streams_be_flushed_again",
                on_error_test("LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL"),
            ),
            tested(UST_CHAN_NOT_FOUND, UNKNOWN_KEY_TEST),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE: Behaviour(
        purpose="Give the consumer the write end of the session daemon's channel-monitor pipe.",
        actions=(
            "send status SUCCESS (ready for the fd), receive one fd",
            "`consumer_timer_thread_set_channel_monitor_pipe`: keep it unless one is set "
            "(then ALREADY_SET, and the new fd is neither used nor closed: it leaks, "
            "ust-consumer.c:2017–2043); make it non-blocking",
            "send the final status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 1997, 2045),
            Source("consumer_timer_thread_set_channel_monitor_pipe", CONSUMER_TIMER, 718, 730),
        ),
        case_line={Abi.V2_13_9: 1997, Abi.R97535EFAA: 1981},
        state=("the monitor timers of data channels write their samples to this pipe",),
        preconditions=(
            Precondition("the fd arrives", "`error_fatal`: the consumer exits", aborts=True),
        ),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "first: send the fd; final: pipe set",
                tests=("tests/consumerd/test_core.py::test_monitor_pipe_waits_for_its_fd",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET,
                "final: a pipe was set before (kept; ustref closes the new fd, C leaks it)",
                tests=(REPLY_CODES + "test_a_second_monitor_pipe_is_already_set",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
                "final status, ustref only: no fd or `fcntl` failed, where C goes to "
                "`error_fatal` and exits",
                tests=(
                    "tests/consumerd/test_error_boundary.py::"
                    "test_a_monitor_pipe_failure_after_the_fd_answers_fatal",
                    on_error_test("LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE"),
                ),
                only="ustref",
            ),
        ),
        traffic=(Traffic(Peer.MONITOR, True, _MONITOR_NOTE, "from then on, per data channel"),),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL: Behaviour(
        purpose="Rotate a channel to the session's new trace chunk: sample each stream's "
        "rotation position, answer, then rotate the streams already past it.",
        actions=(
            "`consumer_find_channel(key)`",
            "`lttng_consumer_rotate_channel` over the channel's streams in "
            "`stream_per_chan_id_ht` (an unmonitored channel's are never there): a stream "
            "whose `trace_chunk` is NULL is not flushed (consumer.c:4042); otherwise an active "
            "flush "
            "for a metadata stream or a stream that opened a packet in this chunk, else an "
            "active flush only if data was produced since the last consumption and an empty "
            "one if not (consumer.c:4043–4131); then the rotate position, a *packet sequence "
            "number*: `last_sequence_number + 1 + (produced − consumed) / max_sb_size`, "
            "produced floored to a sub-buffer (consumer.c:4157–4189); remember the new "
            "chunk; for a relayd, send RELAYD_ROTATE_STREAMS with every stream's position",
            "send status *before* rotating",
            "`lttng_consumer_rotate_ready_streams`: rotate the streams whose consumed position "
            "already reached their rotation position; the data/metadata threads rotate the "
            "others when they get there (`lttng_consumer_rotate_stream`: close the files, open "
            "new ones in the new chunk)",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 2046, 2102),
            Source("lttng_consumer_rotate_channel", CONSUMER, 3983, 4354),
            Source("lttng_consumer_rotate_ready_streams", CONSUMER, 4652, 4693),
        ),
        case_line={Abi.V2_13_9: 2046, Abi.R97535EFAA: 2030},
        state=(
            "each stream's `rotate_position` and its next trace chunk; rotation completes "
            "asynchronously — the session daemon learns it by polling: CLOSE_TRACE_CHUNK of "
            "the old chunk, then TRACE_CHUNK_EXISTS until UNKNOWN_TRACE_CHUNK",
        ),
        preconditions=(
            Precondition("a channel has `key`", "status CHAN_NOT_FOUND"),
            Precondition(
                "the channel has a trace chunk (`assert(channel->trace_chunk)`, consumer.c:4010)",
                "assertion failure: SIGABRT",
                aborts=True,
            ),
        ),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "positions sampled; rotation under way",
                tests=("tests/consumerd/test_core.py::test_rotate_channel_statuses",),
            ),
            tested(CHAN_NOT_FOUND, "tests/consumerd/test_core.py::test_rotate_channel_statuses"),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ROTATION_FAIL,
                "sampling or RELAYD_ROTATE_STREAMS failed",
                tests=(
                    "tests/consumerd/test_core.py::test_rotate_channel_statuses",
                    on_error_test("LTTNG_CONSUMER_ROTATE_CHANNEL"),
                ),
            ),
        ),
        traffic=(
            *_relayd(
                "RELAYD_ROTATE_STREAMS (new chunk id, per-stream rotation positions)",
                "`lttcomm_relayd_generic_reply`",
                "the channel streams to a relayd",
                "status",
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_INIT: Behaviour(
        purpose="First command: the session daemon's UUID (sessiond-scoped trace chunk "
        "registries).",
        actions=("`lttng_consumer_init_command`: record `sessiond_uuid` once", "send status"),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 2132, 2145),
            Source("lttng_consumer_init_command", CONSUMER, 4695, 4714),
        ),
        case_line={Abi.V2_13_9: 2132, Abi.R97535EFAA: 2116},
        state=("the session daemon UUID",),
        codes=(
            tested(OK, "tests/consumerd/test_core.py::test_init_then_already_set"),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET,
                "a UUID was set before (kept)",
                tests=("tests/consumerd/test_core.py::test_init_then_already_set",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
                "ustref only: its handler failed (`lttng_consumer_init_command` cannot fail)",
                tests=(on_error_test("LTTNG_CONSUMER_INIT"),),
                only="ustref",
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK: Behaviour(
        purpose="Create a session's trace chunk (session start, rotation, snapshot), locally "
        "in a directory the session daemon opened, or on a relayd.",
        actions=(
            "local chunk (`relayd_id.is_set` = 0): send status SUCCESS, receive the chunk's "
            "domain directory fd",
            "`lttng_consumer_create_trace_chunk`: create the chunk in the consumer's "
            "registry (session id, chunk id, creation time, override name, credentials)",
            "remote chunk: RELAYD_CREATE_TRACE_CHUNK to the relayd; refused, the creation is "
            "rolled back (`lttng_consumer_close_trace_chunk`, consumer.c:4877–4887): "
            "RELAYD_CLOSE_TRACE_CHUNK at the creation timestamp, no close command, its "
            "failure only logged",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 2146, 2215),
            Source("lttng_consumer_create_trace_chunk", CONSUMER, 4716, 4903),
        ),
        case_line={Abi.V2_13_9: 2146, Abi.R97535EFAA: 2130},
        state=(
            "a trace chunk in the consumer's registry, keyed by (sessiond uuid, session, chunk id)",
        ),
        preconditions=(
            Precondition(
                "`creation_timestamp` is not 0 (`assert`, consumer.c:4747)",
                "assertion failure: SIGABRT (reproducer crash-5a5152446e05)",
                aborts=True,
            ),
            Precondition(
                "a local chunk's directory fd arrives and can be `fstat`ed "
                "(`lttng_directory_handle_create_from_dirfd`, directory-handle.c:151–176: "
                "nothing checks that it is a directory)",
                "`error_fatal`: the consumer exits",
                aborts=True,
            ),
            Precondition(
                "a local chunk comes with credentials (`credentials.is_set` = 1)",
                "`lttng_trace_chunk_set_credentials` (trace-chunk.c:982–1001) dereferences the "
                "NULL credentials (called at consumer.c:4794): SIGSEGV "
                "(reproducer crash-ebf50ad5f1a4)",
                aborts=True,
            ),
        ),
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
                "local: first = send the fd; final: created",
                tests=("tests/consumerd/test_core.py::test_trace_chunk_exists",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED,
                "the chunk, its directory or the relayd chunk could not be made, or "
                "`is_valid_chunk_name` refuses the override name (trace-chunk.c:670–688: "
                "empty, as long as its array, or holding `/` or `.`)",
                tests=(
                    "tests/consumerd/test_error_boundary.py::"
                    "test_a_chunk_failure_after_the_fd_answers_the_second_status",
                    on_error_test("LTTNG_CONSUMER_CREATE_TRACE_CHUNK"),
                    "tests/consumerd/test_c_strings.py::"
                    "test_an_unterminated_override_name_fails_the_chunk",
                    "tests/consumerd/test_hostile_peers.py::"
                    "test_a_refused_chunk_creation_is_closed_on_the_relay",
                ),
            ),
        ),
        traffic=(
            *_relayd(
                "RELAYD_CREATE_TRACE_CHUNK",
                "`lttcomm_relayd_generic_reply`",
                "relayd_id.is_set = 1",
                "status.ready",
            ),
            *_relayd(
                "RELAYD_CLOSE_TRACE_CHUNK",
                "`lttcomm_relayd_close_trace_chunk_reply` + path",
                "the relayd refused RELAYD_CREATE_TRACE_CHUNK (the roll-back)",
                "status.ready",
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK: Behaviour(
        purpose="Close a trace chunk (end of rotation, destroy), optionally with a close "
        "command (move to completed/, delete).",
        actions=(
            "`lttng_consumer_close_trace_chunk`: set the chunk's close timestamp and, if given, "
            "its close command (`lttng_trace_chunk_set_close_command`, consumer.c:4960–4967), "
            "detach the chunk from every channel using it and release the consumer's "
            "reference; the close command runs when the chunk's last reference drops "
            "(its release, once the last stream left it), not here",
            "remote: RELAYD_CLOSE_TRACE_CHUNK, whose reply gives the closed chunk's path",
            "send `lttcomm_consumer_close_trace_chunk_reply` (ret_code, path_length) then the path",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 2216, 2248),
            Source("lttng_consumer_close_trace_chunk", CONSUMER, 4905, 5031),
        ),
        case_line={Abi.V2_13_9: 2216, Abi.R97535EFAA: 2200},
        state=("the chunk leaves the registry once unreferenced",),
        codes=(
            tested(OK, REPLY_CODES + "test_close_of_a_created_chunk"),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK,
                "no such chunk",
                tests=("tests/consumerd/test_core.py::test_close_of_an_unknown_chunk",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED,
                "the close timestamp or command could not be set, or the relayd failed",
                tests=(on_error_test("LTTNG_CONSUMER_CLOSE_TRACE_CHUNK"),),
            ),
        ),
        traffic=(
            *_relayd(
                "RELAYD_CLOSE_TRACE_CHUNK",
                "`lttcomm_relayd_close_trace_chunk_reply` + path",
                "relayd_id.is_set = 1",
                "close_trace_chunk_reply",
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS: Behaviour(
        purpose="Is the chunk still open here (or on the relayd)? Polled by the session "
        "daemon after a rotation until the chunk is gone.",
        actions=(
            "`lttng_consumer_trace_chunk_exists`: look the chunk up, locally or on the relayd",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 2249, 2260),
            Source("lttng_consumer_trace_chunk_exists", CONSUMER, 5033, 5106),
        ),
        case_line={Abi.V2_13_9: 2249, Abi.R97535EFAA: 2234},
        codes=(
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_LOCAL,
                "open in this consumer",
                tests=("tests/consumerd/test_core.py::test_trace_chunk_exists",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_REMOTE,
                "open on the relayd",
                tests=(
                    "tests/consumerd/test_relayd_sockets.py::test_trace_chunk_exists_asks_the_relay_daemon",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK,
                "closed: the rotation is complete",
                tests=("tests/consumerd/test_core.py::test_trace_chunk_exists",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS,
                "unknown relayd id",
                tests=(
                    "tests/consumerd/test_relayd_sockets.py::test_trace_chunk_exists_of_an_unknown_relay_daemon_is_invalid",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL,
                "the relayd query failed",
                tests=(
                    "tests/consumerd/test_relayd_sockets.py::test_trace_chunk_exists_asks_the_relay_daemon",
                ),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
                "the registry lookup failed",
                tests=(on_error_test("LTTNG_CONSUMER_TRACE_CHUNK_EXISTS"),),
            ),
        ),
        traffic=(
            *_relayd(
                "RELAYD_TRACE_CHUNK_EXISTS",
                "`lttcomm_relayd_trace_chunk_exists_reply`",
                "relayd_id.is_set = 1 and not open locally",
                "status",
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL: Behaviour(
        purpose="Discard the contents of a channel's buffers (`lttng clear`).",
        actions=(
            "`lttng_consumer_clear_channel`: metadata channel: nothing; otherwise each stream "
            "(`consumer_clear_stream`): flush the active packet (`consumer_stream_flush_buffer`, "
            "producer active) then `consumer_clear_buffer` (lttng_ust_ctl_clear_buffer)",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 2103, 2131),
            Source("lttng_consumer_clear_channel", CONSUMER, 5146, 5170),
        ),
        case_line={Abi.V2_13_9: 2103, Abi.R97535EFAA: 2087},
        state=("ring buffers emptied; consumed positions moved",),
        preconditions=(Precondition("a channel has `key`", "status CHAN_NOT_FOUND"),),
        codes=(
            tested(
                OK,
                "tests/consumerd/test_ring_backend.py::"
                "test_clear_channel_empties_data_streams_and_spares_metadata",
            ),
            tested(CHAN_NOT_FOUND, UNKNOWN_KEY_TEST),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
                "a stream could not be flushed or cleared",
                tests=(on_error_test("LTTNG_CONSUMER_CLEAR_CHANNEL"),),
            ),
        ),
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS: Behaviour(
        purpose="Open a packet in every stream of a channel (after start/rotation, so "
        "that empty streams still produce a packet with a beginning timestamp).",
        actions=(
            "`lttng_consumer_open_channel_packets`: `consumer_stream_open_packet` (an empty "
            "flush) per stream of `channel->streams` (consumer.c:5185) — the list GET_CHANNEL "
            "empties when it hands a monitored channel's streams to the data thread: for a "
            "monitored channel already handed over it opens nothing; an unmonitored "
            "channel's streams, and a monitored one's before GET_CHANNEL, get their packet",
            "send status",
        ),
        sources=(
            Source("lttng_ustconsumer_recv_cmd", UST_CONSUMER, 2261, 2283),
            Source("lttng_consumer_open_channel_packets", CONSUMER, 5172, 5237),
        ),
        case_line={Abi.V2_13_9: 2261, Abi.R97535EFAA: 2246},
        preconditions=(
            Precondition(
                "a channel has `key`", "status CHAN_NOT_FOUND (per-PID channels may be gone)"
            ),
        ),
        codes=(
            tested(
                OK, REPLY_CODES + "test_open_channel_packets_walks_only_the_channels_own_streams"
            ),
            tested(CHAN_NOT_FOUND, UNKNOWN_KEY_TEST),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_INVALID_PARAMETERS,
                "the channel has a metadata stream (`metadata_stream`, consumer.c:5178; a "
                "snapshot-mode metadata channel has none between snapshots: SUCCESS)",
                tests=(REPLY_CODES + "test_open_channel_packets_of_a_metadata_channel_is_invalid",),
            ),
            Code(
                LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_ERROR,
                "opening a packet failed",
                tests=(on_error_test("LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS"),),
            ),
        ),
    ),
}


_ON_ERROR: Mapping[LttngConsumerCommand, Code] = {
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        "consumer_add_relayd_socket after the fd (consumer.c 3672-3678): FATAL",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_RELAYD_FAIL, "no such relayd (ust-consumer.c 1454)"
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DATA_PENDING: Code(
        0, "consumer_data_pending's `data_not_pending` (consumer.c 3879): 0"
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL,
        "end_channel_error: consumer_send_status_channel(sock, NULL) (ust-consumer.c 2314-2330)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        "C goes to error_get_channel_fatal and stops (ust-consumer.c 1691, 1710, 1717); "
        "ustref answers FATAL and goes on",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_CHANNEL: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        "notify_thread_del_channel cannot fail the command (ust-consumer.c 1721-1732)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA,
        "lttng_ustconsumer_recv_metadata's failure (ust-consumer.c 1823-1829)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_METADATA: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        "close_metadata ignores lttng_ustconsumer_close_metadata's result (ust-consumer.c 826)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_SETUP_METADATA: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        "setup_metadata: send_streams_to_thread failed (ust-consumer.c 1108-1115)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_FLUSH_CHANNEL: Code(
        LttngErrorCode.LTTNG_ERR_BUFFER_FLUSH_FAILED,
        "flush_channel: a flush failed (ust-consumer.c 733-737)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED,
        "snapshot_channel failed (ust-consumer.c 1868-1883)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_DISCARDED_EVENTS: Code(
        0, "the count when no stream matches (ust-consumer.c 1919): 0"
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_LOST_PACKETS: Code(
        0, "the count when no stream matches (ust-consumer.c 1969): 0"
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_QUIESCENT_CHANNEL: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        "clear_quiescent_channel fails only on an unknown key (ust-consumer.c 757-796)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        "C goes to error_fatal and stops (ust-consumer.c 2007-2038); ustref answers FATAL",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_ROTATE_CHANNEL: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_ROTATION_FAIL,
        "lttng_consumer_rotate_channel failed (ust-consumer.c 2066-2070)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_INIT: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        "lttng_consumer_init_command cannot fail (consumer.c 4695-4714); ustref answers FATAL",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED,
        "lttng_consumer_create_trace_chunk failed (consumer.c 4780-4811)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED,
        "lttng_consumer_close_trace_chunk failed (consumer.c 4905-5032); empty path",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_TRACE_CHUNK_EXISTS: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        "lttng_consumer_trace_chunk_exists: lookup failure (consumer.c 5065)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_CLEAR_CHANNEL: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_FATAL,
        "consumer_clear_stream: flush or clear failed (consumer.c 4415-4427)",
    ),
    LttngConsumerCommand.LTTNG_CONSUMER_OPEN_CHANNEL_PACKETS: Code(
        LttcommReturnCode.LTTCOMM_CONSUMERD_UNKNOWN_ERROR,
        "lttng_consumer_open_channel_packets: a stream failed (consumer.c 5219)",
    ),
}
"""Per command, the C consumer's failure reply (:attr:`Behaviour.on_error`). Commands
that answer nothing (ADD_CHANNEL, ADD_STREAM, UPDATE_STREAM, STOP, SNAPSHOT_METADATA,
STREAMS_SENT) have none."""

BEHAVIOUR = {
    cmd: dataclasses.replace(behaviour, on_error=_ON_ERROR.get(cmd))
    for cmd, behaviour in BEHAVIOUR.items()
}


def _step_names(steps: tuple[Step, ...]) -> set[str]:
    names: set[str] = set()
    for step in steps:
        names.add(step.name)
        if isinstance(step, StreamList):
            names |= _step_names(step.stream)
    return names


def check_table() -> list[str]:
    """Problems of :data:`BEHAVIOUR`: missing commands, ``before`` naming no reply step."""
    problems = [f"{c.name}: no behaviour" for c in LttngConsumerCommand if c not in BEHAVIOUR]
    for command, behaviour in BEHAVIOUR.items():
        for abi in ALL_ABIS:
            names = _step_names(command_steps(abi, command))
            problems += [
                f"{command.name}: traffic before unknown step {t.before!r}"
                for t in behaviour.traffic
                if t.before is not None and t.before not in names
            ]
    return problems
