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

:func:`check_cites` checks the citations written *in the text* — ``file.c:N`` or
``file.c:N–M`` in the behaviour table's sentences, the aborts page's other fatal paths
and the hand-written behaviour pages (:data:`CITING_PAGES`): the lines exist, a range
ends inside the function it starts in, and the lines show the back-quoted name written
just before the citation (or lie inside its definition).
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

__all__ = [
    "CITED_FILES",
    "all_sources",
    "check_cites",
    "check_sources",
    "function_bodies",
    "function_extent",
    "page_texts",
    "table_texts",
]

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


# -- citations written in the text ---------------------------------------------------------

#: The lttng-tools 2.13.9 file each base name in the spec's prose means.
CITED_FILES: dict[str, str] = {
    "ust-consumer.c": UST_CONSUMER,
    "consumer.c": "src/common/consumer/consumer.c",
    "consumer-stream.c": "src/common/consumer/consumer-stream.c",
    "consumer-timer.c": "src/common/consumer/consumer-timer.c",
    "consumer-metadata-cache.c": "src/common/consumer/consumer-metadata-cache.c",
    "unix.c": "src/common/unix.c",
    "sessiond-comm.c": "src/common/sessiond-comm/sessiond-comm.c",
    "trace-chunk.c": "src/common/trace-chunk.c",
    "relayd.c": "src/common/relayd/relayd.c",
    "directory-handle.c": "src/common/compat/directory-handle.c",
    "shm.c": "src/common/shm.c",
    "defaults.h": "src/common/defaults.h",
    "ust-app.c": "src/bin/lttng-sessiond/ust-app.c",
    "lttng-consumerd.c": "src/bin/lttng-consumerd/lttng-consumerd.c",
}

#: ``file.c:12``, ``file.c:12–34``, ``file.c:12 and 40``, ``file.c:12–34, 40–41``.
_CITE = re.compile(
    r"(?<![\w/.-])(?P<file>[A-Za-z][\w-]*\.[ch]):"
    r"(?P<lines>\d+(?:[–-]\d+)?(?:(?:, | and )\d+(?:[–-]\d+)?(?![\w.]))*)"
)
_RANGE = re.compile(r"(\d+)(?:[–-](\d+))?")
_NAMED = re.compile(r"`([A-Za-z_]\w*)[^`]*`")
#: How far before a citation the name it shows may be written.
_NAME_REACH = 160


def function_bodies(lines: list[str]) -> list[tuple[int, int]]:
    """The 1-based line extents of every top-level ``{`` … ``}`` body (functions, as
    lttng-tools formats them: braces at column 0), with the lines naming them above."""
    bodies: list[tuple[int, int]] = []
    start: int | None = None
    for number, line in enumerate(lines, 1):
        if line.startswith("{") and start is None:
            head = number - 1
            while (
                head > 1 and lines[head - 1].strip() and not lines[head - 1].startswith(("}", "#"))
            ):
                if lines[head - 1].rstrip().endswith(";") or lines[head - 1].startswith("*/"):
                    break
                head -= 1
            start = head + 1 if head < number - 1 else number
        elif line.startswith("}") and start is not None:
            bodies.append((start, number))
            start = None
    return bodies


def check_cites(root: Path, texts: Iterable[tuple[str, str]]) -> list[str]:
    """Every citation ``file.c:N[–M]`` in ``texts`` (``(where, text)``) of a file of
    :data:`CITED_FILES`, checked against the tree at ``root``: the lines exist, a range
    that starts inside a function ends inside it, and when a back-quoted name comes
    shortly before the citation, the cited lines contain that name or lie inside its
    definition (a single line must name it: that is what makes it exact)."""
    problems: list[str] = []
    files: dict[str, list[str]] = {}
    bodies: dict[str, list[tuple[int, int]]] = {}
    for where, text in texts:
        for match in _CITE.finditer(text):
            path = CITED_FILES.get(match["file"])
            if path is None:
                continue
            if path not in files:
                full = root / path
                if not full.is_file():
                    problems.append(f"{where}: {full} is missing")
                    files[path] = []
                    continue
                files[path] = full.read_text(encoding="utf-8", errors="replace").splitlines()
                bodies[path] = function_bodies(files[path])
            lines = files[path]
            if not lines:
                continue
            before = text[max(0, match.start() - _NAME_REACH) : match.start()]
            names = _NAMED.findall(before)
            name = names[-1] if names else None
            for first_s, last_s in _RANGE.findall(match["lines"]):
                first = int(first_s)
                last = int(last_s) if last_s else first
                cite = f"{where}: {match['file']}:{first}" + (f"–{last}" if last != first else "")
                if not 1 <= first <= last <= len(lines):
                    problems.append(f"{cite}: not lines of {path} ({len(lines)} lines)")
                    continue
                body = next((b for b in bodies[path] if b[0] <= first <= b[1]), None)
                if body is not None and last > body[1]:
                    problems.append(f"{cite}: runs past the end of its function (line {body[1]})")
                if name is None:
                    continue
                shown = any(name in lines[n - 1] for n in range(first, last + 1))
                extent = function_extent(lines, name)
                inside = extent is not None and extent[0] <= first <= last <= extent[1]
                if not shown and not inside:
                    problems.append(f"{cite}: neither names `{name}` nor lies inside it")
    return problems


#: Hand-written pages of spec/ whose citations :func:`check_cites` checks (core.md cites
#: the session daemon's own consumer.c, which :data:`CITED_FILES` does not mean).
CITING_PAGES = (
    "consumerd.md",
    "unmonitored-channels.md",
    "per-pid-channel-end.md",
    "sessiond-gone.md",
    "sessions.md",
)


def table_texts() -> list[tuple[str, str]]:
    """Every sentence of the behaviour table and of the aborts page's other fatal paths."""
    from ustref.consumerd.behaviour import COMMON_PRECONDITIONS
    from ustref.specgen.aborts import OTHER_PATHS

    texts: list[tuple[str, str]] = []
    for command, b in BEHAVIOUR.items():
        where = command.name
        texts += [(where, t) for t in (*b.actions, *b.state)]
        texts += [(where, f"{p.what} {p.otherwise}") for p in b.preconditions]
        texts += [(where, c.meaning) for c in b.codes]
        texts += [(where, f"{t.what} {t.when}") for t in b.traffic]
        if b.on_error is not None:
            texts.append((where, b.on_error.meaning))
    texts += [("every command", f"{p.what} {p.otherwise}") for p in COMMON_PRECONDITIONS]
    texts += [("aborts.md", " ".join(row)) for row in OTHER_PATHS]
    return texts


def page_texts(spec: Path) -> list[tuple[str, str]]:
    """The paragraphs (and table rows) of :data:`CITING_PAGES`."""
    texts: list[tuple[str, str]] = []
    for page in CITING_PAGES:
        for number, block in enumerate((spec / page).read_text().split("\n\n"), 1):
            for row in block.split("\n|") if block.lstrip().startswith("|") else [block]:
                texts.append((f"{page} ¶{number}", row))
    return texts
