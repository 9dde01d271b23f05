"""A session daemon's command as the C consumer reads it: char arrays need no NUL.

``lttng_ustconsumer_recv_cmd`` receives ``struct lttcomm_consumer_msg`` whole and
reads its fixed-size ``char`` arrays (``ask_channel.pathname``, ``.name``,
``.root_shm_path``, ``.shm_path``, ``snapshot_channel.pathname``,
``create_trace_chunk.override_name``) as C strings, without checking that they hold
a NUL. The strict grammar of :mod:`ustref.protocol.consumer` refuses such a
message (``RemoteProtocolError``), and a refused command gets no reply: a session
daemon would wait forever where the C consumer answers. :func:`decode_command`
reads it as C does instead: an array without a NUL is the whole array, as a C string
read stops at its end (C goes on reading the next fields of the message until it
meets a zero byte; that is not modelled). Each use then applies C's own rule:
``consumer_allocate_channel`` copies with ``strncpy`` and a forced NUL, so a channel
keeps the first ``size - 1`` bytes (:func:`c_copy`); ``is_valid_chunk_name`` refuses
an override name as long as its array; ``relayd_add_stream`` refuses a path that does
not fit the relay's message.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG, ConsumerMsg, LttngConsumerCommand
from ustref.protocol.fields import CharArray, CStr, CUnion, c_bytes, c_text, unwrap
from ustref.protocol.layout import walk
from ustref.protocol.registry import parse


@dataclasses.dataclass(frozen=True)
class _Array:
    """A ``char`` array of the union member a command selects."""

    name: str
    offset: int
    size: int


@functools.cache
def _arrays(abi: Abi) -> dict[int, tuple[_Array, ...]]:
    """The char arrays of the union member each ``cmd_type`` selects, with their
    offsets in the message (read from the grammar, not written by hand)."""
    fields = list(walk(CONSUMER_MSG[abi].grammar))
    (union,) = [f for f in fields if isinstance(unwrap(f.construct), CUnion)]
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


def decode_command(abi: Abi, raw: bytes) -> ConsumerMsg:
    """``raw`` (one whole ``lttcomm_consumer_msg``) as ``lttng_ustconsumer_recv_cmd``
    reads it: strictly, except that a char array of the selected member without a NUL
    is the whole array (see the module docstring). Anything else the strict grammar
    refuses raises :class:`~ustref.errors.RemoteProtocolError` as before."""
    arrays = _arrays(abi).get(int.from_bytes(raw[:4], "little"), ())
    whole: dict[str, CStr] = {}
    patched = bytearray(raw)
    for array in arrays:
        field = raw[array.offset : array.offset + array.size]
        if len(field) == array.size and 0 not in field:
            whole[array.name] = CStr(c_text(field))
            patched[array.offset + array.size - 1] = 0
    msg: ConsumerMsg = parse(CONSUMER_MSG[abi], bytes(patched) if whole else raw)
    if whole:
        member: Any = msg.u
        msg = dataclasses.replace(msg, u=dataclasses.replace(member, **whole))
    return msg


def c_copy(text: str, size: int) -> str:
    """``strncpy(dst, text, size); dst[size - 1] = '\\0'`` (``consumer_allocate_channel``'s
    copy of the channel's path, name and shm paths): at most ``size - 1`` bytes."""
    return c_text(c_bytes(text)[: size - 1])
