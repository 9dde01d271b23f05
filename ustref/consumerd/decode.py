"""A session daemon's command as the C consumer reads it: char arrays need no NUL.

``lttng_ustconsumer_recv_cmd`` receives ``struct lttcomm_consumer_msg`` whole and
reads its fixed-size ``char`` arrays (``ask_channel.pathname``, ``.name``,
``.root_shm_path``, ``.shm_path``, ``snapshot_channel.pathname``,
``create_trace_chunk.override_name``) as C strings, without checking that they hold
a NUL. The strict grammar of :mod:`ustref.protocol.consumer` refuses such a
message (``RemoteProtocolError``), and a refused command would get only its failure
reply where the C consumer goes on with the strings. :func:`decode_command`
reads it as C does instead: an array without a NUL is the whole array, as a C string
read stops at its end (C goes on reading the next fields of the message until it
meets a zero byte; that is not modelled). Each use then applies C's own rule:
``consumer_allocate_channel`` copies with ``strncpy`` and a forced NUL, so a channel
keeps the first ``size - 1`` bytes (:func:`c_copy`); ``is_valid_chunk_name`` refuses
an override name as long as its array; ``relayd_add_stream`` refuses a path that does
not fit the relay's message.

C reads an enum field as the integer it is, too. Where it never looks at the value — the
``value`` of an ``LTTNG_OPTIONAL_COMM`` whose ``is_set`` is 0, e.g.
``close_trace_chunk.close_command``, which ``lttng_ustconsumer_recv_cmd`` passes on as
``is_set ? &close_command : NULL`` — :func:`decode_command` does not check it either: a
value out of its enum is read as the enum's first member. Every other value out of its enum stays a
:class:`~ustref.errors.RemoteProtocolError`, which the core turns into the command's
failure reply (``Core._refuse``).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any

from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG, ConsumerMsg, LttngConsumerCommand
from ustref.protocol.fields import CharArray, CStr, CUnion, StrictEnum, c_bytes, c_text, unwrap
from ustref.protocol.layout import FieldLayout, walk
from ustref.protocol.registry import parse


@dataclasses.dataclass(frozen=True)
class _Array:
    """A ``char`` array of the union member a command selects."""

    name: str
    offset: int
    size: int


def _union(fields: list[FieldLayout]) -> FieldLayout:
    """The message's union ``u`` (the 97535efaa ABI nests more unions inside it)."""
    (union,) = [f for f in fields if f.name == "u" and isinstance(unwrap(f.construct), CUnion)]
    return union


@functools.cache
def _arrays(abi: Abi) -> dict[int, tuple[_Array, ...]]:
    """The char arrays of the union member each ``cmd_type`` selects, with their
    offsets in the message (read from the grammar, not written by hand)."""
    fields = list(walk(CONSUMER_MSG[abi].grammar))
    union = _union(fields)
    selector: CUnion = unwrap(union.construct)
    out: dict[int, tuple[_Array, ...]] = {}
    for cmd in LttngConsumerCommand:
        member = selector.member_for_key(cmd)
        if member is None:
            continue
        prefix = f"{union.name}.{member}."
        out[int(cmd)] = tuple(
            _Array(f.name.removeprefix(prefix), f.offset, f.size)
            for f in fields
            if f.name.startswith(prefix)
            and "." not in f.name.removeprefix(prefix)
            and isinstance(unwrap(f.construct), CharArray)
        )
    return out


@dataclasses.dataclass(frozen=True)
class _UnsetEnum:
    """The enum ``value`` of an optional (``is_set`` + ``value``) of the selected member."""

    is_set: int
    offset: int
    size: int
    signed: bool
    enum_type: type[enum.IntEnum]


@functools.cache
def _optional_enums(abi: Abi) -> dict[int, tuple[_UnsetEnum, ...]]:
    """Per ``cmd_type``, the optionals of its member whose value is a C enum (read from the
    grammar: a ``StrictEnum`` field ``<x>.value`` beside ``<x>.is_set``)."""
    fields = list(walk(CONSUMER_MSG[abi].grammar))
    by_name = {f.name: f for f in fields}
    union = _union(fields)
    selector: CUnion = unwrap(union.construct)
    out: dict[int, tuple[_UnsetEnum, ...]] = {}
    for cmd in LttngConsumerCommand:
        member = selector.member_for_key(cmd)
        if member is None:
            continue
        found = []
        for f in fields:
            con = unwrap(f.construct)
            flag = by_name.get(f.name.removesuffix(".value") + ".is_set")
            if (
                f.name.startswith(f"{union.name}.{member}.")
                and f.name.endswith(".value")
                and isinstance(con, StrictEnum)
                and flag is not None
            ):
                signed = str(unwrap(con.subcon).fmtstr)[-1].islower()
                found.append(_UnsetEnum(flag.offset, f.offset, f.size, signed, con.enum_type))
        out[int(cmd)] = tuple(found)
    return out


def _unset_enums_read_as_first_member(abi: Abi, cmd_type: int, patched: bytearray) -> bool:
    """Where an optional's ``is_set`` is 0 and its enum ``value`` is out of the enum, put
    the enum's first member there (C never reads it); whether anything changed."""
    changed = False
    for opt in _optional_enums(abi).get(cmd_type, ()):
        if len(patched) < opt.offset + opt.size or patched[opt.is_set] != 0:
            continue
        value = int.from_bytes(
            patched[opt.offset : opt.offset + opt.size], "little", signed=opt.signed
        )
        if value not in opt.enum_type._value2member_map_:
            first = int(next(iter(opt.enum_type)))
            patched[opt.offset : opt.offset + opt.size] = first.to_bytes(
                opt.size, "little", signed=opt.signed
            )
            changed = True
    return changed


def decode_command(abi: Abi, raw: bytes) -> ConsumerMsg:
    """``raw`` (one whole ``lttcomm_consumer_msg``) as ``lttng_ustconsumer_recv_cmd``
    reads it: strictly, except that a char array of the selected member without a NUL
    is the whole array (see the module docstring). Anything else the strict grammar
    refuses raises :class:`~ustref.errors.RemoteProtocolError` as before; so does an enum
    value out of its enum, unless it is the unread value of an unset optional."""
    cmd_type = int.from_bytes(raw[:4], "little")
    arrays = _arrays(abi).get(cmd_type, ())
    whole: dict[str, CStr] = {}
    patched = bytearray(raw)
    unset = _unset_enums_read_as_first_member(abi, cmd_type, patched)
    for array in arrays:
        field = raw[array.offset : array.offset + array.size]
        if len(field) == array.size and 0 not in field:
            whole[array.name] = CStr(c_text(field))
            patched[array.offset + array.size - 1] = 0
    msg: ConsumerMsg = parse(CONSUMER_MSG[abi], bytes(patched) if whole or unset else raw)
    if whole:
        member: Any = msg.u
        msg = dataclasses.replace(msg, u=dataclasses.replace(member, **whole))
    return msg


def c_copy(text: str, size: int) -> str:
    """``strncpy(dst, text, size); dst[size - 1] = '\\0'`` (``consumer_allocate_channel``'s
    copy of the channel's path, name and shm paths): at most ``size - 1`` bytes."""
    return c_text(c_bytes(text)[: size - 1])
