"""Session daemon ↔ agent (JUL, log4j, Python) messages (``lttcomm_agent_*``).

Mirrors ``src/common/sessiond-comm/agent.h`` at lttng-tools v2.13.9 and
97535efaa (identical at both revisions; no wire difference), plus the
registration message of ``src/bin/lttng-sessiond/agent.h``.

Every struct is packed and every integer travels big-endian: the session
daemon (src/bin/lttng-sessiond/agent.c, agent-thread.c) converts each integer
it sends or reads with ``htobe64``/``htobe32``/``be32toh``; the ``name`` arrays
are NUL-terminated by ``lttng_strncpy``.

``ret_code`` is a plain integer: it carries an ``enum lttcomm_agent_ret_code``
but is not declared or commented as one, and the session daemon accepts any
value (``log_reply_code`` maps values outside the enum to "Unknown code").

Trailing payloads that are not C members: the filter expression (of
``filter_expression_length`` bytes, with its NUL) follows
:class:`AgentEnableEvent` in the same command payload; the
AGENT_CMD_APP_CTX_ENABLE/DISABLE payload is two :class:`AgentPString`
(provider name, then context name; ``send_pstring``).
"""

from __future__ import annotations

import dataclasses
import enum

from construct_typed import csfield

from ustref.errors import RemoteProtocolError
from ustref.protocol.constants import LTTNG_SYMBOL_NAME_LEN
from ustref.protocol.fields import (
    CharArray,
    FlexArray,
    StrictEnum,
    WireStruct,
    c_enum,
    u32be,
    u64be,
)
from ustref.protocol.peers.lttng_types import LttngDomainType
from ustref.protocol.registry import Protocol, register_enums, struct

HEADER = "src/common/sessiond-comm/agent.h"
SESSIOND_HEADER = "src/bin/lttng-sessiond/agent.h"


@c_enum("lttcomm_agent_command")
class LttcommAgentCommand(enum.IntEnum):
    """Mirrors ``enum lttcomm_agent_command``, agent.h @ v2.13.9 and 97535efaa."""

    AGENT_CMD_LIST = 1
    AGENT_CMD_ENABLE = 2
    AGENT_CMD_DISABLE = 3
    AGENT_CMD_REG_DONE = 4
    AGENT_CMD_APP_CTX_ENABLE = 5
    AGENT_CMD_APP_CTX_DISABLE = 6


@c_enum("lttcomm_agent_ret_code")
class LttcommAgentRetCode(enum.IntEnum):
    """Mirrors ``enum lttcomm_agent_ret_code``, agent.h @ v2.13.9 and 97535efaa."""

    AGENT_RET_CODE_SUCCESS = 1
    AGENT_RET_CODE_INVALID = 2
    AGENT_RET_CODE_UNKNOWN_NAME = 3
    AGENT_RET_CODE_NR = 4


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentHdr(WireStruct):
    """Header of every command to an agent (``send_header``, agent.c).

    Mirrors ``struct lttcomm_agent_hdr`` (packed), agent.h @ v2.13.9 and
    97535efaa; ``cmd`` is commented "Enum of agent command"; ``cmd_version``
    is always 0.
    """

    data_size: int = csfield(
        u64be, doc="Size in bytes of the command payload that follows this header."
    )
    cmd: LttcommAgentCommand = csfield(
        StrictEnum(u32be, LttcommAgentCommand),
        doc="Command for the agent (an lttcomm_agent_command value).",
    )
    cmd_version: int = csfield(u32be, doc="Command version; the session daemon always sends 0.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentEnableEvent(WireStruct):
    """AGENT_CMD_ENABLE payload (``enable_event``, agent.c).

    Mirrors ``struct lttcomm_agent_enable_event`` (packed), agent.h @ v2.13.9
    and 97535efaa. ``loglevel_value`` is the event's ``int`` log level sent as
    its 32-bit pattern (e.g. ``LTTNG_LOGLEVEL_JUL_ALL`` = INT32_MIN is
    0x80000000); ``loglevel_type`` an ``enum lttng_loglevel_type`` value.
    ``filter_expression_length`` bytes of filter expression follow.
    """

    loglevel_value: int = csfield(
        u32be,
        doc="Log level the rule compares against (a signed int sent as 32 bits): an "
        "lttng_loglevel_jul, lttng_loglevel_log4j or lttng_loglevel_python value per domain.",
    )
    loglevel_type: int = csfield(
        u32be, doc="How the log level applies: any level, that level or more severe, or exactly it."
    )
    name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN),
        doc="Name of the logger (event) to enable, NUL-terminated.",
    )
    filter_expression_length: int = csfield(
        u32be, doc="Size in bytes of the filter expression that follows, NUL included; 0 if none."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentDisableEvent(WireStruct):
    """AGENT_CMD_DISABLE payload (``disable_event``, agent.c).

    Mirrors ``struct lttcomm_agent_disable_event`` (packed), agent.h @ v2.13.9
    and 97535efaa.
    """

    name: str = csfield(
        CharArray(LTTNG_SYMBOL_NAME_LEN),
        doc="Name of the logger (event) to disable, NUL-terminated.",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentGenericReply(WireStruct):
    """Agent reply to ENABLE, DISABLE and APP_CTX_* (read by agent.c).

    Mirrors ``struct lttcomm_agent_generic_reply`` (packed), agent.h @ v2.13.9
    and 97535efaa; ``ret_code`` carries an :class:`LttcommAgentRetCode` value.
    """

    ret_code: int = csfield(
        u32be, doc="Agent's result: an lttcomm_agent_ret_code value (1 = success)."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentListReplyHdr(WireStruct):
    """Agent reply header to AGENT_CMD_LIST (read by ``list_events``, agent.c).

    Mirrors ``struct lttcomm_agent_list_reply_hdr`` (packed), agent.h @ v2.13.9
    and 97535efaa; ``data_size`` is the size of the list reply's ``payload``.
    """

    ret_code: int = csfield(
        u32be, doc="Agent's result: an lttcomm_agent_ret_code value (1 = success)."
    )
    data_size: int = csfield(
        u32be, doc="Size in bytes of the event names that follow nb_event in the list reply."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentListReply(WireStruct):
    """Agent list reply body (read by ``list_events``, agent.c).

    Mirrors ``struct lttcomm_agent_list_reply`` (packed), agent.h @ v2.13.9 and
    97535efaa. ``payload`` (``data_size`` bytes of the reply header) holds
    ``nb_event`` NUL-terminated event names: the rest of the message.
    """

    nb_event: int = csfield(u32be, doc="Number of event (logger) names in payload.")
    payload: bytes = csfield(FlexArray(), doc="The event names, each NUL-terminated, back to back.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentRegisterMsg(WireStruct):
    """First message of an agent, on the registration socket (``accept_agent_connection``).

    Mirrors ``struct agent_register_msg`` (not packed, four ``uint32_t``: no
    padding), src/bin/lttng-sessiond/agent.h @ v2.13.9 and 97535efaa (read in
    agent-thread.c). ``domain`` is commented "This maps to a lttng_domain_type"
    (agents send JUL, LOG4J or PYTHON). Not in the layout JSON: the header is
    not one the layout oracle compiles.
    """

    domain: LttngDomainType = csfield(
        StrictEnum(u32be, LttngDomainType),
        doc="Tracing domain of the agent (JUL, log4j or Python).",
    )
    pid: int = csfield(u32be, doc="Process id of the application the agent runs in.")
    major_version: int = csfield(u32be, doc="Major version of the agent protocol the agent speaks.")
    minor_version: int = csfield(u32be, doc="Minor version of the agent protocol the agent speaks.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgentPString(WireStruct):
    """A "Pascal-style" string: 32-bit big-endian length, then that many bytes (with NUL).

    Sent by ``send_pstring``, agent.c @ v2.13.9 and 97535efaa (APP_CTX
    payloads). Not a C struct.
    """

    len: int = csfield(u32be, doc="Length in bytes of data, NUL terminator included.")
    data: bytes = csfield(
        FlexArray(lambda this: this.len), doc="The string's bytes, NUL-terminated."
    )


register_enums(LttcommAgentCommand, LttcommAgentRetCode)

HDR = struct("lttcomm_agent_hdr", AgentHdr, header=HEADER, protocol=Protocol.AGENT)
ENABLE_EVENT = struct(
    "lttcomm_agent_enable_event", AgentEnableEvent, header=HEADER, protocol=Protocol.AGENT
)
DISABLE_EVENT = struct(
    "lttcomm_agent_disable_event", AgentDisableEvent, header=HEADER, protocol=Protocol.AGENT
)
GENERIC_REPLY = struct(
    "lttcomm_agent_generic_reply", AgentGenericReply, header=HEADER, protocol=Protocol.AGENT
)
LIST_REPLY_HDR = struct(
    "lttcomm_agent_list_reply_hdr", AgentListReplyHdr, header=HEADER, protocol=Protocol.AGENT
)
LIST_REPLY = struct(
    "lttcomm_agent_list_reply", AgentListReply, header=HEADER, protocol=Protocol.AGENT
)
REGISTER_MSG = struct(
    "agent_register_msg",
    AgentRegisterMsg,
    header=SESSIOND_HEADER,
    protocol=Protocol.AGENT,
    abis=(),
)
PSTRING = struct(
    "agent pascal string (send_pstring)",
    AgentPString,
    header="src/bin/lttng-sessiond/agent.c",
    protocol=Protocol.AGENT,
    abis=(),
)


def list_reply_names(msg: AgentListReply) -> list[str]:
    """The event names of a list reply (each NUL-terminated in ``payload``)."""
    names: list[str] = []
    start = 0
    for _ in range(msg.nb_event):
        nul = msg.payload.find(b"\0", start)
        if nul < 0:
            raise RemoteProtocolError(
                f"name {len(names)} of {msg.nb_event} is not NUL-terminated",
                message=LIST_REPLY.c_name,
                field="payload",
                offset=LIST_REPLY.size + start,
            )
        names.append(msg.payload[start:nul].decode("utf-8", "surrogateescape"))
        start = nul + 1
    return names
