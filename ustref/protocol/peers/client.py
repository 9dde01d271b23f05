"""Client (liblttng-ctl) ↔ session daemon messages, and the in-process socket structs.

Mirrors the client part of ``src/common/sessiond-comm/sessiond-comm.h`` at
lttng-tools v2.13.9 and 97535efaa: the request ``struct lttcomm_session_msg``
(always sent whole, ``sizeof`` = 13156 B at both revisions), the reply header
``struct lttcomm_lttng_msg`` and the command headers / payload structs that
follow it, plus the ``lttcomm_sock*`` structs that never leave a process but
are named ``lttcomm_*`` (registered as :attr:`Protocol.IN_PROCESS`).

Wire differences between the two revisions (everything else is identical):

* ``lttcomm_session_msg.u``: at v2.13.9 the ``enable``, ``disable`` and
  ``context`` members are ``{char channel_name[256]; uint32_t length;}`` and
  ``channel`` is ``{uint32_t length;}`` — the event, channel and context travel
  serialized after the message (``lttng_event_comm`` … in
  include/lttng/*-internal.h). At 97535efaa these members embed the public
  structs: ``enable`` = channel_name + ``struct lttng_event`` + four lengths
  (856 B), ``disable`` = channel_name + ``lttng_event`` + two lengths (848 B),
  ``channel`` = ``struct lttng_channel`` + ``struct lttng_channel_extended``
  (656 B), ``context`` = channel_name + ``struct lttng_event_context`` + two
  name lengths (576 B). The union size (8464 B) and every other member are the
  same.
* ``enum lttcomm_sessiond_command``: v2.13.9 adds the sentinels
  ``LTTCOMM_SESSIOND_COMMAND_MIN`` (-1) and ``LTTCOMM_SESSIOND_COMMAND_MAX``
  (53); the commands and their values are the same. Neither sentinel is a valid
  ``cmd_type`` (``lttcomm_sessiond_command_is_valid``), so the fields use
  :class:`LttcommSessiondCommand`, which has none.
* Reply command headers: v2.13.9 has ``lttcomm_list_command_header {count}``
  (LIST_TRACEPOINTS, LIST_TRACEPOINT_FIELDS, LIST_SYSCALLS, LIST_CHANNELS,
  LIST_EVENTS); 97535efaa has ``lttcomm_event_command_header {nb_events}``
  instead (LIST_EVENTS) and uses ``lttcomm_event_extended_header`` after each
  listed event (declared but unused at v2.13.9).
* In-process: ``lttcomm_sockaddr``, ``lttcomm_sock`` and
  ``lttcomm_relayd_sock`` are ``LTTNG_PACKED`` at 97535efaa only. Their members
  happen to be naturally aligned, so offsets and sizes are the same; only the
  alignment (8 vs 1) differs, which matters where 97535efaa embeds
  ``lttcomm_relayd_sock`` in ``lttcomm_consumer_msg``.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

from construct_typed import DataclassStruct, csfield, csfield_default

from ustref.errors import RemoteProtocolError
from ustref.protocol.abi import Abi
from ustref.protocol.constants import LTTNG_SYMBOL_NAME_LEN, PATH_MAX
from ustref.protocol.fields import (
    CharArray,
    CStr,
    CUnion,
    FlexArray,
    RawArray,
    StrictEnum,
    UnionTail,
    WireStruct,
    c_enum,
    s32,
    s64,
    u8,
    u16,
    u32,
    u64,
)
from ustref.protocol.peers.lttng_types import (
    LttngCalibrate,
    LttngChannel,
    LttngChannelExtended,
    LttngDomain,
    LttngEvent,
    LttngEventContext,
    LttngProcessAttr,
    LttngProcessAttrValueType,
    LttngRotationState,
    LttngSaveSessionAttr,
    LttngSession,
    LttngSnapshotOutput,
    LttngTrackingPolicy,
)
from ustref.protocol.registry import Protocol, StructSpec, register_enums, struct

HEADER = "src/common/sessiond-comm/sessiond-comm.h"
V2139_ONLY = (Abi.V2_13_9,)
R97535EFAA_ONLY = (Abi.R97535EFAA,)

#: ``LTTNG_FILTER_PADDING`` and ``LTTNG_EVENT_EXCLUSION_PADDING``, sessiond-comm.h.
LTTNG_FILTER_PADDING = 32
LTTNG_EVENT_EXCLUSION_PADDING = 32
#: ``sizeof`` of ``lttcomm_session_msg.u``: its largest member is
#: ``snapshot_record`` (4 + 8459 = 8463 B, packed); ``lttng_calibrate`` (an
#: enum, alignment 4) makes the union 4-aligned, so 8463 rounds up to 8464.
SESSION_MSG_UNION_SIZE = 8464


# --------------------------------------------------------------------------- enums


@c_enum("lttcomm_sessiond_command")
class LttcommSessiondCommand(enum.IntEnum):
    """The client commands: ``enum lttcomm_sessiond_command``, sessiond-comm.h.

    Exactly the C enum at 97535efaa; at v2.13.9 the C enum also has the two
    sentinels (see :data:`LttcommSessiondCommandV2139`), which are not commands.
    ``cmd_type`` fields use this class at both revisions.
    """

    LTTNG_ADD_CONTEXT = 0
    LTTNG_DISABLE_CHANNEL = 2
    LTTNG_DISABLE_EVENT = 3
    LTTNG_LIST_SYSCALLS = 4
    LTTNG_ENABLE_CHANNEL = 5
    LTTNG_ENABLE_EVENT = 6
    LTTNG_DESTROY_SESSION = 9
    LTTNG_LIST_CHANNELS = 10
    LTTNG_LIST_DOMAINS = 11
    LTTNG_LIST_EVENTS = 12
    LTTNG_LIST_SESSIONS = 13
    LTTNG_LIST_TRACEPOINTS = 14
    LTTNG_REGISTER_CONSUMER = 15
    LTTNG_START_TRACE = 16
    LTTNG_STOP_TRACE = 17
    LTTNG_LIST_TRACEPOINT_FIELDS = 18
    LTTNG_DISABLE_CONSUMER = 19
    LTTNG_ENABLE_CONSUMER = 20
    LTTNG_SET_CONSUMER_URI = 21
    LTTNG_DATA_PENDING = 24
    LTTNG_SNAPSHOT_ADD_OUTPUT = 25
    LTTNG_SNAPSHOT_DEL_OUTPUT = 26
    LTTNG_SNAPSHOT_LIST_OUTPUT = 27
    LTTNG_SNAPSHOT_RECORD = 28
    LTTNG_SAVE_SESSION = 31
    LTTNG_PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE = 32
    LTTNG_PROCESS_ATTR_TRACKER_REMOVE_INCLUDE_VALUE = 33
    LTTNG_PROCESS_ATTR_TRACKER_GET_POLICY = 34
    LTTNG_PROCESS_ATTR_TRACKER_SET_POLICY = 35
    LTTNG_PROCESS_ATTR_TRACKER_GET_INCLUSION_SET = 36
    LTTNG_SET_SESSION_SHM_PATH = 40
    LTTNG_REGENERATE_METADATA = 41
    LTTNG_REGENERATE_STATEDUMP = 42
    LTTNG_REGISTER_TRIGGER = 43
    LTTNG_UNREGISTER_TRIGGER = 44
    LTTNG_ROTATE_SESSION = 45
    LTTNG_ROTATION_GET_INFO = 46
    LTTNG_ROTATION_SET_SCHEDULE = 47
    LTTNG_SESSION_LIST_ROTATION_SCHEDULES = 48
    LTTNG_CREATE_SESSION_EXT = 49
    LTTNG_CLEAR_SESSION = 50
    LTTNG_LIST_TRIGGERS = 51
    LTTNG_EXECUTE_ERROR_QUERY = 52


_V2139_COMMAND_MEMBERS = [
    ("LTTCOMM_SESSIOND_COMMAND_MIN", -1),
    *((member.name, member.value) for member in LttcommSessiondCommand),
    ("LTTCOMM_SESSIOND_COMMAND_MAX", max(LttcommSessiondCommand) + 1),
]
#: ``enum lttcomm_sessiond_command`` as declared at v2.13.9: the commands
#: between the sentinels MIN (-1) and MAX (53). For the layout only.
LttcommSessiondCommandV2139: type[enum.IntEnum] = enum.IntEnum(  # type: ignore[misc]
    "LttcommSessiondCommandV2139", _V2139_COMMAND_MEMBERS
)
c_enum("lttcomm_sessiond_command")(LttcommSessiondCommandV2139)


register_enums(LttcommSessiondCommandV2139, abis=V2139_ONLY)
register_enums(LttcommSessiondCommand, abis=R97535EFAA_ONLY)


# ------------------------------------------------------- structs after the message


_INTEGRAL_U = CUnion(8, {"_signed": s64, "_unsigned": u64}, default="_unsigned")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProcessAttrIntegralValueComm(WireStruct):
    """A pid/uid/gid of a tracker request.

    Mirrors ``struct process_attr_integral_value_comm`` (packed, 8 B),
    sessiond-comm.h @ v2.13.9 and 97535efaa. Its union
    ``u {int64_t _signed; uint64_t _unsigned;}`` is selected by nothing in the
    struct (the enclosing ``value_type`` decides: the ``tracker.c`` senders write
    ``_signed`` for pids, ``_unsigned`` for uids/gids); it parses as
    ``_unsigned``, which represents every bit pattern.
    """

    u: int = csfield(_INTEGRAL_U, doc="The id: signed for pids, unsigned for uids and gids.")
    u_tail: bytes = csfield_default(UnionTail(_INTEGRAL_U), default=b"")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngBytecode(WireStruct):
    """A filter bytecode, sent after an ENABLE_EVENT / DISABLE_EVENT request.

    Mirrors ``struct lttng_bytecode`` (packed, 48 B + ``data[len]``),
    sessiond-comm.h @ v2.13.9 and 97535efaa.
    """

    len: int = csfield(u32, doc="Size in bytes of the bytecode in data.")
    reloc_table_offset: int = csfield(
        u32, doc="Offset in data of the relocation table that ends the bytecode, in bytes."
    )
    seqnum: int = csfield(
        u64, doc="Sequence number ordering capture bytecodes; left 0 for filters."
    )
    padding: bytes = csfield_default(
        RawArray(LTTNG_FILTER_PADDING),
        doc="Reserved, zero-filled.",
        default=bytes(LTTNG_FILTER_PADDING),
    )
    data: bytes = csfield(
        FlexArray(length=lambda this: this.len),
        doc="The bytecode, ending with its relocation table.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngEventExclusion(WireStruct):
    """Event-name exclusions, sent after an ENABLE_EVENT request.

    Mirrors ``struct lttng_event_exclusion`` (packed, 36 B +
    ``names[count][LTTNG_SYMBOL_NAME_LEN]``), sessiond-comm.h @ v2.13.9 and
    97535efaa. ``names`` is kept as the raw ``count * 256`` bytes (so any
    received bytes rebuild exactly); :func:`exclusion_names` decodes and checks
    them.
    """

    count: int = csfield(u32, doc="Number of excluded event names in names.")
    padding: bytes = csfield_default(
        RawArray(LTTNG_EVENT_EXCLUSION_PADDING),
        doc="Reserved, zero-filled.",
        default=bytes(LTTNG_EVENT_EXCLUSION_PADDING),
    )
    names: bytes = csfield(
        FlexArray(length=lambda this: this.count * LTTNG_SYMBOL_NAME_LEN),
        doc="The excluded event names, 256 bytes each, NUL-terminated.",
    )


def exclusion_names(exclusion: LttngEventExclusion) -> list[str]:
    """The ``count`` names of ``exclusion``; a name without NUL is a protocol error."""
    names: list[str] = []
    for index in range(exclusion.count):
        start = index * LTTNG_SYMBOL_NAME_LEN
        name = CStr.decode_field(exclusion.names[start : start + LTTNG_SYMBOL_NAME_LEN])
        if name is None:
            raise RemoteProtocolError(
                f"exclusion name {index} is not NUL-terminated",
                message="lttng_event_exclusion",
                field="names",
                offset=36 + start,
            )
        names.append(name)
    return names


# ------------------------------------------------------------- request union members


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgChannelNameLength(WireStruct):
    """Target channel and size of the serialized event or context that follows (260 B).

    ``u.enable``, ``u.disable`` and ``u.context`` at v2.13.9 (packed).
    ``length`` is the size of the serialized ``lttng_event_comm`` /
    ``lttng_event_context_comm`` payload that follows the message. Senders
    (lttng-ctl.c): ``lttng_enable_event_with_exclusions``,
    ``lttng_disable_event_ext``, ``lttng_disable_channel`` (name only),
    ``lttng_add_context``; readers (client.c, cmd.c): ``receive_lttng_event``,
    ``receive_lttng_event_context``, ``cmd_enable_event``,
    ``cmd_disable_event``, ``cmd_disable_channel``, ``cmd_add_context``.
    """

    channel_name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN),
        doc="Target channel, NUL-terminated; empty: default channel (all, for a context).",
    )
    length: int = csfield(
        u32, doc="Size in bytes of the serialized event or context after the message."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgLength(WireStruct):
    """Size of the serialized channel or error query that follows (4 B).

    ``u.channel`` at v2.13.9 and ``u.error_query`` (packed). ``length`` of the
    payload that follows: a serialized ``lttng_channel_comm``
    (``lttng_enable_channel`` → ``cmd_enable_channel``) or error query
    (``lttng_error_query_execute`` → ``receive_lttng_error_query``).
    """

    length: int = csfield(
        u32, doc="Size in bytes of the serialized channel or error query after the message."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgEnableR97535efaa(WireStruct):
    """ENABLE_EVENT arguments: channel, event rule and sizes of what follows (856 B).

    ``u.enable`` at 97535efaa (packed). Followed by ``exclusion_count`` names
    of 256 B, the filter expression, the bytecode and the userspace probe
    location. Sender ``lttng_enable_event_with_exclusions`` (lttng-ctl.cpp);
    reader ``process_client_msg`` (client.cpp).
    """

    channel_name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN),
        doc="Channel to enable the event in, NUL-terminated; empty for the default.",
    )
    event: LttngEvent = csfield(DataclassStruct(LttngEvent), doc="The event rule to enable.")
    expression_len: int = csfield(
        u32, doc="Size in bytes of the filter expression that follows, NUL included."
    )
    bytecode_len: int = csfield(
        u32, doc="Size in bytes of the filter bytecode that follows, header included."
    )
    exclusion_count: int = csfield(u32, doc="Number of 256-byte exclusion names that follow.")
    userspace_probe_location_len: int = csfield(
        u32, doc="Size in bytes of the serialized userspace probe location that follows."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgDisableR97535efaa(WireStruct):
    """DISABLE_EVENT / DISABLE_CHANNEL arguments: channel, event rule, filter sizes (848 B).

    ``u.disable`` at 97535efaa (packed). Senders ``lttng_disable_event_ext``
    (which writes the two lengths through ``u.enable``: same offsets) and
    ``lttng_disable_channel`` (name only); reader ``process_client_msg``
    (client.cpp), which discards the filter.
    """

    channel_name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN),
        doc="Channel of the event, or channel to disable; NUL-terminated.",
    )
    event: LttngEvent = csfield(DataclassStruct(LttngEvent), doc="The event rule to disable.")
    expression_len: int = csfield(
        u32, doc="Size in bytes of the filter expression that follows, NUL included."
    )
    bytecode_len: int = csfield(
        u32, doc="Size in bytes of the filter bytecode that follows, header included."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgChannelR97535efaa(WireStruct):
    """ENABLE_CHANNEL arguments: the channel and its extended attributes (656 B).

    ``u.channel`` at 97535efaa (packed). Sender ``lttng_enable_channel``;
    reader ``process_client_msg``, which points ``chan.attr.extended.ptr`` at
    ``extended``.
    """

    chan: LttngChannel = csfield(
        DataclassStruct(LttngChannel), doc="The channel to enable, with its attributes."
    )
    extended: LttngChannelExtended = csfield(
        DataclassStruct(LttngChannelExtended),
        doc="Extended channel attributes (timers, blocking timeout, …).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgContextR97535efaa(WireStruct):
    """ADD_CONTEXT arguments: channel, context and app context name lengths (576 B).

    ``u.context`` at 97535efaa (packed). For an application context the
    provider and context names follow (their lengths here, without NUL). Sender
    ``lttng_add_context``; reader ``process_client_msg``.
    """

    channel_name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN),
        doc="Channel to add the context to, NUL-terminated; empty for all channels.",
    )
    ctx: LttngEventContext = csfield(DataclassStruct(LttngEventContext), doc="The context to add.")
    provider_name_len: int = csfield(
        u32, doc="Length of the app context provider name that follows, NUL excluded."
    )
    context_name_len: int = csfield(
        u32, doc="Length of the app context name that follows, NUL excluded."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgReg(WireStruct):
    """REGISTER_CONSUMER argument: the consumer daemon's socket path.

    ``u.reg`` (packed): ``lttng_register_consumer`` → ``cmd_register_consumer``.
    """

    path: str = csfield(
        CharArray(PATH_MAX), doc="Socket path of the consumer daemon to register, NUL-terminated."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgList(WireStruct):
    """LIST_EVENTS argument: the channel whose events to list.

    ``u.list`` (packed): ``lttng_list_events`` → ``cmd_list_events``.
    """

    channel_name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN), doc="Channel whose events to list, NUL-terminated."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgUri(WireStruct):
    """SET_CONSUMER_URI argument: the number of URIs that follow.

    ``u.uri`` (packed): ``size`` ``lttng_uri`` follow.
    ``lttng_set_consumer_url`` → ``process_client_msg`` (LTTNG_SET_CONSUMER_URI).
    """

    size: int = csfield(u32, doc="Number of lttng_uri structs that follow the message.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgSnapshotOutput(WireStruct):
    """SNAPSHOT_ADD_OUTPUT / SNAPSHOT_DEL_OUTPUT argument: the snapshot output.

    ``u.snapshot_output`` (packed).
    ``lttng_snapshot_add_output`` / ``lttng_snapshot_del_output`` (snapshot.c)
    → ``cmd_snapshot_add_output`` / ``cmd_snapshot_del_output``.
    """

    output: LttngSnapshotOutput = csfield(
        DataclassStruct(LttngSnapshotOutput), doc="The snapshot output to add or delete."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgSnapshotRecord(WireStruct):
    """SNAPSHOT_RECORD arguments: wait flag and output to record to.

    ``u.snapshot_record`` (packed): ``lttng_snapshot_record`` → ``cmd_snapshot_record``.
    """

    wait: int = csfield(
        u32, doc="Wait flag; ignored (recording always completes before the reply)."
    )
    output: LttngSnapshotOutput = csfield(
        DataclassStruct(LttngSnapshotOutput),
        doc="Output to record to; an empty control URL selects the session's outputs.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgSessionLive(WireStruct):
    """Live session creation arguments: URI count and live timer (obsolete).

    ``u.session_live`` (packed): no command uses it any more (CREATE_SESSION_EXT replaced it).
    """

    nb_uri: int = csfield(
        u32, doc="Number of lttng_uri that follow (member unused by any command)."
    )
    timer_interval: int = csfield(
        u32, doc="Live timer period, in microseconds (member unused by any command)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgSaveSession(WireStruct):
    """SAVE_SESSION argument: what to save and where.

    ``u.save_session`` (packed): ``lttng_save_session`` (save.c) → ``cmd_save_sessions``.
    """

    attr: LttngSaveSessionAttr = csfield(
        DataclassStruct(LttngSaveSessionAttr), doc="What to save and where."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgSetShmPath(WireStruct):
    """SET_SESSION_SHM_PATH argument: the session's shared memory directory.

    ``u.set_shm_path`` (packed).
    ``lttng_set_session_shm_path`` → ``cmd_set_session_shm_path``.
    """

    shm_path: str = csfield(
        CharArray(PATH_MAX), doc="Directory for the session's shared memory files, NUL-terminated."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgProcessAttrValue(WireStruct):
    """Tracker ADD/REMOVE_INCLUDE_VALUE arguments: tracker and value to include (20 B).

    ``u.process_attr_tracker_add_remove_include_value`` (packed). For
    user/group names, a NUL-terminated name of ``name_len`` bytes follows and
    ``integral_value`` is unused. Senders: the
    ``lttng_process_attr_*_tracker_handle_{add,remove}_*`` functions
    (tracker.c); reader ``process_client_msg`` →
    ``process_attr_value_from_comm``.
    """

    process_attr: LttngProcessAttr = csfield(
        StrictEnum(s32, LttngProcessAttr),
        doc="Tracker to modify (pid, vpid, uid, vuid, gid or vgid).",
    )
    value_type: LttngProcessAttrValueType = csfield(
        StrictEnum(s32, LttngProcessAttrValueType),
        doc="How the value is given: a numeric id or a user/group name.",
    )
    integral_value: ProcessAttrIntegralValueComm = csfield(
        DataclassStruct(ProcessAttrIntegralValueComm),
        doc="The pid, uid or gid when given as a number.",
    )
    name_len: int = csfield(
        u32, doc="Length in bytes of the user/group name that follows, NUL included."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgProcessAttr(WireStruct):
    """Tracker GET_POLICY / GET_INCLUSION_SET argument: the tracker to query (4 B).

    ``u.process_attr_tracker_get_inclusion_set`` and ``…_get_tracking_policy``:
    ``lttng_process_attr_tracker_handle_get_tracking_policy`` →
    ``process_client_msg`` (GET_POLICY) reads ``…_get_tracking_policy``;
    ``lttng_process_attr_tracker_handle_get_inclusion_set`` writes
    ``…_get_tracking_policy`` too, while ``process_client_msg``
    (GET_INCLUSION_SET) reads ``…_get_inclusion_set`` — same offset.
    """

    process_attr: LttngProcessAttr = csfield(
        StrictEnum(s32, LttngProcessAttr),
        doc="Tracker to query (pid, vpid, uid, vuid, gid or vgid).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgSetTrackingPolicy(WireStruct):
    """Tracker SET_POLICY arguments: the tracker and its new policy (8 B).

    ``u.process_attr_tracker_set_tracking_policy`` (packed):
    ``lttng_process_attr_tracker_handle_set_tracking_policy`` →
    ``cmd_process_attr_tracker_set_tracking_policy``.
    """

    process_attr: LttngProcessAttr = csfield(
        StrictEnum(s32, LttngProcessAttr),
        doc="Tracker to modify (pid, vpid, uid, vuid, gid or vgid).",
    )
    tracking_policy: LttngTrackingPolicy = csfield(
        StrictEnum(s32, LttngTrackingPolicy),
        doc="New policy: include all, exclude all, or include the inclusion set.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgTrigger(WireStruct):
    """REGISTER/UNREGISTER_TRIGGER arguments: trigger size and anonymity (5 B).

    ``u.trigger`` (packed): a serialized trigger of ``length`` bytes follows.
    ``_lttng_register_trigger`` / ``lttng_unregister_trigger`` →
    ``receive_lttng_trigger`` (client.c).
    """

    length: int = csfield(u32, doc="Size in bytes of the serialized trigger after the message.")
    is_trigger_anonymous: int = csfield(
        u8, doc="1 to register the trigger without a name (none given or generated)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgGetRotationInfo(WireStruct):
    """ROTATION_GET_INFO argument: the rotation to query.

    ``u.get_rotation_info`` (packed).
    ``ask_rotation_info`` (rotate.c) → ``cmd_rotate_get_info``.
    """

    rotation_id: int = csfield(
        u64, doc="Id of the rotation to query (from the ROTATE_SESSION reply)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgRotationSetSchedule(WireStruct):
    """ROTATION_SET_SCHEDULE arguments: schedule kind, set or clear, and value (10 B).

    ``u.rotation_set_schedule`` (packed).
    ``lttng_rotation_update_schedule`` (rotate.c) → ``cmd_rotation_set_schedule``.
    ``type`` carries ``enum lttng_rotation_schedule_type`` in 8 bits: its
    UNKNOWN member (-1) cannot be sent and the session daemon answers unknown
    values with an error reply, so it is a plain ``u8``.
    """

    type: int = csfield(
        u8, doc="Schedule kind: size threshold or periodic (lttng_rotation_schedule_type)."
    )
    set: int = csfield(u8, doc="1 to set the schedule to value, 0 to remove it.")
    value: int = csfield(u64, doc="Size threshold in bytes, or period in microseconds.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgCreateSession(WireStruct):
    """CREATE_SESSION_EXT arguments: sizes of the home dir and descriptor that follow (10 B).

    ``u.create_session`` (packed): a home dir and a session descriptor follow.
    ``lttng_create_session_ext`` → ``cmd_create_session`` (cmd.c).
    """

    home_dir_size: int = csfield(
        u16, doc="Size in bytes of the client's home directory that follows, NUL included; or 0."
    )
    session_descriptor_size: int = csfield(
        u64, doc="Size in bytes of the serialized session descriptor that follows."
    )


def _session_msg_union(enable: Any, disable: Any, channel: Any, context: Any) -> CUnion:
    """``lttcomm_session_msg.u`` with the members that differ between revisions."""
    cmd = LttcommSessiondCommand
    return CUnion(
        SESSION_MSG_UNION_SIZE,
        {
            "enable": DataclassStruct(enable),
            "disable": DataclassStruct(disable),
            "channel": DataclassStruct(channel),
            "context": DataclassStruct(context),
            "reg": DataclassStruct(SessionMsgReg),
            "list": DataclassStruct(SessionMsgList),
            "calibrate": DataclassStruct(LttngCalibrate),
            "uri": DataclassStruct(SessionMsgUri),
            "snapshot_output": DataclassStruct(SessionMsgSnapshotOutput),
            "snapshot_record": DataclassStruct(SessionMsgSnapshotRecord),
            "session_live": DataclassStruct(SessionMsgSessionLive),
            "save_session": DataclassStruct(SessionMsgSaveSession),
            "set_shm_path": DataclassStruct(SessionMsgSetShmPath),
            "process_attr_tracker_add_remove_include_value": DataclassStruct(
                SessionMsgProcessAttrValue
            ),
            "process_attr_tracker_get_inclusion_set": DataclassStruct(SessionMsgProcessAttr),
            "process_attr_tracker_get_tracking_policy": DataclassStruct(SessionMsgProcessAttr),
            "process_attr_tracker_set_tracking_policy": DataclassStruct(
                SessionMsgSetTrackingPolicy
            ),
            "trigger": DataclassStruct(SessionMsgTrigger),
            "error_query": DataclassStruct(SessionMsgLength),
            "get_rotation_info": DataclassStruct(SessionMsgGetRotationInfo),
            "rotation_set_schedule": DataclassStruct(SessionMsgRotationSetSchedule),
            "create_session": DataclassStruct(SessionMsgCreateSession),
        },
        key="cmd_type",
        # The member each command's session-daemon handler reads (client.c /
        # cmd.c at both revisions). Commands absent here use no member: the
        # union stays raw bytes (zeroed by every lttng-ctl sender).
        cases={
            cmd.LTTNG_ADD_CONTEXT: "context",
            cmd.LTTNG_DISABLE_CHANNEL: "disable",
            cmd.LTTNG_DISABLE_EVENT: "disable",
            cmd.LTTNG_ENABLE_CHANNEL: "channel",
            cmd.LTTNG_ENABLE_EVENT: "enable",
            cmd.LTTNG_LIST_EVENTS: "list",
            cmd.LTTNG_REGISTER_CONSUMER: "reg",
            cmd.LTTNG_SET_CONSUMER_URI: "uri",
            cmd.LTTNG_SNAPSHOT_ADD_OUTPUT: "snapshot_output",
            cmd.LTTNG_SNAPSHOT_DEL_OUTPUT: "snapshot_output",
            cmd.LTTNG_SNAPSHOT_RECORD: "snapshot_record",
            cmd.LTTNG_SAVE_SESSION: "save_session",
            cmd.LTTNG_PROCESS_ATTR_TRACKER_ADD_INCLUDE_VALUE: (
                "process_attr_tracker_add_remove_include_value"
            ),
            cmd.LTTNG_PROCESS_ATTR_TRACKER_REMOVE_INCLUDE_VALUE: (
                "process_attr_tracker_add_remove_include_value"
            ),
            cmd.LTTNG_PROCESS_ATTR_TRACKER_GET_POLICY: "process_attr_tracker_get_tracking_policy",
            cmd.LTTNG_PROCESS_ATTR_TRACKER_SET_POLICY: "process_attr_tracker_set_tracking_policy",
            cmd.LTTNG_PROCESS_ATTR_TRACKER_GET_INCLUSION_SET: (
                "process_attr_tracker_get_inclusion_set"
            ),
            cmd.LTTNG_SET_SESSION_SHM_PATH: "set_shm_path",
            cmd.LTTNG_REGISTER_TRIGGER: "trigger",
            cmd.LTTNG_UNREGISTER_TRIGGER: "trigger",
            cmd.LTTNG_ROTATION_GET_INFO: "get_rotation_info",
            cmd.LTTNG_ROTATION_SET_SCHEDULE: "rotation_set_schedule",
            cmd.LTTNG_CREATE_SESSION_EXT: "create_session",
            cmd.LTTNG_EXECUTE_ERROR_QUERY: "error_query",
        },
    )


_SESSION_MSG_U_V2139 = _session_msg_union(
    SessionMsgChannelNameLength,
    SessionMsgChannelNameLength,
    SessionMsgLength,
    SessionMsgChannelNameLength,
)
_SESSION_MSG_U_R97535EFAA = _session_msg_union(
    SessionMsgEnableR97535efaa,
    SessionMsgDisableR97535efaa,
    SessionMsgChannelR97535efaa,
    SessionMsgContextR97535efaa,
)

#: A member of ``lttcomm_session_msg.u`` present at both revisions.
SessionMsgSharedMember = (
    SessionMsgReg
    | SessionMsgList
    | LttngCalibrate
    | SessionMsgUri
    | SessionMsgSnapshotOutput
    | SessionMsgSnapshotRecord
    | SessionMsgSessionLive
    | SessionMsgSaveSession
    | SessionMsgSetShmPath
    | SessionMsgProcessAttrValue
    | SessionMsgProcessAttr
    | SessionMsgSetTrackingPolicy
    | SessionMsgTrigger
    | SessionMsgLength
    | SessionMsgGetRotationInfo
    | SessionMsgRotationSetSchedule
    | SessionMsgCreateSession
)
#: ``lttcomm_session_msg.u`` at v2.13.9 (raw ``bytes`` for commands without member).
SessionMsgUnionV2139 = SessionMsgChannelNameLength | SessionMsgSharedMember | bytes
#: ``lttcomm_session_msg.u`` at 97535efaa (raw ``bytes`` for commands without member).
SessionMsgUnionR97535efaa = (
    SessionMsgEnableR97535efaa
    | SessionMsgDisableR97535efaa
    | SessionMsgChannelR97535efaa
    | SessionMsgContextR97535efaa
    | SessionMsgSharedMember
    | bytes
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgV2139(WireStruct):
    """A client request, v2.13.9 layout.

    Mirrors ``struct lttcomm_session_msg`` (packed, 13156 B), sessiond-comm.h @
    v2.13.9: ``cmd_type`` @0, ``session`` @4 (4376 B), ``domain`` @4380 (308 B),
    ``u`` @4688 (8464 B, selected by ``cmd_type``), ``fd_count`` @13152.
    Sent by ``send_session_msg`` (lttng-ctl.c), read by the client thread of
    the session daemon (client.c).
    """

    cmd_type: LttcommSessiondCommand = csfield(
        StrictEnum(u32, LttcommSessiondCommand),
        doc="Command requested (an lttcomm_sessiond_command value).",
    )
    session: LttngSession = csfield(
        DataclassStruct(LttngSession), doc="Session the command targets (only its name is used)."
    )
    domain: LttngDomain = csfield(
        DataclassStruct(LttngDomain), doc="Tracing domain the command applies to."
    )
    u: SessionMsgUnionV2139 = csfield(
        _SESSION_MSG_U_V2139, doc="Command arguments; cmd_type selects the member."
    )
    u_tail: bytes = csfield_default(UnionTail(_SESSION_MSG_U_V2139), default=b"")
    fd_count: int = csfield(
        u32, doc="Number of file descriptors the client passes along with the request."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionMsgR97535efaa(WireStruct):
    """A client request, 97535efaa layout.

    Mirrors ``struct lttcomm_session_msg`` (packed, 13156 B), sessiond-comm.h @
    97535efaa: same offsets as v2.13.9, but the ``enable``, ``disable``,
    ``channel`` and ``context`` members of ``u`` embed the public structs.
    """

    cmd_type: LttcommSessiondCommand = csfield(
        StrictEnum(u32, LttcommSessiondCommand),
        doc="Command requested (an lttcomm_sessiond_command value).",
    )
    session: LttngSession = csfield(
        DataclassStruct(LttngSession), doc="Session the command targets (only its name is used)."
    )
    domain: LttngDomain = csfield(
        DataclassStruct(LttngDomain), doc="Tracing domain the command applies to."
    )
    u: SessionMsgUnionR97535efaa = csfield(
        _SESSION_MSG_U_R97535EFAA, doc="Command arguments; cmd_type selects the member."
    )
    u_tail: bytes = csfield_default(UnionTail(_SESSION_MSG_U_R97535EFAA), default=b"")
    fd_count: int = csfield(
        u32, doc="Number of file descriptors the client passes along with the request."
    )


# ----------------------------------------------------------------------- replies


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngMsg(WireStruct):
    """The reply header; ``cmd_header_size`` + ``data_size`` bytes and ``fd_count`` fds follow.

    Mirrors ``struct lttcomm_lttng_msg`` (packed, 24 B), sessiond-comm.h @
    v2.13.9 and 97535efaa. Written by ``setup_lttng_msg`` /
    ``setup_empty_lttng_msg`` (client.c: ``cmd_type`` copied from the request,
    0 in the empty header; ``pid`` from ``lsm.domain.attr.pid``), read by
    ``lttng_ctl_ask_sessiond_fds_varlen`` (lttng-ctl.c). ``ret_code`` is
    commented ``enum lttcomm_return_code`` but carries ``enum
    lttng_error_code`` values (LTTNG_OK = 10, LTTNG_ERR_*; the client rejects
    values outside LTTNG_OK..LTTNG_ERR_NR), so it is a plain integer.
    """

    cmd_type: LttcommSessiondCommand = csfield(
        StrictEnum(u32, LttcommSessiondCommand),
        doc="Command this reply answers (copied from the request; 0 in an empty reply).",
    )
    ret_code: int = csfield(
        u32, doc="Result: LTTNG_OK (10) or an LTTNG_ERR_* code (lttng_error_code)."
    )
    pid: int = csfield(
        u32, doc="The pid from the request's domain attributes, echoed (0 in an empty reply)."
    )
    cmd_header_size: int = csfield(
        u32, doc="Size in bytes of the command header that follows this header."
    )
    data_size: int = csfield(
        u32, doc="Size in bytes of the payload that follows the command header."
    )
    fd_count: int = csfield(u32, doc="Number of file descriptors sent along with the reply.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngOutputId(WireStruct):
    """Payload of the SNAPSHOT_ADD_OUTPUT reply: the new output's id.

    Mirrors ``struct lttcomm_lttng_output_id`` (packed, 4 B), sessiond-comm.h @ both.
    """

    id: int = csfield(u32, doc="Id the session daemon gave the new snapshot output.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ListCommandHeader(WireStruct):
    """Command header of the LIST_* replies: the element count (v2.13.9 only).

    Mirrors ``struct lttcomm_list_command_header`` (packed, 4 B), sessiond-comm.h @ v2.13.9.
    """

    count: int = csfield(u32, doc="Number of elements listed in the payload.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class EventCommandHeader(WireStruct):
    """Command header of the LIST_EVENTS reply: the event count (97535efaa only).

    Mirrors ``struct lttcomm_event_command_header`` (packed, 4 B), sessiond-comm.h
    @ 97535efaa (``cmd_list_events``, cmd.cpp).
    """

    nb_events: int = csfield(u32, doc="Number of events listed in the payload.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class EventExtendedHeader(WireStruct):
    """Precedes each listed event's extended info (filter, exclusions, uprobe location).

    Mirrors ``struct lttcomm_event_extended_header`` (packed, 12 B),
    sessiond-comm.h @ v2.13.9 and 97535efaa; used by ``cmd_list_events`` at
    97535efaa only (v2.13.9 declares it but lists ``lttng_event_comm``).
    """

    filter_len: int = csfield(
        u32, doc="Size in bytes of the filter expression that follows, NUL included."
    )
    nb_exclusions: int = csfield(
        u32, doc="Number of 256-byte exclusion names after the filter expression."
    )
    userspace_probe_location_len: int = csfield(
        u32, doc="Size in bytes of the serialized userspace probe location, if any."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SessionDestroyCommandHeader(WireStruct):
    """Command header of the DESTROY_SESSION reply.

    Mirrors ``struct lttcomm_session_destroy_command_header`` (NOT packed, 4 B:
    one ``int32_t``), sessiond-comm.h @ both. ``rotation_state`` is commented
    ``enum lttng_session`` (sic): ``cmd_destroy_session`` writes and
    ``lttng_destruction_handle`` (destruction-handle.c) casts it as ``enum
    lttng_rotation_state``.
    """

    rotation_state: LttngRotationState = csfield(
        StrictEnum(s32, LttngRotationState),
        doc="State of the rotation implied by the destruction (NO_ROTATION if none).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrackerCommandHeader(WireStruct):
    """Mirrors ``struct lttcomm_tracker_command_header`` (packed, 4 B), sessiond-comm.h @ both.

    Declared but used by no sender or receiver at either revision (the tracker
    replies serialize ``lttng_process_attr_values`` instead).
    """

    nb_tracker_id: int = csfield(u32, doc="Number of tracker ids that follow (never sent).")


# ------------------------------------------------------------------ registration


def _client(c_name: str, dc_type: type[Any], abis: tuple[Abi, ...] = tuple(Abi)) -> StructSpec[Any]:
    return struct(c_name, dc_type, header=HEADER, protocol=Protocol.CLIENT, abis=abis)


#: ``struct lttcomm_session_msg`` per ABI.
SESSION_MSG: dict[Abi, StructSpec[Any]] = {
    Abi.V2_13_9: _client("lttcomm_session_msg", SessionMsgV2139, V2139_ONLY),
    Abi.R97535EFAA: _client("lttcomm_session_msg", SessionMsgR97535efaa, R97535EFAA_ONLY),
}
LTTNG_MSG: StructSpec[LttngMsg] = _client("lttcomm_lttng_msg", LttngMsg)
LTTNG_OUTPUT_ID: StructSpec[LttngOutputId] = _client("lttcomm_lttng_output_id", LttngOutputId)
LIST_COMMAND_HEADER: StructSpec[ListCommandHeader] = _client(
    "lttcomm_list_command_header", ListCommandHeader, V2139_ONLY
)
EVENT_COMMAND_HEADER: StructSpec[EventCommandHeader] = _client(
    "lttcomm_event_command_header", EventCommandHeader, R97535EFAA_ONLY
)
EVENT_EXTENDED_HEADER: StructSpec[EventExtendedHeader] = _client(
    "lttcomm_event_extended_header", EventExtendedHeader
)
SESSION_DESTROY_COMMAND_HEADER: StructSpec[SessionDestroyCommandHeader] = _client(
    "lttcomm_session_destroy_command_header", SessionDestroyCommandHeader
)
TRACKER_COMMAND_HEADER: StructSpec[TrackerCommandHeader] = _client(
    "lttcomm_tracker_command_header", TrackerCommandHeader
)
PROCESS_ATTR_INTEGRAL_VALUE_COMM: StructSpec[ProcessAttrIntegralValueComm] = _client(
    "process_attr_integral_value_comm", ProcessAttrIntegralValueComm
)
BYTECODE: StructSpec[LttngBytecode] = _client("lttng_bytecode", LttngBytecode)
EVENT_EXCLUSION: StructSpec[LttngEventExclusion] = _client(
    "lttng_event_exclusion", LttngEventExclusion
)
