"""Session daemon ↔ consumer daemon messages (``lttcomm_consumer_*``).

Mirrors the consumer part of ``src/common/sessiond-comm/sessiond-comm.h`` at
lttng-tools v2.13.9 and 97535efaa, plus the enums these messages carry.
"""

from __future__ import annotations

import dataclasses
import enum

from construct_typed import csfield

from ustref.protocol.fields import StrictEnum, WireStruct, c_enum, u32, u64
from ustref.protocol.registry import Protocol, register_enums, struct

HEADER = "src/common/sessiond-comm/sessiond-comm.h"


@c_enum("lttcomm_return_code")
class LttcommReturnCode(enum.IntEnum):
    """Mirrors ``enum lttcomm_return_code``, sessiond-comm.h (same values in both ABIs)."""

    LTTCOMM_CONSUMERD_SUCCESS = 0
    LTTCOMM_CONSUMERD_COMMAND_SOCK_READY = 100
    LTTCOMM_CONSUMERD_SUCCESS_RECV_FD = 101
    LTTCOMM_CONSUMERD_ERROR_RECV_FD = 102
    LTTCOMM_CONSUMERD_ERROR_RECV_CMD = 103
    LTTCOMM_CONSUMERD_POLL_ERROR = 104
    LTTCOMM_CONSUMERD_POLL_NVAL = 105
    LTTCOMM_CONSUMERD_POLL_HUP = 106
    LTTCOMM_CONSUMERD_EXIT_SUCCESS = 107
    LTTCOMM_CONSUMERD_EXIT_FAILURE = 108
    LTTCOMM_CONSUMERD_OUTFD_ERROR = 109
    LTTCOMM_CONSUMERD_SPLICE_EBADF = 110
    LTTCOMM_CONSUMERD_SPLICE_EINVAL = 111
    LTTCOMM_CONSUMERD_SPLICE_ENOMEM = 112
    LTTCOMM_CONSUMERD_SPLICE_ESPIPE = 113
    LTTCOMM_CONSUMERD_ENOMEM = 114
    LTTCOMM_CONSUMERD_ERROR_METADATA = 115
    LTTCOMM_CONSUMERD_FATAL = 116
    LTTCOMM_CONSUMERD_RELAYD_FAIL = 117
    LTTCOMM_CONSUMERD_CHANNEL_FAIL = 118
    LTTCOMM_CONSUMERD_CHAN_NOT_FOUND = 119
    LTTCOMM_CONSUMERD_ALREADY_SET = 120
    LTTCOMM_CONSUMERD_ROTATION_FAIL = 121
    LTTCOMM_CONSUMERD_SNAPSHOT_FAILED = 122
    LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED = 123
    LTTCOMM_CONSUMERD_CLOSE_TRACE_CHUNK_FAILED = 124
    LTTCOMM_CONSUMERD_INVALID_PARAMETERS = 125
    LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_LOCAL = 126
    LTTCOMM_CONSUMERD_TRACE_CHUNK_EXISTS_REMOTE = 127
    LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK = 128
    LTTCOMM_CONSUMERD_RELAYD_CLEAR_DISALLOWED = 129
    LTTCOMM_CONSUMERD_UNKNOWN_ERROR = 130
    LTTCOMM_NR = 131


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerStatusMsg(WireStruct):
    """Status reply to most commands.

    Mirrors ``struct lttcomm_consumer_status_msg`` (packed), sessiond-comm.h.
    """

    ret_code: LttcommReturnCode = csfield(StrictEnum(u32, LttcommReturnCode))


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConsumerStatusChannel(WireStruct):
    """Reply to ASK_CHANNEL_CREATION: the channel key and its stream count.

    Mirrors ``struct lttcomm_consumer_status_channel`` (packed), sessiond-comm.h.
    """

    ret_code: LttcommReturnCode = csfield(StrictEnum(u32, LttcommReturnCode))
    key: int = csfield(u64)
    stream_count: int = csfield(u32)


register_enums(LttcommReturnCode)
STATUS_MSG = struct(
    "lttcomm_consumer_status_msg", ConsumerStatusMsg, header=HEADER, protocol=Protocol.CONSUMER
)
STATUS_CHANNEL = struct(
    "lttcomm_consumer_status_channel",
    ConsumerStatusChannel,
    header=HEADER,
    protocol=Protocol.CONSUMER,
)
