"""The grammar-derived strategies: valid messages decode, mutants decode or are refused."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ustref.errors import RemoteProtocolError
from ustref.fuzz.mutations import (
    Mutation,
    RandomChooser,
    message_bytes_for,
    mutants_for,
    mutate,
    slots,
    valid_bytes_for,
)
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG, STATUS_CHANNEL, STATUS_MSG
from ustref.protocol.grammars import schema
from ustref.protocol.registry import StructSpec

SPECS = sorted(
    {(abi.value, name): spec for abi in Abi for name, spec in schema(abi).structs.items()}.items()
)
IDS = [f"{abi}:{name}" for (abi, name), _ in SPECS]
FAST = settings(
    max_examples=3, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)


def _decodes_or_refuses(spec: StructSpec[Any], data: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        spec.parse(data)


@pytest.mark.parametrize(("key", "spec"), SPECS, ids=IDS)
def test_every_spec_mutants_decode_or_refuse(key: tuple[str, str], spec: StructSpec[Any]) -> None:
    @FAST
    @given(message_bytes_for(spec))
    def prop(data: bytes) -> None:
        _decodes_or_refuses(spec, data)

    prop()


def test_consumer_msg_slots_follow_the_selected_member() -> None:
    spec = CONSUMER_MSG[Abi.V2_13_9]
    ask = (7).to_bytes(4, "little") + bytes(spec.size - 4)
    names = {s.name for s in slots(spec, ask)}
    assert "u.ask_channel.subbuf_size" in names
    assert not any(n.startswith("u.channel.") for n in names)
    assert {s.kind for s in slots(spec, ask)} >= {"enum", "string", "int", "length"}


@pytest.mark.parametrize("kind", list(Mutation))
def test_each_mutation_kind_is_refused_where_it_must_be(kind: Mutation) -> None:
    spec = CONSUMER_MSG[Abi.V2_13_9]
    valid = (7).to_bytes(4, "little") + bytes(spec.size - 4)
    valid = valid[:4] + valid[4:]
    chooser = RandomChooser(random.Random(1))
    data, what = mutate(spec, valid, chooser, kind)
    assert what.startswith(kind.value) or kind in (Mutation.LENGTH, Mutation.INTEGER)
    if kind in (Mutation.ENUM, Mutation.STRING, Mutation.TRUNCATE, Mutation.APPEND):
        with pytest.raises(RemoteProtocolError):
            spec.parse(data)
    else:
        _decodes_or_refuses(spec, data)


@FAST
@given(mutants_for(STATUS_CHANNEL, kinds=[Mutation.ENUM], max_mutations=1))
def test_enum_mutants_of_status_channel_are_refused(mutant: Any) -> None:
    with pytest.raises(RemoteProtocolError, match="enum"):
        STATUS_CHANNEL.parse(mutant.data)


@FAST
@given(valid_bytes_for(STATUS_MSG), st.integers(0, 3))
def test_truncation_is_refused(data: bytes, cut: int) -> None:
    with pytest.raises(RemoteProtocolError, match="truncated"):
        STATUS_MSG.parse(data[:cut])
