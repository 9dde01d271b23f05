"""Incremental parsing of the TAP that lttng-tools' test scripts print.

The scripts write TAP through ``tests/utils/tap/tap.sh`` (bash) or libtap
(``tests/utils/tap/tap.c``, for the C test programs they call). Both print a
plan ``1..N`` (``1..0 # Skip reason`` for a skipped script), results
``ok N - name``/``not ok N - name`` whose name escapes ``#`` as ``\\#``,
directives ``# skip: reason``/``# SKIP reason``/``# TODO reason``,
``Bail out! reason`` and diagnostics ``# …``. Everything else (daemons writing
on the same stdout, for instance) is ignored, as prove does.

:class:`TapParser` is fed lines (or chunks of bytes) and keeps running counts;
it does no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TapCounts", "TapParser"]

_PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
_RESULT = re.compile(r"^(not )?ok\b\s*(\d+)?\s*(.*)$")
_BAIL = re.compile(r"^Bail out!\s*(.*)$", re.IGNORECASE)
_DIRECTIVE = re.compile(r"(?<!\\)#\s*(skip|todo)\b:?\s*(.*)$", re.IGNORECASE)


@dataclass
class TapCounts:
    """What a script's TAP said so far.

    ``ok`` counts passing points that are not skips; ``skip`` the skipped ones
    (always ``ok``); ``not_ok`` the failing points that are not ``# TODO``;
    ``todo`` the ``# TODO`` points whatever their result. ``plan`` is ``None``
    until the plan line is seen. ``failures`` keeps the names of failing points.
    """

    plan: int | None = None
    ok: int = 0
    not_ok: int = 0
    skip: int = 0
    todo: int = 0
    bail_out: str | None = None
    skip_all: str | None = None
    failures: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        """Points seen: every result line."""
        return self.ok + self.not_ok + self.skip + self.todo

    @property
    def missing(self) -> int:
        """Points the plan promised and the script never printed (0 without a plan)."""
        if self.plan is None:
            return 0
        return max(0, self.plan - self.points)


class TapParser:
    """Feed TAP text, line by line or in arbitrary chunks; read :attr:`counts`."""

    def __init__(self) -> None:
        self.counts = TapCounts()
        self._partial = b""

    def feed_bytes(self, data: bytes) -> None:
        """Feed raw output; an unfinished last line waits for the next chunk or :meth:`close`."""
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            self.feed_line(line.decode("utf-8", errors="replace"))

    def close(self) -> None:
        """The output ended: parse a last line that had no newline."""
        if self._partial:
            rest, self._partial = self._partial, b""
            self.feed_line(rest.decode("utf-8", errors="replace"))

    def feed_line(self, line: str) -> None:
        """Account for one line of TAP (without its newline)."""
        line = line.rstrip("\r\n")
        counts = self.counts
        if counts.bail_out is not None:
            return
        if (match := _PLAN.match(line)) is not None:
            counts.plan = int(match.group(1))
            if counts.plan == 0:
                counts.skip_all = (match.group(2) or "").strip()
            return
        if (match := _BAIL.match(line)) is not None:
            counts.bail_out = match.group(1).strip() or "(no reason given)"
            return
        if (match := _RESULT.match(line)) is None:
            return
        failed = match.group(1) is not None
        rest = match.group(3)
        directive = _DIRECTIVE.search(rest)
        kind = directive.group(1).lower() if directive is not None else ""
        if kind == "todo":
            counts.todo += 1
        elif kind == "skip" and not failed:
            counts.skip += 1
        elif failed:
            counts.not_ok += 1
            counts.failures = (*counts.failures, line)
        else:
            counts.ok += 1
