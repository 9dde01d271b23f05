"""Session daemon ↔ application messages of lttng-tools (``lttcomm_ust_msg`` / ``_reply``).

Mirrors ``struct lttcomm_ust_msg`` and ``struct lttcomm_ust_reply`` of
``src/common/sessiond-comm/sessiond-comm.h`` (``#ifdef
HAVE_LIBLTTNG_UST_CTL``), identical at lttng-tools v2.13.9 and 97535efaa. Both
are declared by lttng-tools but used by no lttng-tools code at either revision:
the session daemon talks to applications through liblttng-ust-ctl, whose own
``struct ustcomm_ust_msg`` / ``ustcomm_ust_reply`` (lttng-ust
src/common/ustcomm.h) have an extra 32-byte ``padding`` after ``cmd`` and more
union members. They are mirrored because they are part of the lttng-tools
headers (and of the DWARF oracle); their union cases follow the members the
ustcomm twins select for the same command (the senders in lttng-ust
src/lib/lttng-ust-ctl/ustctl.c, the reader ``handle_message`` in
src/lib/lttng-ust/lttng-ust-comm.c). The consumer daemon never sees them; the
lttng-ust ABI structs they carry are in :mod:`ustref.protocol.ust_abi`.
"""

from __future__ import annotations

import dataclasses

from construct_typed import DataclassStruct, csfield, csfield_default

from ustref.protocol.fields import CUnion, StrictEnum, UnionTail, WireStruct, u32, u64
from ustref.protocol.lttng_error import LttcommReturnCode
from ustref.protocol.registry import Protocol, struct
from ustref.protocol.ust_abi import (
    LttngUstAbiChannel,
    LttngUstAbiCommand,
    LttngUstAbiContext,
    LttngUstAbiEvent,
    LttngUstAbiStream,
    LttngUstAbiTracerVersion,
)

#: Declaration site of ``lttcomm_ust_msg`` / ``lttcomm_ust_reply`` (lttng-tools).
SESSIOND_COMM_HEADER = "src/common/sessiond-comm/sessiond-comm.h"

UST_MSG_U = CUnion(
    572,
    {
        "channel": DataclassStruct(LttngUstAbiChannel),
        "stream": DataclassStruct(LttngUstAbiStream),
        "event": DataclassStruct(LttngUstAbiEvent),
        "context": DataclassStruct(LttngUstAbiContext),
        "version": DataclassStruct(LttngUstAbiTracerVersion),
    },
    key="cmd",
    cases={
        # lttng_ust_ctl_send_channel_to_ust writes it; handle_message reads u.channel.len.
        LttngUstAbiCommand.LTTNG_UST_ABI_CHANNEL: "channel",
        # lttng_ust_ctl_send_stream_to_ust writes it; lttng_abi_map_stream reads it.
        LttngUstAbiCommand.LTTNG_UST_ABI_STREAM: "stream",
        # lttng_ust_ctl_create_event writes it; lttng_abi_create_event reads it.
        LttngUstAbiCommand.LTTNG_UST_ABI_EVENT: "event",
        # lttng_ust_ctl_add_context writes it; lttng_abi_add_context reads it.
        LttngUstAbiCommand.LTTNG_UST_ABI_CONTEXT: "context",
        # lttng_ust_ctl_tracer_version sends zeros; the application fills u.version.
        LttngUstAbiCommand.LTTNG_UST_ABI_TRACER_VERSION: "version",
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommUstMsg(WireStruct):
    """Mirrors ``struct lttcomm_ust_msg`` (packed, 580 B), sessiond-comm.h @ v2.13.9 and 97535efaa.

    ``cmd`` (a plain ``uint32_t`` holding an ``LTTNG_UST_ABI_*`` command,
    :class:`LttngUstAbiCommand`) selects the member of ``u``; other commands
    leave ``u`` raw. Declared but unused by lttng-tools (see the module doc).
    """

    handle: int = csfield(u32, doc="Handle of the object the command targets (0: the root).")
    cmd: int = csfield(u32, doc="Command number (an LTTNG_UST_ABI_* value).")
    u: (
        LttngUstAbiChannel
        | LttngUstAbiStream
        | LttngUstAbiEvent
        | LttngUstAbiContext
        | LttngUstAbiTracerVersion
        | bytes
    ) = csfield(UST_MSG_U, doc="Command arguments, selected by cmd.")
    u_tail: bytes = csfield_default(UnionTail(UST_MSG_U), default=b"")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommUstReplyMemoryMapSize(WireStruct):
    """A shared memory map size.

    The anonymous packed ``{uint64_t memory_map_size;}`` of ``lttcomm_ust_reply.u``.
    """

    memory_map_size: int = csfield(u64, doc="Size in bytes of the object's shared memory mapping.")


UST_REPLY_U = CUnion(
    12,
    {
        "channel": DataclassStruct(LttcommUstReplyMemoryMapSize),
        "stream": DataclassStruct(LttcommUstReplyMemoryMapSize),
        "version": DataclassStruct(LttngUstAbiTracerVersion),
    },
    key="cmd",
    cases={
        # handle_message (lttng-ust-comm.c) writes it; lttng_ust_ctl_tracer_version reads it.
        LttngUstAbiCommand.LTTNG_UST_ABI_TRACER_VERSION: "version",
        # No lttng-ust 2.13.5 code writes or reads u.channel / u.stream of a reply.
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommUstReply(WireStruct):
    """Mirrors ``struct lttcomm_ust_reply`` (packed, 28 B), sessiond-comm.h @ v2.13.9 and 97535efaa.

    ``ret_code`` is commented ``enum lttcomm_return_code`` in the declaration,
    hence strict. ``u`` is ``version`` for TRACER_VERSION and raw otherwise.
    Declared but unused by lttng-tools (see the module doc).
    """

    handle: int = csfield(u32, doc="Handle the command was sent to, echoed back.")
    cmd: int = csfield(u32, doc="Command number, echoed back for validation.")
    ret_code: LttcommReturnCode = csfield(
        StrictEnum(u32, LttcommReturnCode), doc="Status of the command (lttcomm_return_code)."
    )
    ret_val: int = csfield(u32, doc="Return value of the command (e.g. a new object handle).")
    u: LttcommUstReplyMemoryMapSize | LttngUstAbiTracerVersion | bytes = csfield(
        UST_REPLY_U, doc="Reply data; the tracer version for TRACER_VERSION."
    )
    u_tail: bytes = csfield_default(UnionTail(UST_REPLY_U), default=b"")


# --- registration ------------------------------------------------------------------

UST_MSG = struct(
    "lttcomm_ust_msg", LttcommUstMsg, header=SESSIOND_COMM_HEADER, protocol=Protocol.USTCTL
)
UST_REPLY = struct(
    "lttcomm_ust_reply", LttcommUstReply, header=SESSIOND_COMM_HEADER, protocol=Protocol.USTCTL
)
