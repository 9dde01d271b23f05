"""Field-level mutations derived from the grammars, and Hypothesis strategies for them.

Valid messages come from :mod:`ustref.fuzz.grammar_strategies` (drawn from each
grammar's Construct tree). This module breaks them the way a faulty or hostile
peer would, one *field* at a time, using the layout walker
(:func:`ustref.protocol.layout.walk`) for every field's offset and size — no
per-message code:

* ``enum``: an out-of-range value in a :class:`~ustref.protocol.fields.StrictEnum` field;
* ``length``: a length/size/count field that lies (the field sizing a flexible
  array, or any integer named like a length), or any integer set to an extreme;
* ``string``: a ``char[N]`` field without its NUL;
* ``truncate`` / ``append``: the message cut short (often at a field boundary)
  or followed by trailing bytes (wrong sizes);
* ``bytes``: a few bytes overwritten at random.

The mutation functions take a :class:`Chooser` (where the randomness comes
from), so the same code serves Hypothesis (:func:`mutants_for`, shrinkable) and
the plain seeded loops of the fuzzers (:class:`RandomChooser`).

Exported for users who want to fuzz their own code::

    from ustref.fuzz import mutated_bytes_for, valid_bytes_for
    @given(mutated_bytes_for(CONSUMER_MSG[Abi.V2_13_9]))
    def test_my_decoder(data): ...
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import random
import struct as pystruct
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from hypothesis import strategies as st

from ustref.fuzz.grammar_strategies import int_bounds, sizing_fields, valid_bytes_for, values_for
from ustref.protocol.layout import walk
from ustref.protocol.registry import StructSpec
from ustref.protocol.walker import Kind, fields, node

__all__ = [
    "Chooser",
    "HypothesisChooser",
    "Mutant",
    "Mutation",
    "RandomChooser",
    "Slot",
    "any_bytes_for",
    "message_bytes_for",
    "mutants_for",
    "mutate",
    "mutated_bytes_for",
    "slots",
    "valid_bytes_for",
    "values_for",
]


class Mutation(enum.Enum):
    """The kinds of field-level damage."""

    ENUM = "enum"
    LENGTH = "length"
    INTEGER = "integer"
    STRING = "string"
    TRUNCATE = "truncate"
    APPEND = "append"
    BYTES = "bytes"


class Chooser(Protocol):
    """A source of choices: Hypothesis draws, or a seeded :class:`random.Random`."""

    def integer(self, low: int, high: int) -> int:
        """An integer in ``[low, high]``."""
        ...


@dataclasses.dataclass
class RandomChooser:
    """Choices from a seeded :class:`random.Random` (deterministic per seed)."""

    rng: random.Random

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


@dataclasses.dataclass
class HypothesisChooser:
    """Choices drawn from Hypothesis (so that failing inputs shrink)."""

    draw: st.DrawFn

    def integer(self, low: int, high: int) -> int:
        return self.draw(st.integers(low, high))


def _pick(chooser: Chooser, items: Sequence[Any]) -> Any:
    return items[chooser.integer(0, len(items) - 1)]


@dataclasses.dataclass(frozen=True)
class Slot:
    """One leaf field of a message: dotted C path, offset, size and what it holds."""

    name: str
    offset: int
    size: int
    kind: str
    """``enum``, ``string``, ``int``, ``length`` (an integer sizing something) or ``raw``."""
    fmt: str = ""
    """``struct`` format of integer fields (with byte order)."""
    members: tuple[int, ...] = ()
    """Enum values (``enum`` slots)."""
    union_member: str = ""
    """``u.<member>`` prefix when the slot lives in a union member."""


_LENGTH_WORDS = ("len", "size", "count", "nr", "length")


def _slot_for(field: Any, sizing: set[str], union_member: str) -> Slot | None:
    leaf = field.name.rsplit(".", 1)[-1]
    kind = node(field.construct).kind
    if kind is Kind.ENUM:
        values = tuple(int(v) for v in field.construct.enum_type.__members__.values())
        fmt = node(field.construct).fmt
        return Slot(field.name, field.offset, field.size, "enum", fmt, values, union_member)
    if kind is Kind.CHARS:
        return Slot(field.name, field.offset, field.size, "string", union_member=union_member)
    if kind is Kind.INT:
        is_length = field.name in sizing or any(w in leaf.split("_") for w in _LENGTH_WORDS)
        slot_kind = "length" if is_length else "int"
        fmt = node(field.construct).fmt
        return Slot(field.name, field.offset, field.size, slot_kind, fmt, (), union_member)
    if kind is Kind.FLEX:
        return None
    if field.size and not hasattr(field.construct, "subcon"):
        return Slot(field.name, field.offset, field.size, "raw", union_member=union_member)
    return None


@functools.cache
def _all_slots(spec: StructSpec[Any]) -> tuple[Slot, ...]:
    sizing = set(sizing_fields(spec.grammar))
    unions = {f.name for f in fields(spec.grammar) if f.kind is Kind.UNION}
    out: list[Slot] = []
    for field in walk(spec.grammar):
        parts = field.name.split(".")
        member = ".".join(parts[:2]) if parts[0] in unions and len(parts) > 2 else ""
        slot = _slot_for(field, sizing, member)
        if slot is not None:
            out.append(slot)
    return tuple(out)


def _selected_members(spec: StructSpec[Any], data: bytes) -> set[str] | None:
    """``{"u.<member>"}`` for the union members ``data``'s keys select (None: unknown)."""
    offset = 0
    keys: dict[str, int] = {}
    selected: set[str] = set()
    for field in fields(spec.grammar):
        if field.kind is Kind.FLEX:
            break
        if field.kind is Kind.UNION:
            union = field.con
            if union.key is not None and union.key not in keys:
                return None
            member = union.member_for_key(keys.get(union.key or ""))
            if member is not None:
                selected.add(f"{field.name}.{member}")
        elif field.fmt and offset + field.size <= len(data):
            keys[field.name] = pystruct.unpack_from(field.fmt, data, offset)[0]
        offset += field.size
    return selected


def slots(spec: StructSpec[Any], data: bytes | None = None) -> tuple[Slot, ...]:
    """The mutable leaf fields of ``spec`` (only the union members ``data`` selects)."""
    every = _all_slots(spec)
    if data is None:
        return every
    selected = _selected_members(spec, data)
    if selected is None:
        return every
    return tuple(s for s in every if not s.union_member or s.union_member in selected)


def _pack(fmt: str, value: int) -> bytes:
    low, high = int_bounds(fmt)
    span = high - low + 1
    return pystruct.pack(fmt, (value - low) % span + low)


def _extremes(fmt: str, current: int) -> list[int]:
    low, high = int_bounds(fmt)
    return [low, high, 0, 1, current + 1, current - 1, high // 2, high // 2 + 1, 4096, 1 << 20]


def _overwrite(data: bytes, offset: int, chunk: bytes) -> bytes:
    if offset >= len(data):
        return data
    chunk = chunk[: len(data) - offset]
    return data[:offset] + chunk + data[offset + len(chunk) :]


def _mutate_slot(chooser: Chooser, data: bytes, slot: Slot, kind: Mutation) -> bytes:
    if kind is Mutation.ENUM:
        low, high = int_bounds(slot.fmt)
        outside = [
            v
            for v in (max(slot.members) + 1, -1, high, low, 0x7FFFFFFF)
            if v not in slot.members and low <= v <= high
        ]
        value = _pick(chooser, outside) if outside else high
        if chooser.integer(0, 3) == 0:
            value = chooser.integer(low, high)
            if value in slot.members:
                value = max(slot.members) + 1
        return _overwrite(data, slot.offset, _pack(slot.fmt, value))
    if kind in (Mutation.LENGTH, Mutation.INTEGER):
        current = pystruct.unpack_from(slot.fmt, data, slot.offset)[0]
        low, high = int_bounds(slot.fmt)
        value = (
            _pick(chooser, _extremes(slot.fmt, current))
            if chooser.integer(0, 2)
            else chooser.integer(low, high)
        )
        return _overwrite(data, slot.offset, _pack(slot.fmt, value))
    if kind is Mutation.STRING:
        fill = chooser.integer(1, 255)
        return _overwrite(data, slot.offset, bytes([fill]) * slot.size)
    # Mutation.BYTES on a raw slot
    return _overwrite(data, slot.offset, bytes([chooser.integer(0, 255)]) * slot.size)


_SLOT_KINDS: dict[Mutation, tuple[str, ...]] = {
    Mutation.ENUM: ("enum",),
    Mutation.LENGTH: ("length",),
    Mutation.INTEGER: ("int", "length", "enum"),
    Mutation.STRING: ("string",),
}


def mutate(
    spec: StructSpec[Any], data: bytes, chooser: Chooser, kind: Mutation | None = None
) -> tuple[bytes, str]:
    """Apply one mutation to ``data`` (an encoding of ``spec``); returns (bytes, description)."""
    candidates = [s for s in slots(spec, data) if s.offset + s.size <= len(data)]
    if kind is None:
        kinds = [
            k for k, wanted in _SLOT_KINDS.items() if any(s.kind in wanted for s in candidates)
        ]
        kinds += [Mutation.TRUNCATE, Mutation.APPEND, Mutation.BYTES]
        kind = _pick(chooser, kinds)
    if kind in _SLOT_KINDS:
        fitting = [s for s in candidates if s.kind in _SLOT_KINDS[kind]]
        if fitting:
            slot = _pick(chooser, fitting)
            return _mutate_slot(chooser, data, slot, kind), f"{kind.value}:{slot.name}"
        kind = Mutation.BYTES
    if kind is Mutation.TRUNCATE:
        cuts = sorted({s.offset for s in candidates if 0 < s.offset < len(data)} | {0})
        cut = (
            _pick(chooser, cuts)
            if cuts and chooser.integer(0, 1)
            else chooser.integer(0, max(len(data) - 1, 0))
        )
        return data[:cut], f"truncate:{cut}"
    if kind is Mutation.APPEND:
        extra = bytes([chooser.integer(0, 255)]) * chooser.integer(1, 64)
        return data + extra, f"append:{len(extra)}"
    if not data:
        return bytes([chooser.integer(0, 255)]), "bytes:0"
    count = chooser.integer(1, 4)
    out = bytearray(data)
    for _ in range(count):
        out[chooser.integer(0, len(out) - 1)] = chooser.integer(0, 255)
    return bytes(out), f"bytes:{count}"


@dataclasses.dataclass(frozen=True)
class Mutant:
    """A mutated encoding and the mutations that made it."""

    data: bytes
    mutations: tuple[str, ...]


def mutants_for(
    spec: StructSpec[Any], *, max_mutations: int = 3, kinds: Sequence[Mutation] | None = None
) -> st.SearchStrategy[Mutant]:
    """A valid encoding of ``spec`` damaged by 1–``max_mutations`` field-level mutations."""

    @st.composite
    def draw_mutant(draw: st.DrawFn) -> Mutant:
        data = draw(valid_bytes_for(spec))
        chooser = HypothesisChooser(draw)
        done: list[str] = []
        for _ in range(draw(st.integers(1, max_mutations))):
            kind = draw(st.sampled_from(list(kinds))) if kinds else None
            data, what = mutate(spec, data, chooser, kind)
            done.append(what)
        return Mutant(data, tuple(done))

    return draw_mutant()


def mutated_bytes_for(spec: StructSpec[Any], **kwargs: Any) -> st.SearchStrategy[bytes]:
    """Just the bytes of :func:`mutants_for`."""
    return mutants_for(spec, **kwargs).map(lambda m: m.data)


def any_bytes_for(spec: StructSpec[Any]) -> st.SearchStrategy[bytes]:
    """Arbitrary bytes around ``spec``'s size (sizes near the real one are favoured)."""
    size = spec.size
    near = st.integers(max(size - 8, 0), size + 8)
    return st.one_of(
        st.binary(max_size=64),
        near.flatmap(_sized),
    )


def _sized(n: int) -> st.SearchStrategy[bytes]:
    if n <= 512:
        return st.binary(min_size=n, max_size=n)
    return st.tuples(st.binary(min_size=1, max_size=32), st.booleans()).map(
        lambda pb: bytes(n) if pb[1] else (pb[0] * (n // len(pb[0]) + 1))[:n]
    )


def message_bytes_for(spec: StructSpec[Any]) -> st.SearchStrategy[bytes]:
    """Valid, mutated or arbitrary bytes for ``spec`` — what a fuzzer feeds a decoder."""
    return st.one_of(valid_bytes_for(spec), mutated_bytes_for(spec), any_bytes_for(spec))


Decoder = Callable[[bytes], object]
