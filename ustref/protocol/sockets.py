"""In-process socket structs of sessiond-comm.h: ``lttcomm_sock*`` and the sockaddrs they hold.

Mirrors ``struct lttcomm_sockaddr``, ``lttcomm_sock``, ``lttcomm_relayd_sock``,
``lttcomm_net_family``, ``lttcomm_proto_ops`` and ``enum lttcomm_sock_proto`` /
``lttcomm_sock_domain`` (src/common/sessiond-comm/sessiond-comm.h @ v2.13.9 and
97535efaa), with the ``<netinet/in.h>`` structs they embed (glibc, x86_64).
They live in a process, not on a wire — except at 97535efaa, where the session
daemon copies a whole ``lttcomm_relayd_sock`` into
``lttcomm_consumer_msg.u.relayd_sock`` (see :mod:`ustref.protocol.consumer`).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import construct as cs
from construct_typed import csfield, csfield_default

from ustref.protocol.fields import (
    CUnion,
    DataclassStruct,
    Pad,
    RawArray,
    StrictEnum,
    UnionTail,
    WireStruct,
    c_enum,
    s32,
    u16,
    u16be,
    u32,
    u32be,
    u64,
)
from ustref.protocol.registry import Protocol, StructSpec, register_enums, struct

HEADER = "src/common/sessiond-comm/sessiond-comm.h"


@c_enum("lttcomm_sock_proto")
class LttcommSockProto(enum.IntEnum):
    """Mirrors ``enum lttcomm_sock_proto``, sessiond-comm.h @ v2.13.9 and 97535efaa."""

    LTTCOMM_SOCK_UDP = 0
    LTTCOMM_SOCK_TCP = 1


@c_enum("lttcomm_sock_domain")
class LttcommSockDomain(enum.IntEnum):
    """Mirrors ``enum lttcomm_sock_domain``, sessiond-comm.h @ v2.13.9 and 97535efaa.

    On this wire at 97535efaa only (``u.relayd_sock.sock.sock.sockaddr.type``).
    """

    LTTCOMM_INET = 0
    LTTCOMM_INET6 = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class InAddr(WireStruct):
    """An IPv4 address, ``struct in_addr`` (<netinet/in.h>), in network byte order."""

    s_addr: int = csfield(u32be, doc="IPv4 address, network byte order.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SockaddrIn(WireStruct):
    """An IPv4 socket address, ``struct sockaddr_in`` (glibc, 16 bytes).

    Family in host order, port and address in network byte order.
    """

    sin_family: int = csfield(u16, doc="Address family (AF_INET), host byte order.")
    sin_port: int = csfield(u16be, doc="Port number, network byte order.")
    sin_addr: InAddr = csfield(DataclassStruct(InAddr), doc="IPv4 address.")
    sin_zero: bytes = csfield(RawArray(8), doc="Unused filler, zero.")


#: The ``__in6_u`` union of ``struct in6_addr``: three views of the same 16
#: bytes (network order), selected by nothing: kept as ``__u6_addr8`` bytes.
_IN6_U = CUnion(
    16,
    {
        "__u6_addr8": RawArray(16),
        "__u6_addr16": cs.Array(8, u16be),
        "__u6_addr32": cs.Array(4, u32be),
    },
    default="__u6_addr8",
)

#: Mirrors ``struct in6_addr`` (glibc, 16 bytes): ``{union {...} __in6_u;}``.
#: Declared with ``make_dataclass`` because a class body would mangle the
#: C member name ``__in6_u``; build one with ``In6Addr(**{"__in6_u": b16})``.
#: The selected member fills the union, so no tail field is needed.
In6Addr: Any = dataclasses.make_dataclass(
    "In6Addr",
    [("__in6_u", bytes, csfield(_IN6_U, doc="The 16 address bytes, network byte order."))],
    bases=(WireStruct,),
    frozen=True,
    kw_only=True,
)
In6Addr.__module__ = __name__
In6Addr.__doc__ = "An IPv6 address, ``struct in6_addr`` (glibc, 16 bytes, network byte order)."


@dataclasses.dataclass(frozen=True, kw_only=True)
class SockaddrIn6(WireStruct):
    """An IPv6 socket address, ``struct sockaddr_in6`` (glibc, 28 bytes).

    Family and scope id in host order, port, flow info and address in network
    byte order.
    """

    sin6_family: int = csfield(u16, doc="Address family (AF_INET6), host byte order.")
    sin6_port: int = csfield(u16be, doc="Port number, network byte order.")
    sin6_flowinfo: int = csfield(u32be, doc="IPv6 flow information, network byte order.")
    sin6_addr: Any = csfield(DataclassStruct(In6Addr), doc="IPv6 address.")
    sin6_scope_id: int = csfield(u32, doc="Scope (interface) ID, host byte order.")


_SOCKADDR_ADDR = CUnion(
    28,
    {"sin": DataclassStruct(SockaddrIn), "sin6": DataclassStruct(SockaddrIn6)},
    key="type",
    cases={LttcommSockDomain.LTTCOMM_INET: "sin", LttcommSockDomain.LTTCOMM_INET6: "sin6"},
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommSockaddr(WireStruct):
    """The relayd's IPv4 or IPv6 address, ``struct lttcomm_sockaddr`` (packed, 32 bytes).

    Mirrors ``struct lttcomm_sockaddr``, sessiond-comm.h @ 97535efaa.

    ``addr`` is ``sin`` for ``LTTCOMM_INET`` and ``sin6`` for ``LTTCOMM_INET6``
    (``lttcomm_init_inet_sockaddr``/``lttcomm_init_inet6_sockaddr``).
    """

    type: LttcommSockDomain = csfield(
        StrictEnum(u32, LttcommSockDomain),
        doc="Address family, IPv4 or IPv6 (lttcomm_sock_domain).",
    )
    addr: SockaddrIn | SockaddrIn6 = csfield(
        _SOCKADDR_ADDR, doc="IPv4 or IPv6 socket address, selected by type."
    )
    addr_tail: bytes = csfield_default(UnionTail(_SOCKADDR_ADDR), default=b"")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommSock(WireStruct):
    """The session daemon's socket object, ``struct lttcomm_sock`` (packed, 48 bytes).

    Mirrors ``struct lttcomm_sock``, sessiond-comm.h @ 97535efaa.

    ``fd`` is the session daemon's descriptor number and ``ops`` a pointer in
    the session daemon's address space: meaningless to the consumer, kept as sent.
    """

    fd: int = csfield(s32, doc="The session daemon's fd number; meaningless to the consumer.")
    proto: LttcommSockProto = csfield(
        StrictEnum(u32, LttcommSockProto), doc="Socket transport, TCP or UDP (lttcomm_sock_proto)."
    )
    sockaddr: LttcommSockaddr = csfield(
        DataclassStruct(LttcommSockaddr), doc="Address of the relayd endpoint."
    )
    ops: int = csfield(u64, doc="Pointer in the session daemon's address space; meaningless here.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommRelaydSock(WireStruct):
    """A relayd socket and its protocol version, ``struct lttcomm_relayd_sock`` (56 bytes).

    Mirrors ``struct lttcomm_relayd_sock`` (packed), sessiond-comm.h @ 97535efaa.
    """

    sock: LttcommSock = csfield(
        DataclassStruct(LttcommSock), doc="The socket: fd number, transport, address, ops pointer."
    )
    major: int = csfield(u32, doc="Relayd protocol major version negotiated by the session daemon.")
    minor: int = csfield(u32, doc="Relayd protocol minor version negotiated by the session daemon.")


SOCKADDR_DOC = """An IPv4 or IPv6 socket address (in-process).

Mirrors ``struct lttcomm_sockaddr`` (32 B), sessiond-comm.h: natural alignment
at v2.13.9, ``LTTNG_PACKED`` at 97535efaa (same offsets: ``addr`` is at 4).
``addr`` is selected by ``type`` as ``lttcomm_init_inet{,6}_sockaddr`` fill it:
``sin`` (``struct sockaddr_in``, 16 B) or ``sin6`` (``struct sockaddr_in6``,
28 B); ports, IPv4 address and flow info in network byte order.
"""
SOCK_DOC = """A socket and its operations (in-process).

Mirrors ``struct lttcomm_sock`` (48 B), sessiond-comm.h: natural alignment at
v2.13.9, ``LTTNG_PACKED`` at 97535efaa (same offsets: ``ops``, a ``const struct
lttcomm_proto_ops *``, is at 40 either way).
"""
RELAYD_SOCK_DOC = """A relay daemon socket and the protocol version spoken on it.

Mirrors ``struct lttcomm_relayd_sock`` (56 B), sessiond-comm.h: natural
alignment (8) at v2.13.9, ``LTTNG_PACKED`` at 97535efaa — where it travels
inside ``lttcomm_consumer_msg.u.relayd_sock`` (pointer values included).
"""


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommNetFamily(WireStruct):
    """Mirrors ``struct lttcomm_net_family`` (16 B, in-process), sessiond-comm.h @ both.

    ``int family``, 4 pad bytes, then the ``create`` function pointer.
    """

    family: int = csfield(s32, doc="Socket domain (an lttcomm_sock_domain value: 0 IPv4, 1 IPv6).")
    _pad0: bytes = csfield_default(Pad(4), default=bytes(4))
    create: int = csfield(u64, doc="Address of the function creating a socket of that domain.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class LttcommProtoOps(WireStruct):
    """Mirrors ``struct lttcomm_proto_ops`` (56 B, in-process), sessiond-comm.h @ both.

    Seven function pointers.
    """

    bind: int = csfield(u64, doc="Address of the protocol's bind function.")
    close: int = csfield(u64, doc="Address of the protocol's close function.")
    connect: int = csfield(u64, doc="Address of the protocol's connect function.")
    accept: int = csfield(u64, doc="Address of the protocol's accept function.")
    listen: int = csfield(u64, doc="Address of the protocol's listen function.")
    recvmsg: int = csfield(u64, doc="Address of the protocol's receive function.")
    sendmsg: int = csfield(u64, doc="Address of the protocol's send function.")


def _in_process(c_name: str, dc_type: type[Any], doc: str = "") -> StructSpec[Any]:
    return struct(c_name, dc_type, header=HEADER, protocol=Protocol.IN_PROCESS, doc=doc)


register_enums(LttcommSockProto, LttcommSockDomain)
SOCKADDR: StructSpec[LttcommSockaddr] = _in_process(
    "lttcomm_sockaddr", LttcommSockaddr, SOCKADDR_DOC
)
SOCK: StructSpec[LttcommSock] = _in_process("lttcomm_sock", LttcommSock, SOCK_DOC)
RELAYD_SOCK: StructSpec[LttcommRelaydSock] = _in_process(
    "lttcomm_relayd_sock", LttcommRelaydSock, RELAYD_SOCK_DOC
)
NET_FAMILY: StructSpec[LttcommNetFamily] = _in_process("lttcomm_net_family", LttcommNetFamily)
PROTO_OPS: StructSpec[LttcommProtoOps] = _in_process("lttcomm_proto_ops", LttcommProtoOps)
