"""Check the behaviour table's C line ranges against an lttng-tools 2.13.9 tree.

Every :class:`~ustref.consumerd.behaviour.Source` of
:mod:`ustref.consumerd.behaviour` cites a function (or one ``case`` of
``lttng_ustconsumer_recv_cmd``'s switch, or one of its ``end_*`` labels) and a
range of lines in a v2.13.9 file. :func:`check_sources` reads the files of a
source tree — Debian's ``ltt-control`` 2.13.9 source package, which
``scripts/fetch-lttng-source.sh`` unpacks under ``build/upstream/src/``, has
the same ``src/common`` files as the upstream tag — and reports every range
that does not start at what it names or that runs past the end of the function
it lies in. It also checks each command's ``case_line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from ustref.consumerd.behaviour import (
    BEHAVIOUR,
    END_MSG_SESSIOND,
    MIRRORED,
    RECV_CMD,
    UST_CONSUMER,
    Source,
)
from ustref.protocol.abi import Abi

__all__ = ["all_sources", "check_sources", "function_extent"]

_CASE = re.compile(r"^\s*(case LTTNG_CONSUMER_\w+:|default:|assert\(msg\.cmd_type )")


def all_sources() -> list[Source]:
    """Every distinct source the table cites, in table order, then :data:`MIRRORED`."""
    seen: dict[Source, None] = {RECV_CMD: None, END_MSG_SESSIOND: None}
    for behaviour in BEHAVIOUR.values():
        for source in behaviour.sources:
            seen.setdefault(source)
    for source in MIRRORED:
        seen.setdefault(source)
    return list(seen)


def function_extent(lines: list[str], name: str) -> tuple[int, int] | None:
    """The 1-based first and last lines of the definition of ``name`` in ``lines``.

    A definition is a line at column 0 that holds ``name(`` (lttng-tools puts
    the return type before it, on the same or the previous line) and is not a
    declaration (no ``;`` before the body's ``{``); it ends at the next ``}``
    at column 0.
    """
    pattern = re.compile(rf"^(?:[A-Za-z_].*[\s*])?{re.escape(name)}\(")
    for index, line in enumerate(lines):
        if not pattern.match(line):
            continue
        body = index
        while body < len(lines) and not lines[body].startswith("{"):
            if lines[body].rstrip().endswith(";"):
                break
            body += 1
        if body >= len(lines) or not lines[body].startswith("{"):
            continue
        for end in range(body + 1, len(lines)):
            if lines[end].startswith("}"):
                return index + 1, end + 1
    return None


def _check_one(source: Source, lines: list[str], recv: tuple[int, int] | None) -> Iterable[str]:
    where = f"{source.describe()}"
    if not 1 <= source.first <= source.last <= len(lines):
        yield f"{where}: not a range of lines of {source.file} ({len(lines)} lines)"
        return
    first_line = lines[source.first - 1]
    name = source.function.split()[0]
    if source.file == UST_CONSUMER and recv is not None and name == RECV_CMD.function:
        if (source.first, source.last) == recv:
            return
        if not recv[0] < source.first <= source.last <= recv[1]:
            yield f"{where}: not inside {name} ({recv[0]}–{recv[1]})"
            return
        if not _CASE.match(first_line):
            yield f"{where}: line {source.first} is not a case label: {first_line.strip()!r}"
            return
        # The case ends before the next label once its body has begun.
        body_started = False
        for number in range(source.first + 1, source.last + 1):
            line = lines[number - 1]
            if _CASE.match(line) and body_started and _indent(line) == _indent(first_line):
                yield f"{where}: runs into the next case at line {number}"
                return
            if line.strip() and not _CASE.match(line):
                body_started = True
        return
    if name.startswith("end_"):
        if not re.match(rf"^\s*{re.escape(name)}:", first_line):
            yield f"{where}: line {source.first} is not the label {name}: {first_line.strip()!r}"
            return
        if recv is not None and not recv[0] < source.first <= source.last <= recv[1]:
            yield f"{where}: label outside lttng_ustconsumer_recv_cmd ({recv[0]}–{recv[1]})"
        return
    extent = function_extent(lines, name)
    if extent is None:
        yield f"{where}: no definition of {name} in {source.file}"
        return
    start, end = extent
    # The first line is the one naming the function (the return type may be above).
    if source.first != start:
        yield f"{where}: {name} is defined at line {start}, not {source.first}"
    if source.last > end:
        yield f"{where}: runs {source.last - end} line(s) past the end of {name} (line {end})"
    elif source.last < start:
        yield f"{where}: ends before {name} starts (line {start})"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def check_sources(root: Path) -> list[str]:
    """Every problem with the table's line ranges in the lttng-tools 2.13.9 tree at ``root``."""
    problems: list[str] = []
    files: dict[str, list[str]] = {}

    def read(name: str) -> list[str] | None:
        if name not in files:
            path = root / name
            if not path.is_file():
                return None
            files[name] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return files[name]

    ust = read(UST_CONSUMER)
    if ust is None:
        return [f"{root / UST_CONSUMER} is missing: not an lttng-tools source tree"]
    recv = function_extent(ust, RECV_CMD.function)
    if recv != (RECV_CMD.first, RECV_CMD.last):
        problems.append(f"{RECV_CMD.describe()}: the function spans {recv}")
    for source in all_sources():
        lines = read(source.file)
        if lines is None:
            problems.append(f"{source.describe()}: {root / source.file} is missing")
            continue
        problems.extend(_check_one(source, lines, recv))
    for command, behaviour in BEHAVIOUR.items():
        line = behaviour.case_line[Abi.V2_13_9]
        text = ust[line - 1] if 1 <= line <= len(ust) else ""
        if command.name not in text and "default:" not in text:
            problems.append(f"{command.name}: case_line {line} is {text.strip()!r}")
    return problems
