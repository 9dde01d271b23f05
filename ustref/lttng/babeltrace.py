"""Read CTF traces with ``babeltrace2``'s default text output.

``babeltrace2 TRACE_DIR`` prints one line per event, as babeltrace2 2.0.4 does
for an lttng-ust 2.13 trace::

    [11:52:16.819306204] (+?.?????????) vm lttng_ust_tracef:event: { cpu_id = 1 }, \
{ _msg_length = 15, msg = "ustref tracef 0" }

that is: ``[timestamp] (+delta) hostname event:name: { context }, …, { payload }``.
The first delta is ``+?.?????????``. The hostname is left out when the trace
does not record one. Each ``{ … }`` group is a scope: packet context (the
``cpu_id``), then any contexts added with ``lttng add-context``, then the
payload, last.

``babeltrace2 TRACE_DIR -c sink.utils.counter`` prints blocks of message
counts instead (:func:`parse_counter`, :func:`count_messages`)::

              13500 Event messages
                  2 Stream beginning messages
                ...
                197 Discarded event messages
                ...
              14153 messages (TOTAL)

one block every ``step`` messages (10,000 in babeltrace2 2.0.4, whatever its
manual page says) with the running counts, and a last one with the totals.
"""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ustref.lttng.sessiond import LttngCommandError, LttngError

__all__ = [
    "Event",
    "count_events",
    "count_messages",
    "parse_counter",
    "parse_line",
    "read_events",
    "split_fields",
    "split_groups",
]

_LINE = re.compile(
    r"^\[(?P<timestamp>[^\]]+)\]"
    r" \((?P<delta>[^)]*)\)"
    r"(?: (?P<hostname>\S+))??"
    r" (?P<name>\S+):"
    r"(?: (?P<fields>.*))?$"
)


_COUNTER_LINE = re.compile(r"^\s*(?P<count>\d+) (?:(?P<kind>.+?) )?messages?(?: \(TOTAL\))?$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass(frozen=True)
class Event:
    """One event line of ``babeltrace2``'s text output.

    ``fields`` is everything after ``name:`` (the ``{ … }`` groups, verbatim);
    ``raw`` the whole line.
    """

    timestamp: str
    delta: str
    hostname: str | None
    name: str
    fields: str
    raw: str

    @property
    def groups(self) -> tuple[str, ...]:
        """The top-level ``{ … }`` groups of :attr:`fields`, braces included."""
        return split_groups(self.fields)

    @property
    def payload(self) -> dict[str, str]:
        """The last group's top-level ``name = value`` pairs (values verbatim)."""
        groups = self.groups
        return split_fields(groups[-1]) if groups else {}

    @property
    def context(self) -> dict[str, str]:
        """The top-level ``name = value`` pairs of every group but the last."""
        merged: dict[str, str] = {}
        for group in self.groups[:-1]:
            merged.update(split_fields(group))
        return merged


def _scan(text: str) -> list[tuple[int, str]]:
    """Yield (depth, char) for each character outside double-quoted strings.

    Characters inside strings are reported with depth -1.
    """
    out: list[tuple[int, str]] = []
    depth = 0
    in_string = False
    escaped = False
    for char in text:
        if in_string:
            out.append((-1, char))
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
            out.append((-1, char))
            continue
        if char in "{[(":
            out.append((depth, char))
            depth += 1
            continue
        if char in "}])":
            depth -= 1
        out.append((depth, char))
    return out


def split_groups(fields: str) -> tuple[str, ...]:
    """Split ``{ a = 1 }, { b = 2 }`` into ``("{ a = 1 }", "{ b = 2 }")``."""
    groups: list[str] = []
    start: int | None = None
    for index, (depth, char) in enumerate(_scan(fields)):
        if depth == 0 and char == "{":
            start = index
        elif depth == 0 and char == "}" and start is not None:
            groups.append(fields[start : index + 1])
            start = None
    return tuple(groups)


def split_fields(group: str) -> dict[str, str]:
    """``{ a = 1, b = [ [0] = 2 ] }`` → ``{"a": "1", "b": "[ [0] = 2 ]"}``.

    Values are kept verbatim (strings keep their quotes).
    """
    body = group.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    parts: list[str] = []
    start = 0
    for index, (depth, char) in enumerate(_scan(body)):
        if depth == 0 and char == ",":
            parts.append(body[start:index])
            start = index + 1
    parts.append(body[start:])
    result: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition(" = ")
        if sep:
            result[key.strip()] = value.strip()
    return result


def parse_line(line: str) -> Event:
    """Parse one line of ``babeltrace2`` text output; :class:`LttngError` if it is not one."""
    stripped = line.rstrip("\n")
    match = _LINE.match(stripped)
    if match is None:
        raise LttngError(f"not a babeltrace2 event line: {stripped!r}")
    return Event(
        timestamp=match["timestamp"],
        delta=match["delta"],
        hostname=match["hostname"],
        name=match["name"],
        fields=match["fields"] or "",
        raw=stripped,
    )


def read_events(
    trace_dir: Path | str,
    *,
    babeltrace: str = "babeltrace2",
    extra_args: Sequence[str] = (),
    timeout: float = 120.0,
) -> list[Event]:
    """Run ``babeltrace2 [extra_args] trace_dir`` and parse every output line.

    Raises :class:`LttngError` when ``trace_dir`` is not a directory or a line
    is not an event, :class:`LttngCommandError` when babeltrace2 fails (e.g.
    no trace there).
    """
    _require_dir(Path(trace_dir))
    argv = [babeltrace, *extra_args, os.fspath(trace_dir)]
    stdout = _run(argv, timeout)
    return [parse_line(line) for line in stdout.splitlines() if line.strip()]


def count_events(
    trace_dir: Path | str,
    pattern: str | None = None,
    *,
    babeltrace: str = "babeltrace2",
) -> int:
    """How many events ``trace_dir`` holds, of names matching the glob ``pattern``
    (e.g. ``"lttng_ust_tracef:*"``) when given."""
    events = read_events(trace_dir, babeltrace=babeltrace)
    if pattern is None:
        return len(events)
    return sum(1 for event in events if fnmatch.fnmatchcase(event.name, pattern))


def parse_counter(text: str) -> dict[str, int]:
    """The last block of ``sink.utils.counter`` output: message type → count, e.g.
    ``{"Event": 13500, …, "Discarded event": 197, …, "TOTAL": 14153}``.

    Only the last block has the totals: the ones before it are running counts
    printed every ``step`` messages. Raises :class:`LttngError` when ``text``
    holds no complete block (one ending with its ``(TOTAL)`` line).
    """
    blocks: list[dict[str, int]] = []
    block: dict[str, int] = {}
    for raw in text.splitlines():
        line = _ANSI.sub("", raw).rstrip()
        if not line:
            continue
        match = _COUNTER_LINE.match(line)
        if match is None:
            raise LttngError(f"not a sink.utils.counter line: {line!r}")
        count = int(match["count"])
        if line.endswith("(TOTAL)"):
            block["TOTAL"] = count
            blocks.append(block)
            block = {}
        else:
            block[match["kind"] or ""] = count
    if not blocks:
        raise LttngError(f"no complete sink.utils.counter block in {text[-500:]!r}")
    return blocks[-1]


def count_messages(
    trace_dir: Path | str | Sequence[Path | str],
    *,
    babeltrace: str = "babeltrace2",
    timeout: float = 600.0,
) -> dict[str, int]:
    """The message counts of the whole of ``trace_dir``, or of several trace directories
    read together (:func:`parse_counter` of ``babeltrace2 DIR… -c sink.utils.counter
    -p step=+0``: one block, at the end)."""
    dirs = [trace_dir] if isinstance(trace_dir, str | os.PathLike) else list(trace_dir)
    for one in dirs:
        _require_dir(Path(one))
    argv = [
        babeltrace,
        *(os.fspath(one) for one in dirs),
        "-c",
        "sink.utils.counter",
        "-p",
        "step=+0",
    ]
    return parse_counter(_run(argv, timeout))


def _run(argv: Sequence[str], timeout: float) -> str:
    """stdout of ``argv``; :class:`LttngCommandError` when it cannot run, times out or fails."""
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise LttngCommandError(
            f"timed out after {timeout:g} s", argv=argv, returncode=None
        ) from exc
    except OSError as exc:
        raise LttngCommandError(f"cannot run ({exc})", argv=argv, returncode=None) from exc
    if done.returncode != 0:
        raise LttngCommandError(
            f"exited with status {done.returncode}",
            argv=argv,
            returncode=done.returncode,
            stdout=done.stdout[-2000:],
            stderr=done.stderr,
        )
    return done.stdout


def _require_dir(path: Path) -> None:
    if not path.is_dir():
        raise LttngError(f"no trace directory at {path}")
