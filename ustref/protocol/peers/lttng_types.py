"""Public liblttng-ctl structs and enums embedded in client ↔ session daemon messages.

Mirrors the declarations of ``include/lttng/*.h`` (and three ``*-internal.h``
headers) that ``struct lttcomm_session_msg`` embeds — ``lttng_session``,
``lttng_domain``, ``lttng_calibrate``, ``lttng_snapshot_output``,
``lttng_save_session_attr`` at both revisions; ``lttng_event``,
``lttng_channel``, ``lttng_channel_extended`` and ``lttng_event_context`` which
only lttng-tools 97535efaa embeds (v2.13.9 serializes them after the message
instead) — and the enums their fields carry. These headers are identical at
v2.13.9 and 97535efaa as far as layouts and enum values go (97535efaa only adds
``LTTNG_EXPORT`` markers), so every struct here is registered for both ABIs.

Natural alignment applies unless the declaration says ``LTTNG_PACKED``
(``lttng_snapshot_output``, ``lttng_save_session_attr``,
``lttng_channel_extended``); compiler padding is kept in ``_padN`` fields.
Pointers (``void *ptr`` of the ``extended`` unions, ``char *`` of
``app_ctx``) are 8-byte client addresses on x86_64: meaningless to the peer,
kept as integers.
"""

from __future__ import annotations

import dataclasses
import enum

from construct_typed import DataclassStruct, csfield, csfield_default

from ustref.protocol.constants import LTTNG_NAME_MAX, LTTNG_SYMBOL_NAME_LEN, PATH_MAX
from ustref.protocol.consumer import LttngEventOutput
from ustref.protocol.fields import (
    CharArray,
    CUnion,
    Pad,
    RawArray,
    StrictEnum,
    UnionTail,
    WireStruct,
    c_enum,
    s32,
    s64,
    u8,
    u32,
    u64,
)
from ustref.protocol.registry import Protocol, register_enums, struct

SESSION_H = "include/lttng/session.h"
DOMAIN_H = "include/lttng/domain.h"
LTTNG_H = "include/lttng/lttng.h"
EVENT_H = "include/lttng/event.h"
CHANNEL_H = "include/lttng/channel.h"
CHANNEL_INTERNAL_H = "include/lttng/channel-internal.h"
SNAPSHOT_INTERNAL_H = "include/lttng/snapshot-internal.h"
SAVE_INTERNAL_H = "include/lttng/save-internal.h"

#: ``LTTNG_SESSION_PADDING1``, session.h.
LTTNG_SESSION_PADDING1 = 8
#: ``LTTNG_DOMAIN_PADDING1`` / ``LTTNG_DOMAIN_PADDING2``, domain.h.
LTTNG_DOMAIN_PADDING1 = 12
LTTNG_DOMAIN_PADDING2 = LTTNG_SYMBOL_NAME_LEN + 32
#: ``LTTNG_CALIBRATE_PADDING1``, lttng.h.
LTTNG_CALIBRATE_PADDING1 = 16
#: Paddings of event.h.
LTTNG_PERF_EVENT_PADDING1 = 16
LTTNG_EVENT_CONTEXT_PADDING1 = 16
LTTNG_EVENT_CONTEXT_PADDING2 = LTTNG_SYMBOL_NAME_LEN + 32
LTTNG_EVENT_PROBE_PADDING1 = 16
LTTNG_EVENT_FUNCTION_PADDING1 = 16
LTTNG_EVENT_PADDING2 = LTTNG_SYMBOL_NAME_LEN + 32
#: Paddings of channel.h.
LTTNG_CHANNEL_ATTR_PADDING1 = LTTNG_SYMBOL_NAME_LEN + 12
LTTNG_CHANNEL_PADDING1 = 16


# --------------------------------------------------------------------------- enums


@c_enum("lttng_domain_type")
class LttngDomainType(enum.IntEnum):
    """Mirrors ``enum lttng_domain_type``, include/lttng/domain.h @ v2.13.9 and 97535efaa."""

    LTTNG_DOMAIN_NONE = 0
    LTTNG_DOMAIN_KERNEL = 1
    LTTNG_DOMAIN_UST = 2
    LTTNG_DOMAIN_JUL = 3
    LTTNG_DOMAIN_LOG4J = 4
    LTTNG_DOMAIN_PYTHON = 5


@c_enum("lttng_buffer_type")
class LttngBufferType(enum.IntEnum):
    """Mirrors ``enum lttng_buffer_type``, include/lttng/domain.h @ v2.13.9 and 97535efaa."""

    LTTNG_BUFFER_PER_PID = 0
    LTTNG_BUFFER_PER_UID = 1
    LTTNG_BUFFER_GLOBAL = 2


@c_enum("lttng_calibrate_type")
class LttngCalibrateType(enum.IntEnum):
    """Mirrors ``enum lttng_calibrate_type``, include/lttng/lttng.h @ v2.13.9 and 97535efaa."""

    LTTNG_CALIBRATE_FUNCTION = 0


@c_enum("lttng_event_type")
class LttngEventType(enum.IntEnum):
    """Mirrors ``enum lttng_event_type``, include/lttng/event.h @ v2.13.9 and 97535efaa."""

    LTTNG_EVENT_ALL = -1
    LTTNG_EVENT_TRACEPOINT = 0
    LTTNG_EVENT_PROBE = 1
    LTTNG_EVENT_FUNCTION = 2
    LTTNG_EVENT_FUNCTION_ENTRY = 3
    LTTNG_EVENT_NOOP = 4
    LTTNG_EVENT_SYSCALL = 5
    LTTNG_EVENT_USERSPACE_PROBE = 6


@c_enum("lttng_loglevel_type")
class LttngLoglevelType(enum.IntEnum):
    """Mirrors ``enum lttng_loglevel_type``, include/lttng/event.h @ v2.13.9 and 97535efaa."""

    LTTNG_EVENT_LOGLEVEL_ALL = 0
    LTTNG_EVENT_LOGLEVEL_RANGE = 1
    LTTNG_EVENT_LOGLEVEL_SINGLE = 2


@c_enum("lttng_loglevel")
class LttngLoglevel(enum.IntEnum):
    """Mirrors ``enum lttng_loglevel``, include/lttng/event.h @ v2.13.9 and 97535efaa.

    Log levels of the UST domain (``loglevel_value`` of UST events).
    """

    LTTNG_LOGLEVEL_EMERG = 0
    LTTNG_LOGLEVEL_ALERT = 1
    LTTNG_LOGLEVEL_CRIT = 2
    LTTNG_LOGLEVEL_ERR = 3
    LTTNG_LOGLEVEL_WARNING = 4
    LTTNG_LOGLEVEL_NOTICE = 5
    LTTNG_LOGLEVEL_INFO = 6
    LTTNG_LOGLEVEL_DEBUG_SYSTEM = 7
    LTTNG_LOGLEVEL_DEBUG_PROGRAM = 8
    LTTNG_LOGLEVEL_DEBUG_PROCESS = 9
    LTTNG_LOGLEVEL_DEBUG_MODULE = 10
    LTTNG_LOGLEVEL_DEBUG_UNIT = 11
    LTTNG_LOGLEVEL_DEBUG_FUNCTION = 12
    LTTNG_LOGLEVEL_DEBUG_LINE = 13
    LTTNG_LOGLEVEL_DEBUG = 14


@c_enum("lttng_loglevel_jul")
class LttngLoglevelJul(enum.IntEnum):
    """Mirrors ``enum lttng_loglevel_jul``, include/lttng/event.h @ v2.13.9 and 97535efaa.

    Log levels of the JUL domain (``loglevel_value`` sent to a JUL agent).
    """

    LTTNG_LOGLEVEL_JUL_ALL = -2147483648
    LTTNG_LOGLEVEL_JUL_FINEST = 300
    LTTNG_LOGLEVEL_JUL_FINER = 400
    LTTNG_LOGLEVEL_JUL_FINE = 500
    LTTNG_LOGLEVEL_JUL_CONFIG = 700
    LTTNG_LOGLEVEL_JUL_INFO = 800
    LTTNG_LOGLEVEL_JUL_WARNING = 900
    LTTNG_LOGLEVEL_JUL_SEVERE = 1000
    LTTNG_LOGLEVEL_JUL_OFF = 2147483647


@c_enum("lttng_loglevel_log4j")
class LttngLoglevelLog4j(enum.IntEnum):
    """Mirrors ``enum lttng_loglevel_log4j``, include/lttng/event.h @ v2.13.9 and 97535efaa.

    Log levels of the log4j domain (``loglevel_value`` sent to a log4j agent).
    """

    LTTNG_LOGLEVEL_LOG4J_ALL = -2147483648
    LTTNG_LOGLEVEL_LOG4J_TRACE = 5000
    LTTNG_LOGLEVEL_LOG4J_DEBUG = 10000
    LTTNG_LOGLEVEL_LOG4J_INFO = 20000
    LTTNG_LOGLEVEL_LOG4J_WARN = 30000
    LTTNG_LOGLEVEL_LOG4J_ERROR = 40000
    LTTNG_LOGLEVEL_LOG4J_FATAL = 50000
    LTTNG_LOGLEVEL_LOG4J_OFF = 2147483647


@c_enum("lttng_loglevel_python")
class LttngLoglevelPython(enum.IntEnum):
    """Mirrors ``enum lttng_loglevel_python``, include/lttng/event.h @ v2.13.9 and 97535efaa.

    Log levels of the Python domain (``loglevel_value`` sent to a Python agent).
    """

    LTTNG_LOGLEVEL_PYTHON_NOTSET = 0
    LTTNG_LOGLEVEL_PYTHON_DEBUG = 10
    LTTNG_LOGLEVEL_PYTHON_INFO = 20
    LTTNG_LOGLEVEL_PYTHON_WARNING = 30
    LTTNG_LOGLEVEL_PYTHON_ERROR = 40
    LTTNG_LOGLEVEL_PYTHON_CRITICAL = 50


@c_enum("lttng_event_flag")
class LttngEventFlag(enum.IntEnum):
    """Mirrors ``enum lttng_event_flag``, include/lttng/event.h @ v2.13.9 and 97535efaa.

    A bit set: ``lttng_event.flags`` holds any OR of these (and 0), so that
    field is a plain ``u32``.
    """

    LTTNG_EVENT_FLAG_SYSCALL_32 = 1 << 0
    LTTNG_EVENT_FLAG_SYSCALL_64 = 1 << 1


@c_enum("lttng_event_context_type")
class LttngEventContextType(enum.IntEnum):
    """Mirrors ``enum lttng_event_context_type``, include/lttng/event.h @ v2.13.9 and 97535efaa."""

    LTTNG_EVENT_CONTEXT_PID = 0
    LTTNG_EVENT_CONTEXT_PERF_COUNTER = 1
    LTTNG_EVENT_CONTEXT_PROCNAME = 2
    LTTNG_EVENT_CONTEXT_PRIO = 3
    LTTNG_EVENT_CONTEXT_NICE = 4
    LTTNG_EVENT_CONTEXT_VPID = 5
    LTTNG_EVENT_CONTEXT_TID = 6
    LTTNG_EVENT_CONTEXT_VTID = 7
    LTTNG_EVENT_CONTEXT_PPID = 8
    LTTNG_EVENT_CONTEXT_VPPID = 9
    LTTNG_EVENT_CONTEXT_PTHREAD_ID = 10
    LTTNG_EVENT_CONTEXT_HOSTNAME = 11
    LTTNG_EVENT_CONTEXT_IP = 12
    LTTNG_EVENT_CONTEXT_PERF_CPU_COUNTER = 13
    LTTNG_EVENT_CONTEXT_PERF_THREAD_COUNTER = 14
    LTTNG_EVENT_CONTEXT_APP_CONTEXT = 15
    LTTNG_EVENT_CONTEXT_INTERRUPTIBLE = 16
    LTTNG_EVENT_CONTEXT_PREEMPTIBLE = 17
    LTTNG_EVENT_CONTEXT_NEED_RESCHEDULE = 18
    LTTNG_EVENT_CONTEXT_MIGRATABLE = 19
    LTTNG_EVENT_CONTEXT_CALLSTACK_KERNEL = 20
    LTTNG_EVENT_CONTEXT_CALLSTACK_USER = 21
    LTTNG_EVENT_CONTEXT_CGROUP_NS = 22
    LTTNG_EVENT_CONTEXT_IPC_NS = 23
    LTTNG_EVENT_CONTEXT_MNT_NS = 24
    LTTNG_EVENT_CONTEXT_NET_NS = 25
    LTTNG_EVENT_CONTEXT_PID_NS = 26
    LTTNG_EVENT_CONTEXT_USER_NS = 27
    LTTNG_EVENT_CONTEXT_UTS_NS = 28
    LTTNG_EVENT_CONTEXT_UID = 29
    LTTNG_EVENT_CONTEXT_EUID = 30
    LTTNG_EVENT_CONTEXT_SUID = 31
    LTTNG_EVENT_CONTEXT_GID = 32
    LTTNG_EVENT_CONTEXT_EGID = 33
    LTTNG_EVENT_CONTEXT_SGID = 34
    LTTNG_EVENT_CONTEXT_VUID = 35
    LTTNG_EVENT_CONTEXT_VEUID = 36
    LTTNG_EVENT_CONTEXT_VSUID = 37
    LTTNG_EVENT_CONTEXT_VGID = 38
    LTTNG_EVENT_CONTEXT_VEGID = 39
    LTTNG_EVENT_CONTEXT_VSGID = 40
    LTTNG_EVENT_CONTEXT_TIME_NS = 41


@c_enum("lttng_process_attr")
class LttngProcessAttr(enum.IntEnum):
    """Mirrors ``enum lttng_process_attr``, include/lttng/tracker.h @ v2.13.9 and 97535efaa."""

    LTTNG_PROCESS_ATTR_PROCESS_ID = 0
    LTTNG_PROCESS_ATTR_VIRTUAL_PROCESS_ID = 1
    LTTNG_PROCESS_ATTR_USER_ID = 2
    LTTNG_PROCESS_ATTR_VIRTUAL_USER_ID = 3
    LTTNG_PROCESS_ATTR_GROUP_ID = 4
    LTTNG_PROCESS_ATTR_VIRTUAL_GROUP_ID = 5


@c_enum("lttng_process_attr_value_type")
class LttngProcessAttrValueType(enum.IntEnum):
    """Mirrors ``enum lttng_process_attr_value_type``, include/lttng/tracker.h @ both."""

    LTTNG_PROCESS_ATTR_VALUE_TYPE_INVALID = -1
    LTTNG_PROCESS_ATTR_VALUE_TYPE_PID = 0
    LTTNG_PROCESS_ATTR_VALUE_TYPE_UID = 1
    LTTNG_PROCESS_ATTR_VALUE_TYPE_USER_NAME = 2
    LTTNG_PROCESS_ATTR_VALUE_TYPE_GID = 3
    LTTNG_PROCESS_ATTR_VALUE_TYPE_GROUP_NAME = 4


@c_enum("lttng_tracking_policy")
class LttngTrackingPolicy(enum.IntEnum):
    """Mirrors ``enum lttng_tracking_policy``, include/lttng/tracker.h @ v2.13.9 and 97535efaa."""

    LTTNG_TRACKING_POLICY_INCLUDE_ALL = 0
    LTTNG_TRACKING_POLICY_EXCLUDE_ALL = 1
    LTTNG_TRACKING_POLICY_INCLUDE_SET = 2


@c_enum("lttng_rotation_schedule_type")
class LttngRotationScheduleType(enum.IntEnum):
    """Mirrors ``enum lttng_rotation_schedule_type``, include/lttng/rotation.h @ both."""

    LTTNG_ROTATION_SCHEDULE_TYPE_UNKNOWN = -1
    LTTNG_ROTATION_SCHEDULE_TYPE_SIZE_THRESHOLD = 0
    LTTNG_ROTATION_SCHEDULE_TYPE_PERIODIC = 1


@c_enum("lttng_rotation_state")
class LttngRotationState(enum.IntEnum):
    """Mirrors ``enum lttng_rotation_state``, include/lttng/rotation.h @ v2.13.9 and 97535efaa."""

    LTTNG_ROTATION_STATE_NO_ROTATION = 0
    LTTNG_ROTATION_STATE_ONGOING = 1
    LTTNG_ROTATION_STATE_COMPLETED = 2
    LTTNG_ROTATION_STATE_EXPIRED = 3
    LTTNG_ROTATION_STATE_ERROR = -1


register_enums(
    LttngDomainType,
    LttngBufferType,
    LttngCalibrateType,
    LttngEventType,
    LttngLoglevelType,
    LttngLoglevel,
    LttngLoglevelJul,
    LttngLoglevelLog4j,
    LttngLoglevelPython,
    LttngEventFlag,
    LttngEventContextType,
    LttngProcessAttr,
    LttngProcessAttrValueType,
    LttngTrackingPolicy,
    LttngRotationScheduleType,
    LttngRotationState,
)


def _pointer_union() -> CUnion:
    """``union { <8-byte padding>; void *ptr; } extended``: read as the pointer."""
    return CUnion(8, {"padding": RawArray(8), "ptr": u64}, default="ptr")


# ------------------------------------------------------------- session and domain

_SESSION_EXTENDED = _pointer_union()


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngSession(WireStruct):
    """A tracing session as the client names it (only ``name`` matters in requests).

    Mirrors ``struct lttng_session`` (natural alignment, 4376 B),
    include/lttng/session.h @ v2.13.9 and 97535efaa: ``name[255]`` then
    ``path[4096]`` end at 4351, one compiler pad byte aligns ``enabled`` to
    4352; ``extended`` is ``union { char padding[8]; void *ptr; }``.
    """

    name: str = csfield(CharArray(LTTNG_NAME_MAX), doc="Session name.")
    path: str = csfield(
        CharArray(PATH_MAX), doc="Human-readable trace destination: local path or network URL."
    )
    _pad0: bytes = csfield_default(Pad(1), default=bytes(1))
    enabled: int = csfield(u32, doc="1 if the session is started, 0 if stopped (listings).")
    snapshot_mode: int = csfield(u32, doc="1 if the session is in snapshot mode.")
    live_timer_interval: int = csfield(u32, doc="Live timer period in µs (0: not a live session).")
    alignment_padding: bytes = csfield_default(
        RawArray(4), doc="Padding that aligns extended to 8 bytes on every ABI.", default=bytes(4)
    )
    extended: int = csfield(
        _SESSION_EXTENDED, doc="Client pointer to extended attributes; meaningless to the peer."
    )
    extended_tail: bytes = csfield_default(UnionTail(_SESSION_EXTENDED), default=b"")


_DOMAIN_ATTR = CUnion(
    LTTNG_DOMAIN_PADDING2,
    {
        "pid": s32,
        "exec_name": CharArray(LTTNG_NAME_MAX),
        "padding": RawArray(LTTNG_DOMAIN_PADDING2),
    },
    default="pid",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngDomain(WireStruct):
    """The tracing domain a request applies to.

    Mirrors ``struct lttng_domain`` (natural alignment, 308 B),
    include/lttng/domain.h @ v2.13.9 and 97535efaa. ``attr`` is
    ``union { pid_t pid; char exec_name[255]; char padding[288]; }``, selected by
    nothing; the session daemon reads ``attr.pid`` (copied into
    ``lttcomm_lttng_msg.pid`` by ``setup_lttng_msg``), so it parses as ``pid``
    and the remaining 284 bytes are kept in ``attr_tail``.
    """

    type: LttngDomainType = csfield(
        StrictEnum(u32, LttngDomainType), doc="Tracing domain (lttng_domain_type)."
    )
    buf_type: LttngBufferType = csfield(
        StrictEnum(u32, LttngBufferType),
        doc="Buffer scheme: per PID, per UID or global (lttng_buffer_type).",
    )
    padding: bytes = csfield_default(
        RawArray(LTTNG_DOMAIN_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_DOMAIN_PADDING1),
    )
    attr: int = csfield(
        _DOMAIN_ATTR, doc="Domain attribute: a process ID (read as pid) or executable name."
    )
    attr_tail: bytes = csfield_default(UnionTail(_DOMAIN_ATTR), default=b"")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngCalibrate(WireStruct):
    """An obsolete calibration request (no command uses it any more).

    Mirrors ``struct lttng_calibrate`` (20 B), include/lttng/lttng.h @ v2.13.9 and 97535efaa.

    Still a member of ``lttcomm_session_msg.u`` although ``LTTNG_CALIBRATE``
    (command 1) was removed: no command selects it.
    """

    type: LttngCalibrateType = csfield(
        StrictEnum(u32, LttngCalibrateType),
        doc="Calibration kind (lttng_calibrate_type); the command was removed.",
    )
    padding: bytes = csfield_default(
        RawArray(LTTNG_CALIBRATE_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_CALIBRATE_PADDING1),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngSnapshotOutput(WireStruct):
    """A snapshot output (``id`` is assigned by the session daemon).

    Mirrors ``struct lttng_snapshot_output`` (packed, 8459 B),
    include/lttng/snapshot-internal.h @ v2.13.9 and 97535efaa.
    """

    id: int = csfield(u32, doc="Output ID assigned by the session daemon; used only when listing.")
    max_size: int = csfield(
        u64, doc="Maximum total snapshot size in bytes, all streams (0: unlimited)."
    )
    name: str = csfield(CharArray(LTTNG_NAME_MAX), doc="Output name, shown when listing.")
    ctrl_url: str = csfield(CharArray(PATH_MAX), doc="Control destination URL (see lttng(1)).")
    data_url: str = csfield(CharArray(PATH_MAX), doc="Data destination URL (see lttng(1)).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngSaveSessionAttr(WireStruct):
    """What ``lttng save`` asks for.

    Mirrors ``struct lttng_save_session_attr`` (packed, 4354 B),
    include/lttng/save-internal.h @ v2.13.9 and 97535efaa.
    """

    session_name: str = csfield(
        CharArray(LTTNG_NAME_MAX), doc="Session to save; empty means all sessions."
    )
    configuration_url: str = csfield(
        CharArray(PATH_MAX), doc="Where to write the configuration (URL, see lttng(1))."
    )
    overwrite: int = csfield(u8, doc="1 to overwrite an existing configuration file.")
    omit_name: int = csfield(u8, doc="1 to leave the session name(s) out of the configuration.")
    omit_output: int = csfield(u8, doc="1 to leave the session output(s) out of the configuration.")


# ------------------------------------------------------------------------- events


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngEventProbeAttr(WireStruct):
    """Kprobe / kretprobe location.

    Mirrors ``struct lttng_event_probe_attr`` (288 B), include/lttng/event.h @ both.
    """

    addr: int = csfield(u64, doc="Probe address (used instead of symbol_name and offset).")
    offset: int = csfield(u64, doc="Offset from symbol_name in bytes.")
    symbol_name: str = csfield(CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Symbol to probe.")
    padding: bytes = csfield_default(
        RawArray(LTTNG_EVENT_PROBE_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_EVENT_PROBE_PADDING1),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngEventFunctionAttr(WireStruct):
    """Function-entry tracer symbol.

    Mirrors ``struct lttng_event_function_attr`` (272 B), include/lttng/event.h @ both.
    """

    symbol_name: str = csfield(CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Function symbol to trace.")
    padding: bytes = csfield_default(
        RawArray(LTTNG_EVENT_FUNCTION_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_EVENT_FUNCTION_PADDING1),
    )


_EVENT_EXTENDED = _pointer_union()
_EVENT_ATTR = CUnion(
    LTTNG_EVENT_PADDING2,
    {
        "probe": DataclassStruct(LttngEventProbeAttr),
        "ftrace": DataclassStruct(LttngEventFunctionAttr),
        "padding": RawArray(LTTNG_EVENT_PADDING2),
    },
    key="type",
    cases={
        # trace-kernel.c trace_kernel_create_event (both revisions) reads these.
        LttngEventType.LTTNG_EVENT_PROBE: "probe",
        LttngEventType.LTTNG_EVENT_FUNCTION: "probe",
        LttngEventType.LTTNG_EVENT_FUNCTION_ENTRY: "ftrace",
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngEvent(WireStruct):
    """An event rule of the classic API, as ``lttng enable-event`` builds it.

    Mirrors ``struct lttng_event`` (natural alignment, 584 B),
    include/lttng/event.h @ v2.13.9 and 97535efaa (the header documents each
    offset). ``flags`` holds an OR of ``enum lttng_event_flag`` bits, hence a
    plain integer. ``extended`` is ``union { uint64_t padding; void *ptr; }``
    holding a client pointer. ``attr`` (union of ``probe``, ``ftrace`` and
    ``char padding[288]``) is selected by ``type`` the way
    ``trace_kernel_create_event`` (trace-kernel.c) reads it: ``probe`` for
    PROBE and FUNCTION (kretprobe), ``ftrace`` for FUNCTION_ENTRY, raw bytes
    otherwise.
    """

    type: LttngEventType = csfield(
        StrictEnum(s32, LttngEventType), doc="Kind of event (lttng_event_type)."
    )
    name: str = csfield(CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Event name or pattern.")
    loglevel_type: LttngLoglevelType = csfield(
        StrictEnum(u32, LttngLoglevelType), doc="How loglevel is matched: all, range or single."
    )
    loglevel: int = csfield(s32, doc="Log level to match; -1 when none is given.")
    enabled: int = csfield(s32, doc="1 if enabled, 0 if disabled, -1 if it does not apply.")
    pid: int = csfield(s32, doc="Process ID of the application (listings of its tracepoints).")
    filter: int = csfield(u8, doc="1 if a filter expression is attached.")
    exclusion: int = csfield(u8, doc="1 if event name exclusions are attached.")
    padding2: bytes = csfield_default(RawArray(2), doc="Reserved, zero.", default=bytes(2))
    flags: int = csfield(u32, doc="OR of lttng_event_flag bits (system call bitness).")
    padding: bytes = csfield_default(RawArray(4), doc="Reserved, zero.", default=bytes(4))
    extended: int = csfield(
        _EVENT_EXTENDED, doc="Client pointer to extended attributes; meaningless to the peer."
    )
    extended_tail: bytes = csfield_default(UnionTail(_EVENT_EXTENDED), default=b"")
    attr: LttngEventProbeAttr | LttngEventFunctionAttr | bytes = csfield(
        _EVENT_ATTR, doc="Per-type configuration: probe or function attributes."
    )
    attr_tail: bytes = csfield_default(UnionTail(_EVENT_ATTR), default=b"")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngEventPerfCounterCtx(WireStruct):
    """A perf counter context.

    Mirrors ``struct lttng_event_perf_counter_ctx`` (natural alignment, 288 B),
    include/lttng/event.h @ both: 4 pad bytes align ``config`` to 8.
    """

    type: int = csfield(u32, doc="perf event type (PERF_TYPE_*).")
    _pad0: bytes = csfield_default(Pad(4), default=bytes(4))
    config: int = csfield(u64, doc="perf event configuration: which counter of that type.")
    name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Name of the context field holding the counter."
    )
    padding: bytes = csfield_default(
        RawArray(LTTNG_PERF_EVENT_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_PERF_EVENT_PADDING1),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngEventContextAppCtx(WireStruct):
    """An application context's provider and context names, as client pointers.

    ``struct { char *provider_name; char *ctx_name; } app_ctx`` of ``lttng_event_context``.

    Client pointers: ``lttng_add_context`` (lttng-ctl.c @ 97535efaa) sends them
    as NULL and the names after the message.
    """

    provider_name: int = csfield(
        u64, doc="Client pointer to the provider name (sent NULL; name follows)."
    )
    ctx_name: int = csfield(
        u64, doc="Client pointer to the context name (sent NULL; name follows)."
    )


_CONTEXT_U = CUnion(
    LTTNG_EVENT_CONTEXT_PADDING2,
    {
        "perf_counter": DataclassStruct(LttngEventPerfCounterCtx),
        "app_ctx": DataclassStruct(LttngEventContextAppCtx),
        "padding": RawArray(LTTNG_EVENT_CONTEXT_PADDING2),
    },
    key="ctx",
    cases={
        LttngEventContextType.LTTNG_EVENT_CONTEXT_PERF_COUNTER: "perf_counter",
        LttngEventContextType.LTTNG_EVENT_CONTEXT_PERF_CPU_COUNTER: "perf_counter",
        LttngEventContextType.LTTNG_EVENT_CONTEXT_PERF_THREAD_COUNTER: "perf_counter",
        LttngEventContextType.LTTNG_EVENT_CONTEXT_APP_CONTEXT: "app_ctx",
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngEventContext(WireStruct):
    """A context to add to a channel.

    Mirrors ``struct lttng_event_context`` (natural alignment, 312 B),
    include/lttng/event.h @ v2.13.9 and 97535efaa: ``ctx`` and ``padding[16]``
    end at 20, 4 pad bytes align the union ``u`` (it holds ``uint64_t`` and
    pointers) to 24. ``u`` is selected by ``ctx`` as the session daemon reads
    it (``context_kernel_add`` in context.c, ``trace_ust_create_context`` in
    trace-ust.c): ``perf_counter`` for the three PERF_* contexts, ``app_ctx``
    for APP_CONTEXT, raw bytes otherwise.
    """

    ctx: LttngEventContextType = csfield(
        StrictEnum(u32, LttngEventContextType), doc="Context to add (lttng_event_context_type)."
    )
    padding: bytes = csfield_default(
        RawArray(LTTNG_EVENT_CONTEXT_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_EVENT_CONTEXT_PADDING1),
    )
    _pad0: bytes = csfield_default(Pad(4), default=bytes(4))
    u: LttngEventPerfCounterCtx | LttngEventContextAppCtx | bytes = csfield(
        _CONTEXT_U, doc="Per-context parameters, selected by ctx."
    )
    u_tail: bytes = csfield_default(UnionTail(_CONTEXT_U), default=b"")


# ----------------------------------------------------------------------- channels

_CHANNEL_ATTR_EXTENDED = _pointer_union()


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngChannelAttr(WireStruct):
    """Channel attributes.

    Mirrors ``struct lttng_channel_attr`` (natural alignment, 344 B),
    include/lttng/channel.h @ v2.13.9 and 97535efaa: pads of 4 bytes after
    ``overwrite`` (to 8), after ``output`` (to 40) and at the end (340 → 344).
    ``output`` is an ``enum lttng_event_output`` (declared and registered by
    :mod:`ustref.protocol.consumer`). ``extended`` is
    ``union { uint64_t padding; void *ptr; }``: a client pointer
    (``lttng_enable_channel`` @ 97535efaa sends NULL).
    """

    overwrite: int = csfield(s32, doc="1: overwrite when full, 0: discard, -1: session default.")
    _pad0: bytes = csfield_default(Pad(4), default=bytes(4))
    subbuf_size: int = csfield(u64, doc="Sub-buffer size in bytes (power of 2).")
    num_subbuf: int = csfield(u64, doc="Number of sub-buffers per stream (power of 2).")
    switch_timer_interval: int = csfield(
        u32, doc="Periodic sub-buffer switch timer in µs (0: off)."
    )
    read_timer_interval: int = csfield(u32, doc="Read timer period in µs (0: off).")
    output: LttngEventOutput = csfield(
        StrictEnum(u32, LttngEventOutput),
        doc="Consumption method: splice or mmap (lttng_event_output).",
    )
    _pad1: bytes = csfield_default(Pad(4), default=bytes(4))
    tracefile_size: int = csfield(u64, doc="Maximum size of a trace file in bytes (0: unlimited).")
    tracefile_count: int = csfield(
        u64, doc="Maximum number of trace files per stream (0: unlimited)."
    )
    live_timer_interval: int = csfield(u32, doc="Live timer period in µs (0: off).")
    align_to_64: int = csfield(u32, doc="Unused; aligns extended to 8 bytes.")
    extended: int = csfield(
        _CHANNEL_ATTR_EXTENDED,
        doc="Client pointer to extended attributes; meaningless to the peer.",
    )
    extended_tail: bytes = csfield_default(UnionTail(_CHANNEL_ATTR_EXTENDED), default=b"")
    padding: bytes = csfield_default(
        RawArray(LTTNG_CHANNEL_ATTR_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_CHANNEL_ATTR_PADDING1),
    )
    _pad2: bytes = csfield_default(Pad(4), default=bytes(4))


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngChannel(WireStruct):
    """A channel as ``lttng enable-channel`` describes it.

    Mirrors ``struct lttng_channel`` (natural alignment, 624 B),
    include/lttng/channel.h @ v2.13.9 and 97535efaa: 4 pad bytes after
    ``enabled`` align ``attr`` to 264.
    """

    name: str = csfield(CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Channel name.")
    enabled: int = csfield(u32, doc="1 if the channel is enabled, 0 if disabled.")
    _pad0: bytes = csfield_default(Pad(4), default=bytes(4))
    attr: LttngChannelAttr = csfield(DataclassStruct(LttngChannelAttr), doc="Channel attributes.")
    padding: bytes = csfield_default(
        RawArray(LTTNG_CHANNEL_PADDING1),
        doc="Reserved for later ABI extensions; zero.",
        default=bytes(LTTNG_CHANNEL_PADDING1),
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngChannelExtended(WireStruct):
    """Channel attributes added after the public struct froze.

    Mirrors ``struct lttng_channel_extended`` (packed, 32 B),
    include/lttng/channel-internal.h @ v2.13.9 and 97535efaa.
    """

    discarded_events: int = csfield(u64, doc="Number of events discarded by the channel.")
    lost_packets: int = csfield(u64, doc="Number of packets lost by the channel.")
    monitor_timer_interval: int = csfield(
        u64, doc="Period of the channel usage sampling in µs (0: off)."
    )
    blocking_timeout: int = csfield(
        s64, doc="Blocking timeout in µs (0: never block, -1: block forever)."
    )


SESSION = struct("lttng_session", LttngSession, header=SESSION_H, protocol=Protocol.CLIENT)
DOMAIN = struct("lttng_domain", LttngDomain, header=DOMAIN_H, protocol=Protocol.CLIENT)
CALIBRATE = struct("lttng_calibrate", LttngCalibrate, header=LTTNG_H, protocol=Protocol.CLIENT)
SNAPSHOT_OUTPUT = struct(
    "lttng_snapshot_output",
    LttngSnapshotOutput,
    header=SNAPSHOT_INTERNAL_H,
    protocol=Protocol.CLIENT,
)
SAVE_SESSION_ATTR = struct(
    "lttng_save_session_attr",
    LttngSaveSessionAttr,
    header=SAVE_INTERNAL_H,
    protocol=Protocol.CLIENT,
)
EVENT_PROBE_ATTR = struct(
    "lttng_event_probe_attr", LttngEventProbeAttr, header=EVENT_H, protocol=Protocol.CLIENT
)
EVENT_FUNCTION_ATTR = struct(
    "lttng_event_function_attr", LttngEventFunctionAttr, header=EVENT_H, protocol=Protocol.CLIENT
)
EVENT = struct("lttng_event", LttngEvent, header=EVENT_H, protocol=Protocol.CLIENT)
EVENT_PERF_COUNTER_CTX = struct(
    "lttng_event_perf_counter_ctx",
    LttngEventPerfCounterCtx,
    header=EVENT_H,
    protocol=Protocol.CLIENT,
)
EVENT_CONTEXT = struct(
    "lttng_event_context", LttngEventContext, header=EVENT_H, protocol=Protocol.CLIENT
)
CHANNEL_ATTR = struct(
    "lttng_channel_attr", LttngChannelAttr, header=CHANNEL_H, protocol=Protocol.CLIENT
)
CHANNEL = struct("lttng_channel", LttngChannel, header=CHANNEL_H, protocol=Protocol.CLIENT)
CHANNEL_EXTENDED = struct(
    "lttng_channel_extended",
    LttngChannelExtended,
    header=CHANNEL_INTERNAL_H,
    protocol=Protocol.CLIENT,
)
