"""Every guard of the conversation table that names a step or a field by string
resolves against the grammars (a typo would otherwise skip a step silently)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import CONSUMER_MSG, LttngConsumerCommand
from ustref.protocol.conversation.rules import (
    COMMAND,
    METADATA_EXCHANGE,
    METADATA_REQUEST,
    REPLY_AFTER,
    command_steps,
)
from ustref.protocol.conversation.steps import (
    AllOf,
    Condition,
    FieldIs,
    Message,
    Payload,
    Step,
    StreamList,
    field_value,
)


def _field_guards(condition: Condition) -> Iterator[FieldIs]:
    if isinstance(condition, FieldIs):
        yield condition
    elif isinstance(condition, AllOf):
        for part in condition.parts:
            yield from _field_guards(part)


def _flatten(steps: tuple[Step, ...]) -> Iterator[Step]:
    for step in steps:
        yield step
        if isinstance(step, StreamList):
            yield from _flatten(step.stream)
            if step.end is not None:
                yield step.end


def _sample(step: Message, abi: Abi, command: LttngConsumerCommand) -> Any:
    """A decoded value of ``step`` (all-zero fields; commands carry ``command``)."""
    head = command.to_bytes(4, sys.byteorder)
    spec = step.spec_for(abi, head.ljust(max(step.size(abi), 4), b"\0"))
    raw = bytes(spec.size)
    if spec is CONSUMER_MSG[abi]:
        raw = head + raw[4:]
    return spec.parse(raw)


def _exchanges() -> Iterator[tuple[Abi, LttngConsumerCommand, Message, tuple[Step, ...]]]:
    for abi in ALL_ABIS:
        for command in REPLY_AFTER[abi]:
            yield abi, command, COMMAND, command_steps(abi, command)
        push = LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA
        yield abi, push, METADATA_REQUEST, METADATA_EXCHANGE


CHECKED: list[tuple[str, str]] = []


def _check(
    abi: Abi, command: LttngConsumerCommand, first: Message, steps: tuple[Step, ...]
) -> list[str]:
    seen: dict[str, Step] = {first.name: first}
    problems = []
    for step in _flatten(steps):
        references = [(g.step, g.path) for g in _field_guards(step.when)]
        if isinstance(step, Payload):
            references.append((step.length_step, step.length_path))
        for name, path in references:
            earlier = seen.get(name)
            if not isinstance(earlier, Message):
                problems.append(f"{command.name}: {step.name} names step {name!r}, not earlier")
                continue
            CHECKED.append((name, path))
            try:
                field_value(_sample(earlier, abi, command), path)
            except AttributeError:
                problems.append(f"{command.name}: {step.name} names {name}.{path}, no such field")
        seen[step.name] = step
    return problems


def test_string_guards_resolve_against_the_grammars() -> None:
    CHECKED.clear()
    problems = [p for case in _exchanges() for p in _check(*case)]
    assert problems == []
    # Every kind of guard was met: status codes, command fields, payload lengths.
    assert {("status.ready", "ret_code"), ("command", "u.relayd_id.is_set")} <= set(CHECKED)
    assert {("command", "u.len"), ("reply", "u.len"), ("channel.size", "size")} <= set(CHECKED)


def test_a_misspelt_guard_is_caught() -> None:
    abi = Abi.V2_13_9
    command = LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK
    steps = command_steps(abi, command)
    bad = Payload("x", steps[0].direction, length_step="command", length_path="u.relayd_idd")
    assert _check(abi, command, COMMAND, (*steps, bad)) == [
        f"{command.name}: x names command.u.relayd_idd, no such field"
    ]
    typo = Payload("y", steps[0].direction, length_step="statsu", length_path="ret_code")
    assert "names step 'statsu'" in _check(abi, command, COMMAND, (typo,))[0]


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_metadata_reply_is_push_metadata_shaped(abi: Abi) -> None:
    # The metadata exchange's guards read the reply as a PUSH_METADATA message.
    reply = METADATA_EXCHANGE[0]
    assert isinstance(reply, Message)
    value = _sample(reply, abi, LttngConsumerCommand.LTTNG_CONSUMER_PUSH_METADATA)
    assert field_value(value, "u.len") == 0
