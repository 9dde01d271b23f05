"""Session-level sequences, as the golden captures of real daemons show them.

For each scenario under ``spec/golden/v2.13.9/`` (created by
``scripts/capture_golden.py``): the ``lttng`` commands that were run, then every
exchange the session daemon and the consumer had, in capture order, across the
command, metadata, error and channel-monitor sockets — decoded by the same
conversation table ``ustref decode`` runs, one line per exchange, repeats
folded. Each command links to its behaviour section on the consumer page, so
a session-level order (create → start → stop → destroy, rotation to
completion, clear, snapshot record, metadata regeneration, per-PID teardown,
live) reads as a path through those sections.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeGuard

from ustref.capture.decode import decode_records
from ustref.capture.format import read_capture
from ustref.consumerd.behaviour import BEHAVIOUR, Peer
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import LttngConsumerCommand
from ustref.protocol.conversation import Decoded, Socket
from ustref.specgen.links import heading_anchor
from ustref.specgen.prose import slot

ABI = Abi.V2_13_9
GOLDEN = f"golden/{ABI.value}"
CONSUMER_PAGE = f"{ABI.value}/sessiond-consumerd.md"

#: Scenario → what it shows at session level (order of the page).
SCENARIOS: dict[str, str] = {
    "per-uid": "Create, start, stop, destroy (per-UID buffers, one app)",
    "per-pid": "Per-PID buffers: an app that forks; each process's buffers torn down when "
    "it exits (FLUSH_CHANNEL, PUSH_METADATA, CLOSE_METADATA per app)",
    "app-sigkill": "An app killed with SIGKILL mid-trace: nothing reaches the consumer at the "
    "kill; its buffers are drained at stop and torn down at destroy",
    "snapshot": "Snapshot record, three times: CREATE_TRACE_CHUNK, SNAPSHOT_CHANNEL per "
    "channel (metadata one through the metadata socket), CLOSE_TRACE_CHUNK",
    "rotation": "Rotation to completion (CREATE_TRACE_CHUNK, ROTATE_CHANNEL data then "
    "metadata, CLOSE_TRACE_CHUNK, TRACE_CHUNK_EXISTS until UNKNOWN_TRACE_CHUNK), and clear",
    "regenerate": "Metadata regeneration while an app runs: the metadata is pushed whole, "
    "from offset 0, with a new version (here the only PUSH_METADATA carries version 1)",
    "overwrite": "Overwrite channel with switch, read and monitor timers; trace file rotation",
    "streaming": "Streaming to a relay daemon: ADD_RELAYD_SOCKET control then data first",
    "live": "Live session: as streaming, plus the live timer and metadata requests",
    "snapshot-remote": "Snapshot records to a relay daemon: each record hands over a new pair "
    "of relay sockets (a new net index)",
    "rotation-remote": "Rotations of a streaming session: the trace chunks are the relay "
    "daemon's (CREATE/CLOSE_TRACE_CHUNK carry no directory fd)",
}

_START = {"command", "request", "code", "sample"}


def _short(value: Any) -> str:
    name = getattr(value, "name", str(value))
    return name.removeprefix("LTTCOMM_CONSUMERD_")


_SCALARS = ("is_data_pending", "discarded_events", "lost_packets")


def _detail(message: Decoded) -> str:
    """One word or two for a reply step."""
    value = message.value
    for field in ("ret_code", "code"):
        if hasattr(value, field):
            extra = ""
            if hasattr(value, "stream_count"):
                extra = f" ({value.stream_count} streams)"
            return f"{message.step} {_short(getattr(value, field))}{extra}"
    if message.step == "reply" and hasattr(value, "cmd_type"):
        length = getattr(getattr(value, "u", None), "len", None)
        shown = _short(value.cmd_type).removeprefix("LTTNG_CONSUMER_")
        return f"reply {shown}" + (f" len {length}" if length is not None else "")
    if message.step == "metadata":
        return f"{len(message.raw)} metadata bytes"
    for field in _SCALARS:
        if hasattr(value, field):
            return f"{field} = {getattr(value, field)}"
    return message.step


def _exchanges(messages: Iterable[Decoded]) -> list[tuple[Socket, str, list[str]]]:
    """(socket, exchange label, reply details) per exchange, in capture order.

    A metadata-socket exchange that starts while a command still awaits its
    first reply, when the behaviour table says that command talks on the
    metadata socket before replying (SNAPSHOT_CHANNEL of a metadata channel),
    is shown nested in the command's replies, where it occurred.
    """
    found: list[tuple[Socket, str, list[str]]] = []
    open_by_socket: dict[Socket, list[str]] = {}
    for message in messages:
        if message.step in _START:
            details: list[str] = []
            pending = open_by_socket.get(Socket.COMMAND)
            if message.socket is Socket.METADATA and _awaiting(pending) and _nests(found):
                pending.append("⟨metadata socket: request")
                open_by_socket[message.socket] = pending
                continue
            if message.socket is Socket.COMMAND and found:
                _close_nested(open_by_socket.get(Socket.COMMAND))
            open_by_socket[message.socket] = details
            found.append((message.socket, message.exchange, details))
            if message.socket is Socket.COMMAND:
                details += _tags(message.value)
            continue
        if message.socket is Socket.COMMAND:
            _close_nested(open_by_socket.get(Socket.COMMAND))
        details = open_by_socket.setdefault(message.socket, [])
        if message.step.startswith("stream."):
            if message.step == "stream.stream_nr":
                details.append("stream")
            continue
        if message.step.startswith("channel.") and message.step != "channel.size":
            continue
        details.append("channel" if message.step == "channel.size" else _detail(message))
    return found


def _tags(command: Any) -> list[str]:
    """What a command line shows of its arguments: channel kind, metadata position."""
    u: Any = getattr(command, "u", None)
    if hasattr(u, "metadata"):
        return ["(metadata channel)" if u.metadata else "(data channel)"]
    if hasattr(u, "target_offset") and hasattr(u, "version"):
        return [f"(offset {u.target_offset}, version {u.version})"]
    return []


def _awaiting(details: list[str] | None) -> TypeGuard[list[str]]:
    """A command exchange that has had no reply yet (only its channel-kind tag)."""
    return details is not None and all(d.startswith("(") for d in details)


def _nests(found: list[tuple[Socket, str, list[str]]]) -> bool:
    """Whether the last command exchange talks on the metadata socket before its reply."""
    socket, label, _ = next(x for x in reversed(found) if x[0] is Socket.COMMAND)
    behaviour = BEHAVIOUR.get(LttngConsumerCommand[label]) if socket is Socket.COMMAND else None
    return behaviour is not None and any(
        t.peer is Peer.METADATA and t.before is not None for t in behaviour.traffic
    )


def _close_nested(details: list[str] | None) -> None:
    """End a nested metadata exchange in a command's details (if one is open)."""
    if details and "⟨metadata socket: request" in details and "⟩" not in details:
        details.append("⟩")


def _fold(details: list[str]) -> str:
    """Reply details joined, consecutive ust-ctl streams counted."""
    out: list[str] = []
    streams = 0
    for detail in [*details, ""]:
        if detail == "stream":
            streams += 1
            continue
        if streams:
            out.append(f"{streams} stream{'s' * (streams > 1)}")
            streams = 0
        if detail and not detail.startswith("streams.end"):
            out.append(detail)
    return ", ".join(out).replace("request, ", "request → ").replace(", ⟩", "⟩")


def _line(socket: Socket, label: str, details: list[str]) -> str:
    tags = [d for d in details if d.startswith("(")]
    details = [d for d in details if not d.startswith("(")]
    if socket is Socket.COMMAND:
        what = f"[{label}]({CONSUMER_PAGE}#{heading_anchor(label)})" + "".join(
            f" {tag}" for tag in tags
        )
        arrow = "S→C"
    elif socket is Socket.METADATA:
        what = f"[metadata request]({CONSUMER_PAGE}#metadata-request)"
        arrow = "C→S (metadata socket)"
    else:
        what = label
        arrow = f"C→S ({socket.value})"
    folded = _fold(details)
    return f"{arrow} {what}" + (f" → {folded}" if folded else "")


def _commands(commands_md: str) -> list[str]:
    """The numbered ``lttng`` commands of a scenario's COMMANDS.md."""
    part = commands_md.split("## Commands, in order", 1)[-1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. (.+)$", part, re.MULTILINE)


def scenario_section(spec_root: Path, scenario: str, kept: dict[str, str]) -> str:
    directory = spec_root / GOLDEN / scenario
    records = read_capture(directory / "capture.jsonl")
    lines = [_line(*x) for x in _exchanges(d.message for d in decode_records(records, ABI))]
    folded: list[tuple[str, int]] = []
    for text in lines:
        if folded and folded[-1][0] == text:
            folded[-1] = (text, folded[-1][1] + 1)
        else:
            folded.append((text, 1))
    out = [
        f"\n## {scenario}\n\n{SCENARIOS[scenario]}.\n\n",
        f"Evidence: [`{GOLDEN}/{scenario}/capture.jsonl`]({GOLDEN}/{scenario}/capture.jsonl), "
        f"commands and results in [COMMANDS.md]({GOLDEN}/{scenario}/COMMANDS.md).\n\n",
        "**lttng commands:**\n\n",
        *(f"- {c}\n" for c in _commands((directory / "COMMANDS.md").read_text())),
        "\n**What the consumer saw**, in order:\n\n",
        *(f"{i}. {text}{f' (×{n})' if n > 1 else ''}\n" for i, (text, n) in enumerate(folded, 1)),
        "\n",
        slot(f"sessions:{scenario}", kept),
    ]
    return "".join(out)


def sessions_page(spec_root: Path, kept: dict[str, str], header: str) -> str:
    out = [
        header,
        "# Session-level sequences (lttng-tools v2.13.9, from real daemons)\n\n",
        "Each section replays one golden capture: the `lttng` commands run, then every "
        "exchange between the session daemon and the consumer, across sockets, in the "
        "order captured (S = session daemon, C = consumer). Replies are summarised "
        "(status codes without the `LTTCOMM_CONSUMERD_` prefix); each command links to "
        "its behaviour section. The consumer's own talk with the relay daemon, recorded in "
        "the streaming scenarios' captures too, is not listed here (`ustref decode` shows "
        f"it): see each command's diagram on the [consumer page]"
        f"({CONSUMER_PAGE}) and the [relay sequences]"
        f"({ABI.value}/consumerd-relayd.md#sequences).\n\n",
        slot("sessions:intro", kept),
        "\n| scenario | what |\n| --- | --- |\n",
        *(f"| [{s}](#{heading_anchor(s)}) | {what} |\n" for s, what in SCENARIOS.items()),
    ]
    out += [scenario_section(spec_root, s, kept) for s in SCENARIOS]
    return "".join(out)
