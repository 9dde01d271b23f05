"""``ustref decode FILE|DIR [--abi …] [--json] [--check-roundtrip]``.

Feeds a capture file, or a raw capture directory converted from
``strace -f -xx -yy``, record by record into the sans-IO
:class:`~ustref.protocol.conversation.Conversation` (session daemon ↔
consumer records) and :class:`~ustref.capture.relayd.RelaydDecoder`
(consumer ↔ relay daemon records), and prints one line (or one JSON object)
per decoded message, in capture order. ``--check-roundtrip`` rebuilds every
typed message from its decoded value and compares it byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ustref.capture.format import AnyRecord, CaptureRecord, RelaydRecord, read_capture_all
from ustref.capture.relayd import RelaydDecoded, RelaydDecoder
from ustref.errors import RemoteProtocolError, UstrefError
from ustref.helptext import plain
from ustref.protocol.abi import ALL_ABIS, DEFAULT_ABI, Abi
from ustref.protocol.consumer import LttngConsumerCommand, RelaydSockR97535efaa, RelaydSockV2139
from ustref.protocol.conversation import Conversation, Decoded, Direction, Socket
from ustref.protocol.jsonify import summary, to_jsonable


@dataclass(frozen=True)
class DecodedRecord:
    """A decoded session daemon ↔ consumer message with its index in the conversation."""

    index: int
    message: Decoded


@dataclass(frozen=True)
class DecodedRelaydRecord:
    """A decoded consumer ↔ relay daemon message with its index in the capture."""

    index: int
    message: RelaydDecoded


AnyDecoded = DecodedRecord | DecodedRelaydRecord


def decode_records(records: Iterable[AnyRecord], abi: Abi) -> Iterator[DecodedRecord]:
    """Decode the session daemon ↔ consumer records in order (relay daemon records are
    left out); raises :class:`RemoteProtocolError` at the first fault."""
    for item in decode_capture((r for r in records if isinstance(r, CaptureRecord)), abi):
        if isinstance(item, DecodedRecord):
            yield item


def relayd_handover(message: Decoded) -> tuple[int, int] | None:
    """``(net_index, minor)`` of an ``LTTNG_CONSUMER_ADD_RELAYD_SOCKET`` command (the
    protocol minor the session daemon agreed with that relay daemon), else ``None``."""
    if message.step != "command":
        return None
    if getattr(message.value, "cmd_type", None) is not (
        LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET
    ):
        return None
    member = message.value.u
    if isinstance(member, RelaydSockV2139):
        return member.net_index, member.minor
    if isinstance(member, RelaydSockR97535efaa):
        return member.net_index, member.sock.minor
    return None


def decode_capture(records: Iterable[AnyRecord], abi: Abi) -> Iterator[AnyDecoded]:
    """Decode every record of a capture, relay daemon records included, in order;
    raises :class:`RemoteProtocolError` at the first fault."""
    conversation = Conversation(abi, from_start=True)
    relay = RelaydDecoder()
    index = 0
    for record in records:
        if isinstance(record, RelaydRecord):
            for piece in relay.observe(record):
                yield DecodedRelaydRecord(index, piece)
                index += 1
            continue
        socket = Socket(getattr(record.socket, "value", record.socket))
        direction = Direction(getattr(record.direction, "value", record.direction))
        for message in conversation.observe(socket, direction, record.data, record.fd_count):
            handover = relayd_handover(message)
            if handover is not None:
                relay.set_minor(*handover)
            yield DecodedRecord(index, message)
            index += 1
    for message in conversation.finish():
        yield DecodedRecord(index, message)
        index += 1
    relay.finish()


def roundtrip_problem(message: Decoded | RelaydDecoded) -> str | None:
    """Why ``message`` does not rebuild to its bytes (``None`` when it does)."""
    if message.spec is None:
        return None
    try:
        rebuilt = message.spec.build(message.value)
    except UstrefError as exc:
        return f"cannot rebuild: {exc}"
    if rebuilt != message.raw:
        at = next(i for i, (a, b) in enumerate(zip(rebuilt, message.raw, strict=False)) if a != b)
        return f"rebuilt bytes differ from byte {at}"
    return None


def line(item: AnyDecoded) -> str:
    m = item.message
    fds = f" +{m.fds}fd" if m.fds else ""
    detail = summary(m.value)
    socket = m.socket.value
    if isinstance(m, RelaydDecoded):
        socket = f"{socket}#{m.connection}"
    return (
        f"{item.index:>5} {socket:<15} {m.direction.arrow} {m.exchange:<40} "
        f"{m.step}: {m.name}{fds}  {detail}"
    ).rstrip()


def as_json(item: AnyDecoded) -> dict[str, Any]:
    m = item.message
    relay: dict[str, Any] = {}
    if isinstance(m, RelaydDecoded):
        relay = {"connection": m.connection, "net_index": m.net_index}
    return {
        **relay,
        "index": item.index,
        "socket": m.socket.value,
        "direction": m.direction.value,
        "exchange": m.exchange,
        "step": m.step,
        "message": m.name,
        "offset": m.offset,
        "size": len(m.raw),
        "fds": m.fds,
        "value": to_jsonable(m.value),
    }


def decode_main(argv: list[str], out: TextIO | None = None) -> int:
    out = sys.stdout if out is None else out
    parser = argparse.ArgumentParser(
        prog="ustref decode", description=plain(__doc__.splitlines()[0])
    )
    parser.add_argument("capture", type=Path, help="capture file or raw capture directory")
    parser.add_argument("--abi", choices=[a.value for a in ALL_ABIS], default=DEFAULT_ABI.value)
    parser.add_argument("--json", action="store_true", help="one JSON object per message")
    parser.add_argument(
        "--check-roundtrip", action="store_true", help="rebuild every message; exit 1 on a diff"
    )
    args = parser.parse_args(argv)
    failures = 0
    count = 0
    try:
        for item in decode_capture(read_capture_all(args.capture), Abi.from_name(args.abi)):
            count += 1
            out.write((json.dumps(as_json(item)) if args.json else line(item)) + "\n")
            if args.check_roundtrip:
                problem = roundtrip_problem(item.message)
                if problem:
                    failures += 1
                    print(f"message {item.index} ({item.message.name}): {problem}", file=sys.stderr)
    except RemoteProtocolError as exc:
        print(f"ustref decode: message {count} does not decode: {exc}", file=sys.stderr)
        return 1
    except UstrefError as exc:
        print(f"ustref decode: {exc}", file=sys.stderr)
        return 1
    if args.check_roundtrip:
        verdict = "all rebuilt identically" if not failures else f"{failures} differ"
        print(f"{count} messages decoded; {verdict}", file=sys.stderr)
    return 1 if failures else 0
