"""Per-command sequences of the consumer protocol, drawn from the conversation table.

For every ``lttng_consumer_command`` and for the metadata, error and
channel-monitor sockets: a Mermaid sequence diagram and the same sequence as a
numbered list (direction, message, size, fds, condition), both generated from
:mod:`ustref.protocol.conversation.rules` — the table the decoder runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ustref.consumerd.behaviour import BEHAVIOUR, Peer, Traffic
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG, LttngConsumerCommand
from ustref.protocol.conversation.rules import (
    INITIATORS,
    METADATA_EXCHANGE,
    REPLY_AFTER,
    STARTUP_CODE,
    ReplyKind,
    command_steps,
)
from ustref.protocol.conversation.steps import (
    ALWAYS,
    Condition,
    Direction,
    FdTransfer,
    Message,
    Payload,
    Socket,
    Step,
    StreamList,
)
from ustref.protocol.fields import CUnion, unwrap
from ustref.specgen.behaviour import behaviour_section, common_preconditions
from ustref.specgen.links import heading_anchor
from ustref.specgen.prose import slot

_ACTOR = {Direction.TO_CONSUMERD: ("S", "C"), Direction.TO_SESSIOND: ("C", "S")}


def _union_member(abi: Abi, command: LttngConsumerCommand) -> str | None:
    for sub in CONSUMER_MSG[abi].grammar.subcon.subcons:
        inner = unwrap(sub)
        if isinstance(inner, CUnion):
            return inner.cases.get(command, inner.default)
    return None


def _what(step: Step, abi: Abi) -> str:
    if isinstance(step, Message):
        specs = {s.c_name: s.size for s in step.specs.values()} if step.specs else {}
        if step.label:
            return step.label
        return " / ".join(f"{name} ({size} B)" for name, size in sorted(specs.items()))
    if isinstance(step, Payload | FdTransfer | StreamList):
        return step.describe()
    return type(step).__name__


def _groups(steps: Iterable[Step]) -> list[tuple[Condition, list[Step]]]:
    """Consecutive steps sharing one guard."""
    groups: list[tuple[Condition, list[Step]]] = []
    for step in steps:
        if groups and groups[-1][0] == step.when:
            groups[-1][1].append(step)
        else:
            groups.append((step.when, [step]))
    return groups


def _mermaid_steps(steps: list[Step], abi: Abi, indent: str) -> list[str]:
    lines: list[str] = []
    for step in steps:
        src, dst = _ACTOR[step.direction]
        if isinstance(step, StreamList):
            lines.append(f"{indent}loop each stream")
            lines += _mermaid_steps(list(step.stream), abi, indent + "    ")
            lines.append(f"{indent}end")
            if step.end is not None:
                lines += _mermaid_steps([step.end], abi, indent)
            continue
        label = f"{step.name}: {_what(step, abi)}"
        label = label.replace(";", ",").replace("#", "").replace("`", "")
        lines.append(f"{indent}{src}->>{dst}: {label}")
    return lines


#: Mermaid participant (id, label) of each other channel.
PEER_ACTOR: dict[Peer, tuple[str, str]] = {
    Peer.METADATA: ("M", "lttng-sessiond (metadata socket)"),
    Peer.RELAYD_CONTROL: ("RC", "lttng-relayd (control socket)"),
    Peer.RELAYD_DATA: ("RD", "lttng-relayd (data socket)"),
    Peer.MONITOR: ("P", "lttng-sessiond (channel-monitor pipe)"),
    Peer.ERROR: ("E", "lttng-sessiond (error socket)"),
}


def _clean(label: str) -> str:
    return label.replace(";", ",").replace("#", "").replace("`", "")


def _traffic_lines(traffic: list[Traffic], indent: str) -> list[str]:
    """Traffic as Mermaid arrows, consecutive ones with one condition in one ``opt``."""
    lines: list[str] = []
    groups: list[tuple[str, list[Traffic]]] = []
    for item in traffic:
        if groups and groups[-1][0] == item.when:
            groups[-1][1].append(item)
        else:
            groups.append((item.when, [item]))
    for when, group in groups:
        inner = indent + "    " if when else indent
        if when:
            lines.append(f"{indent}opt {_clean(when)}")
        for item in group:
            peer = PEER_ACTOR[item.peer][0]
            src, dst = ("C", peer) if item.outbound else (peer, "C")
            lines.append(f"{inner}{src}->>{dst}: {_clean(item.what)}")
        if when:
            lines.append(f"{indent}end")
    return lines


def _before(traffic: tuple[Traffic, ...], name: str | None) -> list[Traffic]:
    return [item for item in traffic if item.before == name]


def _mermaid(
    opening: str,
    opener: Direction,
    steps: tuple[Step, ...],
    abi: Abi,
    *,
    traffic: tuple[Traffic, ...] = (),
    ending: ReplyKind | None = None,
) -> str:
    src, dst = _ACTOR[opener]
    lines = [
        "```mermaid",
        "sequenceDiagram",
        "    participant S as lttng-sessiond",
        "    participant C as lttng-consumerd",
    ]
    for peer, (actor, label) in PEER_ACTOR.items():
        if any(item.peer is peer for item in traffic):
            lines.append(f"    participant {actor} as {label}")
    lines.append(f"    {src}->>{dst}: {opening.replace('`', '')}")
    for when, group in _groups(steps):
        body: list[str] = []
        indent = "    " if when == ALWAYS else "        "
        for step in group:
            body += _traffic_lines(_before(traffic, step.name), indent)
            body += _mermaid_steps([step], abi, indent)
        if when == ALWAYS:
            lines += body
        else:
            lines += [f"    opt {when.describe()}", *body, "    end"]
    lines += _traffic_lines(_before(traffic, None), "    ")
    if ending is ReplyKind.CONSUMER_STOPS:
        lines.append("    Note over C: the C consumer stops, no reply")
    elif ending is ReplyKind.NONE:
        lines.append("    Note over C: ignored by the UST consumer, no reply")
    lines.append("```")
    return "\n".join(lines) + "\n"


def _traffic_text(item: Traffic) -> str:
    arrow = f"C→{item.peer.value}" if item.outbound else f"{item.peer.value}→C"
    guard = f" — only if {item.when}" if item.when else ""
    return f"{arrow}: {item.what}{guard}"


def _silence(ending: ReplyKind | None) -> str:
    if ending is ReplyKind.CONSUMER_STOPS:
        return ": **the C consumer stops** (see the preconditions)"
    if ending is ReplyKind.NONE:
        return ": the UST consumer ignores this command"
    return ""


def _text(
    opening: str,
    opener: Direction,
    steps: tuple[Step, ...],
    abi: Abi,
    *,
    traffic: tuple[Traffic, ...] = (),
    ending: ReplyKind | None = None,
) -> str:
    lines = [f"1. {opener.arrow} {opening}"]
    for step in steps:
        lines += [f"1. {_traffic_text(item)}" for item in _before(traffic, step.name)]
        guard = "" if step.when == ALWAYS else f" — only if `{step.when.describe()}`"
        note = f" ({step.note})" if step.note else ""
        lines.append(f"1. {step.direction.arrow} `{step.name}`: {_what(step, abi)}{note}{guard}")
    after = _before(traffic, None)
    if after:
        lines.append("1. after the reply:")
        lines += [f"    - {_traffic_text(item)}" for item in after]
    if not steps:
        lines.append(f"1. nothing comes back on the command socket{_silence(ending)}")
    return "\n".join(_numbered(lines)) + "\n"


def _numbered(lines: list[str]) -> list[str]:
    """Number the ``1.`` items in order (nested ``-`` items are left alone)."""
    out: list[str] = []
    number = 0
    for line in lines:
        if line.startswith("1. "):
            number += 1
            out.append(f"{number}. {line[3:]}")
        else:
            out.append(line)
    return out


def _section(
    title: str,
    opening: str,
    *,
    opener: Direction,
    steps: tuple[Step, ...],
    abi: Abi,
    kept: dict[str, str],
    key: str,
    traffic: tuple[Traffic, ...] = (),
    extra: str = "",
    ending: ReplyKind | None = None,
) -> str:
    return (
        f"\n#### {title}\n\n"
        + _mermaid(opening, opener, steps, abi, traffic=traffic, ending=ending)
        + "\n"
        + _text(opening, opener, steps, abi, traffic=traffic, ending=ending)
        + "\n"
        + extra
        + slot(key, kept)
    )


def _contents(abi: Abi) -> str:
    """The table of contents of the command sections, one line per command."""
    rows = ["\nCommands (each: sequence, then what the consumer does):\n\n"]
    rows.append("| # | command | purpose |\n| ---: | --- | --- |\n")
    for command in LttngConsumerCommand:
        purpose = BEHAVIOUR[command].purpose
        rows.append(
            f"| {int(command)} | [{command.name}](#{heading_anchor(command.name)}) | {purpose} |\n"
        )
    return "".join(rows)


def sequences(abi: Abi, kept: dict[str, str]) -> str:
    """The "Conversation" part of the consumer protocol page."""
    out = [
        "\n## Conversation\n\n",
        "Generated from the conversation table (`ustref/protocol/conversation/rules.py`), "
        "which `ustref decode` runs. S = session daemon, C = consumer daemon. A step whose "
        "condition does not hold is skipped (that is the error path: e.g. a non-SUCCESS "
        "status ends the exchange). An fd transfer is one dummy byte carrying `SCM_RIGHTS`. "
        "The union member each command fills is listed in the field table of "
        "[`lttcomm_consumer_msg`](#lttcomm_consumer_msg) below. Traffic the command causes on "
        "other channels (metadata socket, relay daemon, monitor pipe, error socket) is drawn "
        "in the same diagram; the relay messages are framed as on the "
        "[relay page](consumerd-relayd.md#sequences), session-level orders are in "
        "[sessions](../sessions.md) and the C daemon's fatal inputs in [aborts](../aborts.md).\n",
        "\n### Start-up\n\n",
        "```mermaid\nsequenceDiagram\n    participant S as lttng-sessiond\n"
        "    participant C as lttng-consumerd\n"
        f"    C->>S: error socket: {STARTUP_CODE.name} ({_what(INITIATORS[Socket.ERROR], abi)})\n"
        "    S->>C: connect to the command socket (first connection: commands)\n"
        "    S->>C: connect again (second connection: metadata socket)\n```\n\n",
        f"1. C→S error socket: `{STARTUP_CODE.name}` = {int(STARTUP_CODE)}, "
        f"{_what(INITIATORS[Socket.ERROR], abi)}\n"
        "2. S connects to the consumer's command socket: the first connection carries commands\n"
        "3. S connects a second time: that connection is the metadata socket\n",
        "\nNothing moves on the command or metadata socket before step 1 "
        "(`ustref decode` enforces it).\n",
        slot("seq:startup", kept),
        "\n### Command socket (first connection)\n",
    ]
    msg = CONSUMER_MSG[abi]
    out.append(_contents(abi))
    out.append(common_preconditions())
    for command in LttngConsumerCommand:
        member = _union_member(abi, command)
        where = f"`u.{member}`" if member else "no union member (raw)"
        opening = f"`lttcomm_consumer_msg` ({msg.size} B), cmd_type = {int(command)}, {where}"
        out.append(
            _section(
                command.name,
                opening,
                opener=Direction.TO_CONSUMERD,
                steps=command_steps(abi, command),
                abi=abi,
                kept=kept,
                key=f"seq:{command.name}",
                traffic=BEHAVIOUR[command].traffic,
                extra=behaviour_section(abi, command, member),
                ending=REPLY_AFTER[abi][command],
            )
        )
    out.append("\n### Metadata socket (second connection)\n")
    request: Any = INITIATORS[Socket.METADATA]
    out.append(
        _section(
            "metadata request",
            f"`{request.name}`: {_what(request, abi)}",
            opener=Direction.TO_SESSIOND,
            steps=METADATA_EXCHANGE,
            abi=abi,
            kept=kept,
            key="seq:metadata",
        )
    )
    out.append("\n### Error socket and channel-monitor pipe\n")
    for socket in (Socket.ERROR, Socket.CHANNEL_MONITOR):
        opener = INITIATORS[socket]
        out.append(
            _section(
                f"{socket.value} socket",
                f"`{opener.name}`: {_what(opener, abi)} (repeated)",
                opener=opener.direction,
                steps=(),
                abi=abi,
                kept=kept,
                key=f"seq:{socket.value}",
            )
        )
    return "".join(out)
