"""The lttng-ust 2.13.5 ABI structs and enums.

Mirrors ``include/lttng/ust-abi.h`` of lttng-ust tag v2.13.5 (every struct there
is ``__attribute__((packed))``; ``padding`` arrays are C members and kept
verbatim) and the one lttng-ust internal struct carried inside the channel data
blob (``struct lttng_ust_abi_channel_config``, src/common/events.h @ v2.13.5).
lttng-tools v2.13.9 and 97535efaa use them alike: each struct and enum is
registered once for both ABI profiles. lttng-tools' own
``lttcomm_ust_msg`` / ``lttcomm_ust_reply``, which carry some of them from the
session daemon to an application, are in :mod:`ustref.protocol.peers.ust_app`.

A fact the reader of these grammars should know:

* The ``LTTNG_UST_ABI_*`` command numbers are ``#define``\\ s, not a C enum:
  :class:`LttngUstAbiCommand` gathers them (values computed from the
  ``LTTNG_UST_ABI_CMD(n)`` / ``CMDR`` / ``CMDW`` macros, which all expand to
  ``n``). It is registered under the descriptive name ``lttng_ust_abi_command``
  (DWARF knows no such type: conformance checks skip it as a set of defines).

The consumer → session daemon channel/stream hand-over that carries the data
of these objects is in :mod:`ustref.protocol.handover`.
"""

from __future__ import annotations

import dataclasses
import enum

from construct_typed import DataclassStruct, csfield, csfield_default

from ustref.protocol.fields import (
    CharArray,
    CUnion,
    FlexArray,
    Pad,
    RawArray,
    StrictEnum,
    UnionTail,
    WireStruct,
    c_enum,
    s32,
    u8,
    u32,
    u64,
)
from ustref.protocol.registry import Protocol, register_enums, struct

#: Declaration site of the lttng-ust ABI (lttng-ust repository, tag v2.13.5).
UST_ABI_HEADER = "include/lttng/ust-abi.h"
#: Declaration site of ``lttng_ust_abi_channel_config`` (lttng-ust, tag v2.13.5).
UST_EVENTS_HEADER = "src/common/events.h"

#: ``LTTNG_UST_ABI_SYM_NAME_LEN``.
LTTNG_UST_ABI_SYM_NAME_LEN = 256
#: ``LTTNG_UST_ABI_COMM_MAGIC``.
LTTNG_UST_ABI_COMM_MAGIC = 0xC57C57C5
#: ``LTTNG_UST_ABI_MAJOR_VERSION`` / ``_OLDEST_COMPATIBLE`` / ``LTTNG_UST_ABI_MINOR_VERSION``.
LTTNG_UST_ABI_MAJOR_VERSION = 9
LTTNG_UST_ABI_MAJOR_VERSION_OLDEST_COMPATIBLE = 8
LTTNG_UST_ABI_MINOR_VERSION = 0
#: ``LTTNG_UST_ABI_CHANNEL_PADDING`` (= ``LTTNG_UST_ABI_SYM_NAME_LEN + 32``).
LTTNG_UST_ABI_CHANNEL_PADDING = LTTNG_UST_ABI_SYM_NAME_LEN + 32
#: ``LTTNG_UST_ABI_CHANNEL_DATA_MAX_LEN``: the largest channel data an application
#: accepts (``ustcomm_recv_channel_from_sessiond``); the session daemon's own
#: receive from the consumer does not check it.
LTTNG_UST_ABI_CHANNEL_DATA_MAX_LEN = 1048576
#: ``LTTNG_UST_ABI_STREAM_PADDING1``.
LTTNG_UST_ABI_STREAM_PADDING1 = LTTNG_UST_ABI_SYM_NAME_LEN + 32
#: ``LTTNG_UST_ABI_EVENT_PADDING1`` / ``LTTNG_UST_ABI_EVENT_PADDING2``.
LTTNG_UST_ABI_EVENT_PADDING1 = 8
LTTNG_UST_ABI_EVENT_PADDING2 = LTTNG_UST_ABI_SYM_NAME_LEN + 32
#: ``LTTNG_UST_ABI_CONTEXT_PADDING1`` / ``LTTNG_UST_ABI_CONTEXT_PADDING2``.
LTTNG_UST_ABI_CONTEXT_PADDING1 = 16
LTTNG_UST_ABI_CONTEXT_PADDING2 = LTTNG_UST_ABI_SYM_NAME_LEN + 32
#: ``LTTNG_UST_ABI_OBJECT_DATA_PADDING1`` / ``LTTNG_UST_ABI_OBJECT_DATA_PADDING2``.
LTTNG_UST_ABI_OBJECT_DATA_PADDING1 = 32
LTTNG_UST_ABI_OBJECT_DATA_PADDING2 = LTTNG_UST_ABI_SYM_NAME_LEN + 32
#: ``LTTNG_UST_UUID_LEN`` (include/lttng/ust-events.h and ust-ctl.h @ v2.13.5).
LTTNG_UST_UUID_LEN = 16
#: ``LTTNG_UST_ABI_ROOT_HANDLE``: the object handle of the root of an application.
LTTNG_UST_ABI_ROOT_HANDLE = 0


# --- enums -------------------------------------------------------------------


@c_enum("lttng_ust_abi_instrumentation")
class LttngUstAbiInstrumentation(enum.IntEnum):
    """Mirrors ``enum lttng_ust_abi_instrumentation``, ust-abi.h @ lttng-ust v2.13.5."""

    LTTNG_UST_ABI_TRACEPOINT = 0
    LTTNG_UST_ABI_PROBE = 1
    LTTNG_UST_ABI_FUNCTION = 2


@c_enum("lttng_ust_abi_loglevel_type")
class LttngUstAbiLoglevelType(enum.IntEnum):
    """Mirrors ``enum lttng_ust_abi_loglevel_type``, ust-abi.h @ lttng-ust v2.13.5."""

    LTTNG_UST_ABI_LOGLEVEL_ALL = 0
    LTTNG_UST_ABI_LOGLEVEL_RANGE = 1
    LTTNG_UST_ABI_LOGLEVEL_SINGLE = 2


@c_enum("lttng_ust_abi_output")
class LttngUstAbiOutput(enum.IntEnum):
    """Mirrors ``enum lttng_ust_abi_output``, ust-abi.h @ lttng-ust v2.13.5."""

    LTTNG_UST_ABI_MMAP = 0


@c_enum("lttng_ust_abi_chan_type")
class LttngUstAbiChanType(enum.IntEnum):
    """Mirrors ``enum lttng_ust_abi_chan_type``, ust-abi.h @ lttng-ust v2.13.5.

    The channel type of lttng-ust 2.13.5 (per-CPU data channel or metadata);
    shared with :mod:`ustref.protocol.consumer` (import it from here).
    """

    LTTNG_UST_ABI_CHAN_PER_CPU = 0
    LTTNG_UST_ABI_CHAN_METADATA = 1


@c_enum("lttng_ust_abi_context_type")
class LttngUstAbiContextType(enum.IntEnum):
    """Mirrors ``enum lttng_ust_abi_context_type``, ust-abi.h @ lttng-ust v2.13.5."""

    LTTNG_UST_ABI_CONTEXT_VTID = 0
    LTTNG_UST_ABI_CONTEXT_VPID = 1
    LTTNG_UST_ABI_CONTEXT_PTHREAD_ID = 2
    LTTNG_UST_ABI_CONTEXT_PROCNAME = 3
    LTTNG_UST_ABI_CONTEXT_IP = 4
    LTTNG_UST_ABI_CONTEXT_PERF_THREAD_COUNTER = 5
    LTTNG_UST_ABI_CONTEXT_CPU_ID = 6
    LTTNG_UST_ABI_CONTEXT_APP_CONTEXT = 7
    LTTNG_UST_ABI_CONTEXT_CGROUP_NS = 8
    LTTNG_UST_ABI_CONTEXT_IPC_NS = 9
    LTTNG_UST_ABI_CONTEXT_MNT_NS = 10
    LTTNG_UST_ABI_CONTEXT_NET_NS = 11
    LTTNG_UST_ABI_CONTEXT_PID_NS = 12
    LTTNG_UST_ABI_CONTEXT_USER_NS = 13
    LTTNG_UST_ABI_CONTEXT_UTS_NS = 14
    LTTNG_UST_ABI_CONTEXT_VUID = 15
    LTTNG_UST_ABI_CONTEXT_VEUID = 16
    LTTNG_UST_ABI_CONTEXT_VSUID = 17
    LTTNG_UST_ABI_CONTEXT_VGID = 18
    LTTNG_UST_ABI_CONTEXT_VEGID = 19
    LTTNG_UST_ABI_CONTEXT_VSGID = 20
    LTTNG_UST_ABI_CONTEXT_TIME_NS = 21


@c_enum("lttng_ust_abi_object_type")
class LttngUstAbiObjectType(enum.IntEnum):
    """Mirrors ``enum lttng_ust_abi_object_type``, ust-abi.h @ lttng-ust v2.13.5.

    Never transmitted by the consumer hand-over: the session daemon sets
    ``LTTNG_UST_ABI_OBJECT_TYPE_CHANNEL`` / ``_STREAM`` itself when it receives
    a channel or a stream (``lttng_ust_ctl_recv_{channel,stream}_from_consumer``).
    """

    LTTNG_UST_ABI_OBJECT_TYPE_UNKNOWN = -1
    LTTNG_UST_ABI_OBJECT_TYPE_CHANNEL = 0
    LTTNG_UST_ABI_OBJECT_TYPE_STREAM = 1
    LTTNG_UST_ABI_OBJECT_TYPE_EVENT = 2
    LTTNG_UST_ABI_OBJECT_TYPE_CONTEXT = 3
    LTTNG_UST_ABI_OBJECT_TYPE_EVENT_NOTIFIER_GROUP = 4
    LTTNG_UST_ABI_OBJECT_TYPE_EVENT_NOTIFIER = 5
    LTTNG_UST_ABI_OBJECT_TYPE_COUNTER = 6
    LTTNG_UST_ABI_OBJECT_TYPE_COUNTER_GLOBAL = 7
    LTTNG_UST_ABI_OBJECT_TYPE_COUNTER_CPU = 8


@c_enum("lttng_ust_abi_command")
class LttngUstAbiCommand(enum.IntEnum):
    """The ``LTTNG_UST_ABI_*`` command numbers, ust-abi.h @ lttng-ust v2.13.5.

    Not a C enum: a set of ``#define``\\ s built with ``LTTNG_UST_ABI_CMD(minor)``,
    ``LTTNG_UST_ABI_CMDR(minor, type)`` and ``LTTNG_UST_ABI_CMDW(minor, type)``,
    which all expand to ``(minor)``; the values below are those expansions. The
    C name given to :func:`c_enum` is descriptive (there is no C enum type).
    """

    LTTNG_UST_ABI_RELEASE = 0x1
    LTTNG_UST_ABI_SESSION = 0x40
    LTTNG_UST_ABI_TRACER_VERSION = 0x41
    LTTNG_UST_ABI_TRACEPOINT_LIST = 0x42
    LTTNG_UST_ABI_WAIT_QUIESCENT = 0x43
    LTTNG_UST_ABI_REGISTER_DONE = 0x44
    LTTNG_UST_ABI_TRACEPOINT_FIELD_LIST = 0x45
    LTTNG_UST_ABI_EVENT_NOTIFIER_GROUP_CREATE = 0x46
    LTTNG_UST_ABI_CHANNEL = 0x51
    LTTNG_UST_ABI_SESSION_START = 0x52
    LTTNG_UST_ABI_SESSION_STOP = 0x53
    LTTNG_UST_ABI_SESSION_STATEDUMP = 0x54
    LTTNG_UST_ABI_STREAM = 0x60
    LTTNG_UST_ABI_EVENT = 0x61
    LTTNG_UST_ABI_CONTEXT = 0x70
    LTTNG_UST_ABI_FLUSH_BUFFER = 0x71
    LTTNG_UST_ABI_ENABLE = 0x80
    LTTNG_UST_ABI_DISABLE = 0x81
    LTTNG_UST_ABI_TRACEPOINT_LIST_GET = 0x90
    LTTNG_UST_ABI_TRACEPOINT_FIELD_LIST_GET = 0x91
    LTTNG_UST_ABI_FILTER = 0xA0
    LTTNG_UST_ABI_EXCLUSION = 0xA1
    LTTNG_UST_ABI_EVENT_NOTIFIER_CREATE = 0xB0
    LTTNG_UST_ABI_CAPTURE = 0xB6
    LTTNG_UST_ABI_COUNTER = 0xC0
    LTTNG_UST_ABI_COUNTER_GLOBAL = 0xD0
    LTTNG_UST_ABI_COUNTER_CPU = 0xD1


# --- lttng-ust ABI structs (all packed) ----------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiTracerVersion(WireStruct):
    """The lttng-ust tracer version: major, minor and patch level.

    Mirrors ``struct lttng_ust_abi_tracer_version`` (packed, 12 B), ust-abi.h @ v2.13.5.
    """

    major: int = csfield(u32, doc="Tracer major version.")
    minor: int = csfield(u32, doc="Tracer minor version.")
    patchlevel: int = csfield(u32, doc="Tracer patch level.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiChannel(WireStruct):
    """A channel handed to an application: its data size and type.

    Mirrors ``struct lttng_ust_abi_channel`` (packed, 300 B), ust-abi.h @ v2.13.5.

    ``len`` is the size of the channel data. The flexible member ``data`` never
    carries bytes inside a message: the ``len`` bytes of channel data travel in
    a send of their own after the enclosing message (``lttng_ust_ctl_send_channel``
    in ustctl.c; read by ``ustcomm_recv_channel_from_sessiond``), so this grammar
    requires ``data`` to be empty.
    """

    len: int = csfield(
        u64, doc="Channel data size in bytes; the data follows in a send of its own."
    )
    type: LttngUstAbiChanType = csfield(
        StrictEnum(s32, LttngUstAbiChanType),
        doc="Per-CPU stream or metadata (lttng_ust_abi_chan_type).",
    )
    padding: bytes = csfield(
        RawArray(LTTNG_UST_ABI_CHANNEL_PADDING), doc="Reserved for later ABI extensions; zero."
    )
    data: bytes = csfield_default(
        FlexArray(length=lambda this: 0),
        doc="Channel data; always empty here (it is sent separately).",
        default=b"",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiStream(WireStruct):
    """A stream handed to an application: its shm size and number.

    Mirrors ``struct lttng_ust_abi_stream`` (packed, 300 B), ust-abi.h @ v2.13.5.

    ``len`` is the shm size; the shm fd and wakeup fd follow the enclosing
    message as one SCM_RIGHTS transfer (``lttng_ust_ctl_send_stream``).
    """

    len: int = csfield(u64, doc="Size in bytes of the stream's shared memory.")
    stream_nr: int = csfield(u32, doc="Stream number (the stream's CPU).")
    padding: bytes = csfield(
        RawArray(LTTNG_UST_ABI_STREAM_PADDING1), doc="Reserved for later ABI extensions; zero."
    )


EVENT_U = CUnion(
    LTTNG_UST_ABI_EVENT_PADDING2,
    {"padding": RawArray(LTTNG_UST_ABI_EVENT_PADDING2)},
    key=None,
    default="padding",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiEvent(WireStruct):
    """An event to create in an application: name, instrumentation, log level.

    Mirrors ``struct lttng_ust_abi_event`` (packed, 572 B), ust-abi.h @ v2.13.5.

    ``u`` (per-instrumentation configuration) has a single member, ``padding``.
    Sent by ``lttng_ust_ctl_create_event`` (ustctl.c, ``strncpy`` of the whole
    field, which does not itself guarantee a NUL; the application forces
    ``name[255] = 0``, lttng-ust-abi.c). The grammar requires the NUL that
    lttng-tools' names (at most ``LTTNG_SYMBOL_NAME_LEN - 1`` bytes) always have.
    """

    instrumentation: LttngUstAbiInstrumentation = csfield(
        StrictEnum(s32, LttngUstAbiInstrumentation),
        doc="Kind of instrumentation (lttng_ust_abi_instrumentation).",
    )
    name: str = csfield(CharArray(LTTNG_UST_ABI_SYM_NAME_LEN), doc="Event name, NUL-terminated.")
    loglevel_type: LttngUstAbiLoglevelType = csfield(
        StrictEnum(s32, LttngUstAbiLoglevelType),
        doc="How loglevel is matched: all, range or single.",
    )
    loglevel: int = csfield(s32, doc="Log level to match; -1 for all.")
    token: int = csfield(
        u64, doc="Tracer token of the trigger (event notifiers); 0 for plain events."
    )
    padding: bytes = csfield(
        RawArray(LTTNG_UST_ABI_EVENT_PADDING1), doc="Reserved for later ABI extensions; zero."
    )
    u: bytes = csfield(EVENT_U, doc="Per-instrumentation configuration (reserved bytes only).")
    u_tail: bytes = csfield_default(UnionTail(EVENT_U), default=b"")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiPerfCounterCtx(WireStruct):
    """A perf counter context: counter type, configuration and field name.

    Mirrors ``struct lttng_ust_abi_perf_counter_ctx`` (packed, 268 B), ust-abi.h @ v2.13.5.
    """

    type: int = csfield(u32, doc="perf event type (PERF_TYPE_*).")
    config: int = csfield(u64, doc="perf event configuration: which counter of that type.")
    name: str = csfield(
        CharArray(LTTNG_UST_ABI_SYM_NAME_LEN), doc="Name of the context field holding the counter."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiContextAppCtx(WireStruct):
    """Lengths of an application context's provider and context names.

    The anonymous ``app_ctx`` member of ``lttng_ust_abi_context.u`` (8 B).

    Both lengths include the trailing NUL; the two names follow the message.
    """

    provider_name_len: int = csfield(u32, doc="Length of the provider name in bytes, NUL included.")
    ctx_name_len: int = csfield(u32, doc="Length of the context name in bytes, NUL included.")


CONTEXT_U = CUnion(
    LTTNG_UST_ABI_CONTEXT_PADDING2,
    {
        "perf_counter": DataclassStruct(LttngUstAbiPerfCounterCtx),
        "app_ctx": DataclassStruct(LttngUstAbiContextAppCtx),
        "padding": RawArray(LTTNG_UST_ABI_CONTEXT_PADDING2),
    },
    key="ctx",
    cases={
        # lttng_ust_ctl_add_context (ustctl.c) writes it; lttng_abi_add_context reads it.
        LttngUstAbiContextType.LTTNG_UST_ABI_CONTEXT_PERF_THREAD_COUNTER: "perf_counter",
        # lttng_ust_ctl_add_context writes it; handle_message (lttng-ust-comm.c) reads it.
        LttngUstAbiContextType.LTTNG_UST_ABI_CONTEXT_APP_CONTEXT: "app_ctx",
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiContext(WireStruct):
    """A context to add to a channel or event, with its parameters.

    Mirrors ``struct lttng_ust_abi_context`` (packed, 308 B), ust-abi.h @ v2.13.5.

    ``u`` is selected by ``ctx``: ``perf_counter`` for PERF_THREAD_COUNTER,
    ``app_ctx`` for APP_CONTEXT; other context types leave it raw.
    """

    ctx: LttngUstAbiContextType = csfield(
        StrictEnum(s32, LttngUstAbiContextType), doc="Context to add (lttng_ust_abi_context_type)."
    )
    padding: bytes = csfield(
        RawArray(LTTNG_UST_ABI_CONTEXT_PADDING1), doc="Reserved for later ABI extensions; zero."
    )
    u: LttngUstAbiPerfCounterCtx | LttngUstAbiContextAppCtx | bytes = csfield(
        CONTEXT_U, doc="Per-context parameters, selected by ctx."
    )
    u_tail: bytes = csfield_default(UnionTail(CONTEXT_U), default=b"")


# --- lttng_ust_abi_object_data (in-process: what the session daemon keeps) -------


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiObjectDataChannel(WireStruct):
    """A received channel's data, type and wakeup fd.

    ``u.channel`` of ``lttng_ust_abi_object_data`` (16 B, natural alignment).
    """

    # void *: the received channel data, in-process
    data: int = csfield(u64, doc="Pointer to the received channel data (in-process).")
    type: LttngUstAbiChanType = csfield(
        StrictEnum(s32, LttngUstAbiChanType),
        doc="Per-CPU stream or metadata (lttng_ust_abi_chan_type).",
    )
    wakeup_fd: int = csfield(s32, doc="Channel wakeup file descriptor.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiObjectDataStream(WireStruct):
    """A received stream's shm fd, wakeup fd and number.

    ``u.stream`` of ``lttng_ust_abi_object_data`` (12 B).
    """

    shm_fd: int = csfield(s32, doc="File descriptor of the stream's shared memory.")
    wakeup_fd: int = csfield(s32, doc="Stream wakeup file descriptor.")
    stream_nr: int = csfield(u32, doc="Stream number (the stream's CPU).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiObjectDataCounter(WireStruct):
    """A counter's data pointer.

    ``u.counter`` of ``lttng_ust_abi_object_data`` (8 B).
    """

    data: int = csfield(u64, doc="Pointer to the counter data (in-process).")  # void *


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiObjectDataCounterGlobal(WireStruct):
    """A global counter's shm fd.

    ``u.counter_global`` of ``lttng_ust_abi_object_data`` (4 B).
    """

    shm_fd: int = csfield(s32, doc="File descriptor of the global counter's shared memory.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiObjectDataCounterCpu(WireStruct):
    """A per-CPU counter's shm fd and CPU number.

    ``u.counter_cpu`` of ``lttng_ust_abi_object_data`` (8 B).
    """

    shm_fd: int = csfield(s32, doc="File descriptor of the per-CPU counter's shared memory.")
    cpu_nr: int = csfield(u32, doc="CPU number of this counter.")


OBJECT_DATA_U = CUnion(
    LTTNG_UST_ABI_OBJECT_DATA_PADDING2,
    {
        "channel": DataclassStruct(LttngUstAbiObjectDataChannel),
        "stream": DataclassStruct(LttngUstAbiObjectDataStream),
        "counter": DataclassStruct(LttngUstAbiObjectDataCounter),
        "counter_global": DataclassStruct(LttngUstAbiObjectDataCounterGlobal),
        "counter_cpu": DataclassStruct(LttngUstAbiObjectDataCounterCpu),
        "padding2": RawArray(LTTNG_UST_ABI_OBJECT_DATA_PADDING2),
    },
    key="type",
    cases={
        # lttng_ust_ctl_recv_channel_from_consumer fills it (ustctl.c).
        LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_CHANNEL: "channel",
        # lttng_ust_ctl_recv_stream_from_consumer fills it (ustctl.c).
        LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_STREAM: "stream",
        # lttng_ust_ctl_create_counter_data / _global_data / _cpu_data fill them.
        LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_COUNTER: "counter",
        LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_COUNTER_GLOBAL: "counter_global",
        LttngUstAbiObjectType.LTTNG_UST_ABI_OBJECT_TYPE_COUNTER_CPU: "counter_cpu",
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiObjectData(WireStruct):
    """Mirrors ``struct lttng_ust_abi_object_data`` (packed, 336 B), ust-abi.h @ v2.13.5.

    Never sent: the in-process record liblttng-ust-ctl keeps of an object (in
    the session daemon, the channel and streams received from the consumer).
    Pointers are 8-byte integers. ``u`` is selected by ``type``.
    """

    type: LttngUstAbiObjectType = csfield(
        StrictEnum(s32, LttngUstAbiObjectType), doc="Kind of object (lttng_ust_abi_object_type)."
    )
    handle: int = csfield(s32, doc="Object handle in the application; -1 until created there.")
    size: int = csfield(u64, doc="Size in bytes of the object's data (channel data or shm).")
    padding1: bytes = csfield(
        RawArray(LTTNG_UST_ABI_OBJECT_DATA_PADDING1), doc="Reserved for later ABI extensions; zero."
    )
    u: (
        LttngUstAbiObjectDataChannel
        | LttngUstAbiObjectDataStream
        | LttngUstAbiObjectDataCounter
        | LttngUstAbiObjectDataCounterGlobal
        | LttngUstAbiObjectDataCounterCpu
        | bytes
    ) = csfield(OBJECT_DATA_U, doc="Per-kind data, selected by type.")
    u_tail: bytes = csfield_default(UnionTail(OBJECT_DATA_U), default=b"")


# --- lttng_ust_abi_channel_config (inside the channel data blob) ------------------


@dataclasses.dataclass(frozen=True, kw_only=True)
class CdsListHead(WireStruct):
    """A node of a doubly linked list: next and previous pointers.

    Mirrors ``struct cds_list_head`` (liburcu urcu/list.h): two pointers, 16 B.
    """

    next: int = csfield(u64, doc="Pointer to the next list node.")
    prev: int = csfield(u64, doc="Pointer to the previous list node.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUstAbiChannelConfig(WireStruct):
    """Mirrors ``struct lttng_ust_abi_channel_config`` (NOT packed, 120 B, align 8).

    src/common/events.h @ lttng-ust v2.13.5. It sits inside the channel data
    blob (the channel's shm object 0) at ``chan->priv_data_offset`` (aligned to
    8): ``channel_create`` (ring_buffer_frontend.c) copies it there from
    ``_channel_create`` (ringbuffer-clients/template.h), which zeroes it and sets
    only ``id`` and ``uuid``; the application checks ``uuid`` against its session
    (``lttng_abi_map_channel``, lttng-ust-abi.c). Not a standalone message.

    The two one-bit bit-fields (``unsigned int _deprecated3:1`` at byte 88,
    ``int unused11:1`` at byte 116, bit 0 each) are mirrored by the whole byte
    that holds them; the other bits of those bytes are padding and are kept.
    """

    unused1: int = csfield(u64, doc="Unused, zero (2.12: the channel buffers pointer).")
    unused2: int = csfield(s32, doc="Unused, zero (2.12: the enabled flag).")
    _pad0: bytes = csfield_default(Pad(4), default=bytes(4))
    unused3: int = csfield(u64, doc="Unused, zero (2.12: the context pointer).")
    unused4: int = csfield(u64, doc="Unused, zero (2.12: the session pointer).")
    unused5: int = csfield(s32, doc="Unused, zero (2.12: the object descriptor).")
    _deprecated1: int = csfield(u32, doc="Deprecated, zero.")
    _deprecated2: int = csfield(u32, doc="Deprecated, zero.")
    _pad1: bytes = csfield_default(Pad(4), default=bytes(4))
    unused6: CdsListHead = csfield(
        DataclassStruct(CdsListHead),
        doc="Unused, zero (2.12: the node in the session's channel list).",
    )
    unused7: int = csfield(u64, doc="Unused, zero (2.12: the channel operations pointer).")
    unused8: int = csfield(s32, doc="Unused, zero (2.12: the event header type).")
    _pad2: bytes = csfield_default(Pad(4), default=bytes(4))
    unused9: int = csfield(u64, doc="Unused, zero (2.12: the shared-memory handle pointer).")
    _deprecated3: int = csfield(u8, doc="Byte holding a deprecated one-bit field (bit 0); zero.")
    _pad3: bytes = csfield_default(Pad(3), default=bytes(3))
    id: int = csfield(u32, doc="Channel ID in the session (the chan_id the consumer was given).")
    unused10: LttngUstAbiChanType = csfield(
        StrictEnum(u32, LttngUstAbiChanType), doc="Unused, zero (2.12: the channel type)."
    )
    uuid: bytes = csfield(
        RawArray(LTTNG_UST_UUID_LEN),
        doc="Trace UUID; the application checks it against its session.",
    )
    unused11: int = csfield(u8, doc="Byte holding an unused one-bit field (bit 0); zero.")
    _pad4: bytes = csfield_default(Pad(3), default=bytes(3))


# --- registration ------------------------------------------------------------------

register_enums(
    LttngUstAbiInstrumentation,
    LttngUstAbiLoglevelType,
    LttngUstAbiOutput,
    LttngUstAbiChanType,
    LttngUstAbiContextType,
    LttngUstAbiObjectType,
    LttngUstAbiCommand,
)

TRACER_VERSION = struct(
    "lttng_ust_abi_tracer_version",
    LttngUstAbiTracerVersion,
    header=UST_ABI_HEADER,
    protocol=Protocol.USTCTL,
)
CHANNEL = struct(
    "lttng_ust_abi_channel", LttngUstAbiChannel, header=UST_ABI_HEADER, protocol=Protocol.USTCTL
)
STREAM = struct(
    "lttng_ust_abi_stream", LttngUstAbiStream, header=UST_ABI_HEADER, protocol=Protocol.USTCTL
)
EVENT = struct(
    "lttng_ust_abi_event", LttngUstAbiEvent, header=UST_ABI_HEADER, protocol=Protocol.USTCTL
)
PERF_COUNTER_CTX = struct(
    "lttng_ust_abi_perf_counter_ctx",
    LttngUstAbiPerfCounterCtx,
    header=UST_ABI_HEADER,
    protocol=Protocol.USTCTL,
)
CONTEXT = struct(
    "lttng_ust_abi_context", LttngUstAbiContext, header=UST_ABI_HEADER, protocol=Protocol.USTCTL
)
OBJECT_DATA = struct(
    "lttng_ust_abi_object_data",
    LttngUstAbiObjectData,
    header=UST_ABI_HEADER,
    protocol=Protocol.IN_PROCESS,
)
#: Not in lttng-tools' headers (nor its DWARF): registered for no ABI profile.
CHANNEL_CONFIG = struct(
    "lttng_ust_abi_channel_config",
    LttngUstAbiChannelConfig,
    header=UST_EVENTS_HEADER,
    protocol=Protocol.USTCTL,
    abis=(),
)
