"""Decoded-JSON expectations of the golden corpus (``spec/golden/<abi>/<scenario>/``).

Beside each raw capture from the real daemons lies ``expected.jsonl``: the
conversation decoded by ustref, one JSON object per message, with volatile
values (timestamps, uuids, paths, raw blobs that embed them) replaced by
placeholders — in the expectation only, never in the raw bytes. Scenarios that
stream also have ``expected-relayd.jsonl``: the consumer ↔ relay daemon
messages, decoded the same way (their ``index`` counts every message of the
capture, in capture order). Regenerate with ``python
scripts/golden_expectations.py`` after re-capturing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ustref.capture.decode import (
    AnyDecoded,
    DecodedRelaydRecord,
    as_json,
    decode_capture,
    decode_records,
)
from ustref.capture.format import read_capture, read_capture_all
from ustref.protocol.abi import Abi

#: Fields whose values change from one capture to the next.
VOLATILE_FIELDS = frozenset(
    {
        "creation_timestamp",
        "close_timestamp",
        "uuid",
        "sessiond_uuid",
        "pathname",
        "root_shm_path",
        "shm_path",
        "path",
        "override_name",
        "output_path",
        "timestamp_begin",
        "timestamp_end",
        "payload",
    }
)
#: Raw steps whose bytes embed volatile values (uuids, hostnames, times, paths).
VOLATILE_STEPS = frozenset({"metadata", "channel.data", "data.packet"})

EXPECTED = "expected.jsonl"
RELAYD_EXPECTED = "expected-relayd.jsonl"


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: ("<volatile>" if key in VOLATILE_FIELDS else _normalise(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    return value


def expectation(item: AnyDecoded) -> dict[str, Any]:
    """The normalised JSON of one decoded message."""
    doc = as_json(item)
    if item.message.step in VOLATILE_STEPS:
        doc["value"] = "<volatile bytes>"
    else:
        doc["value"] = _normalise(doc["value"])
    return doc


def capture_file(scenario: Path) -> Path:
    """The raw capture of a scenario directory."""
    found = sorted(p for p in scenario.iterdir() if p.name.startswith("capture."))
    if not found:
        raise FileNotFoundError(f"no capture.* in {scenario}")
    return found[0]


def expectations(scenario: Path, abi: Abi) -> list[dict[str, Any]]:
    """The normalised decoded conversation of a scenario's capture."""
    return [expectation(item) for item in decode_records(read_capture(capture_file(scenario)), abi)]


def relayd_expectations(scenario: Path, abi: Abi) -> list[dict[str, Any]]:
    """The normalised consumer ↔ relay daemon messages of a scenario's capture."""
    return [
        expectation(item)
        for item in decode_capture(read_capture_all(capture_file(scenario)), abi)
        if isinstance(item, DecodedRelaydRecord)
    ]


def _write(path: Path, docs: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(d, sort_keys=True) + "\n" for d in docs))


def write_expectations(scenario: Path, abi: Abi) -> int:
    """Write ``expected.jsonl`` (and ``expected-relayd.jsonl`` when the capture holds
    relay daemon records) beside the capture; returns the message count."""
    docs = expectations(scenario, abi)
    _write(scenario / EXPECTED, docs)
    relay = relayd_expectations(scenario, abi)
    if relay:
        _write(scenario / RELAYD_EXPECTED, relay)
    else:
        (scenario / RELAYD_EXPECTED).unlink(missing_ok=True)
    return len(docs) + len(relay)


def read_expectations(scenario: Path, name: str = EXPECTED) -> list[dict[str, Any]]:
    """The expectations kept in ``name`` (``expected.jsonl`` by default)."""
    text = (scenario / name).read_text()
    return [json.loads(line) for line in text.splitlines() if line]
