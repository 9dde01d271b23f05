"""``struct lttng_uri``: the packed destination record of the session daemon's URIs.

Mirrors ``struct lttng_uri`` and ``enum lttng_dst_type`` / ``lttng_uri_type`` /
``lttng_proto_type`` of src/common/uri.h (identical at v2.13.9 and 97535efaa;
packed, 8210 bytes). ``uri_parse`` (src/common/uri.c) fills one per URL; the
client sends an array of them as the payload after ``LTTNG_SET_CONSUMER_URI``
(``u.uri.size`` of them) and after the legacy session-creation commands, and the
session daemon reads them with ``lttcomm_recv_unix_sock`` in
``process_client_msg`` (client.c). The stream type field reuses
``enum lttng_stream_type`` (control or data connection of a relay daemon).
"""

from __future__ import annotations

import dataclasses
import enum

from construct_typed import csfield, csfield_default

from ustref.protocol.constants import LTTNG_PATH_MAX
from ustref.protocol.consumer import LttngStreamType
from ustref.protocol.fields import (
    CharArray,
    CUnion,
    StrictEnum,
    UnionTail,
    WireStruct,
    c_enum,
    u16,
    u32,
)
from ustref.protocol.registry import Protocol, register_enums, struct

HEADER = "src/common/uri.h"

#: ``INET_ADDRSTRLEN`` and ``INET6_ADDRSTRLEN``, <netinet/in.h>.
INET_ADDRSTRLEN = 16
INET6_ADDRSTRLEN = 46


@c_enum("lttng_dst_type")
class LttngDstType(enum.IntEnum):
    """Mirrors ``enum lttng_dst_type``, uri.h: which member of ``dst`` is live."""

    LTTNG_DST_IPV4 = 1
    LTTNG_DST_IPV6 = 2
    LTTNG_DST_PATH = 3


@c_enum("lttng_uri_type")
class LttngUriType(enum.IntEnum):
    """Mirrors ``enum lttng_uri_type``, uri.h (hops are commented out in C)."""

    LTTNG_URI_DST = 0


@c_enum("lttng_proto_type")
class LttngProtoType(enum.IntEnum):
    """Mirrors ``enum lttng_proto_type``, uri.h (UDP is commented out in C).

    ``uri_parse`` leaves ``proto`` at 0 for ``file://`` URIs, a value outside
    the enum, so the ``proto`` field is a plain ``uint32_t``.
    """

    LTTNG_TCP = 1


register_enums(LttngDstType, LttngUriType, LttngProtoType)

_DST = CUnion(
    LTTNG_PATH_MAX,
    {
        "ipv4": CharArray(INET_ADDRSTRLEN),
        "ipv6": CharArray(INET6_ADDRSTRLEN),
        "path": CharArray(LTTNG_PATH_MAX),
    },
    key="dtype",
    cases={
        LttngDstType.LTTNG_DST_IPV4: "ipv4",
        LttngDstType.LTTNG_DST_IPV6: "ipv6",
        LttngDstType.LTTNG_DST_PATH: "path",
    },
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttngUri(WireStruct):
    """One destination: a local path, or a relay daemon's control or data endpoint.

    Mirrors ``struct lttng_uri`` (packed, 8210 bytes), src/common/uri.h @ v2.13.9
    and 97535efaa. ``dst`` holds the member ``dtype`` selects; ``dst_tail`` keeps
    the union's bytes beyond it.
    """

    dtype: LttngDstType = csfield(
        StrictEnum(u32, LttngDstType), doc="Destination kind (lttng_dst_type); selects dst."
    )
    utype: LttngUriType = csfield(
        StrictEnum(u32, LttngUriType), doc="Always LTTNG_URI_DST (lttng_uri_type)."
    )
    stype: LttngStreamType = csfield(
        StrictEnum(u32, LttngStreamType),
        doc="Relay connection this URI is for: control or data (lttng_stream_type).",
    )
    proto: int = csfield(
        u32, doc="Transport: LTTNG_TCP (lttng_proto_type) for a network URI, 0 for file://."
    )
    port: int = csfield(
        u16, doc="TCP port, host order; 0 for a path (uri_set_default_port fills 5342/5343)."
    )
    subdir: str = csfield(
        CharArray(LTTNG_PATH_MAX), doc="Sub-directory under the destination, may be empty."
    )
    dst: str = csfield(_DST, doc="Address text (ipv4, ipv6) or absolute path, per dtype.")
    dst_tail: bytes = csfield_default(UnionTail(_DST), default=b"")


URI = struct("lttng_uri", LttngUri, header=HEADER, protocol=Protocol.CLIENT)
