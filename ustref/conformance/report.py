"""Results of a conformance run: per script, the consumer check, the table.

Pure data and formatting: the runner (:mod:`ustref.conformance.run`) fills
:class:`ScriptResult` and :class:`ConsumerSighting` records; this module decides
what failed and renders the end-of-run table, the closing ``N passed, N failed``
line and the JSON document.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ustref.conformance.lists import Script
from ustref.conformance.tap import TapCounts

__all__ = [
    "ConsumerSighting",
    "ExpectedConsumer",
    "RunReport",
    "ScriptResult",
]


@dataclass(frozen=True)
class ConsumerSighting:
    """One consumer-daemon process seen while a script ran.

    ``exe`` is what ``/proc/PID/exe`` resolved to (the interpreter for a script),
    ``cmdline`` the words of ``/proc/PID/cmdline``.
    """

    pid: int
    exe: str
    cmdline: tuple[str, ...]
    uid: int
    script: str = ""

    def describe(self) -> str:
        words = " ".join(word or "''" for word in self.cmdline)
        return f"pid {self.pid} (uid {self.uid}) exe {self.exe}: {words}"


@dataclass(frozen=True)
class ExpectedConsumer:
    """How to recognise the requested consumer among the processes seen.

    A process is the requested consumer when its resolved executable is one of
    ``exes`` or a word of its command line is one of ``argv_paths`` (a script
    run through its interpreter shows its own path there, until it renames
    itself).
    """

    label: str
    path: str
    exes: frozenset[str]
    argv_paths: frozenset[str] = frozenset()

    def matches(self, sighting: ConsumerSighting) -> bool:
        return sighting.exe in self.exes or any(w in self.argv_paths for w in sighting.cmdline)


@dataclass
class ScriptResult:
    """A script's outcome. ``returncode`` is ``None`` when the harness stopped
    it, ``stopped`` saying why (timed out, stalled)."""

    script: Script
    counts: TapCounts
    seconds: float
    returncode: int | None
    user: str
    tap_log: str = ""
    stderr_log: str = ""
    consumers: list[ConsumerSighting] = field(default_factory=list)
    stopped: str = ""

    @property
    def problems(self) -> list[str]:
        """Why this script failed, one phrase each; empty when it passed."""
        counts = self.counts
        found = []
        if counts.not_ok:
            found.append(f"{counts.not_ok} not ok")
        if counts.bail_out is not None:
            found.append(f"bail out: {counts.bail_out}")
        if counts.plan is None:
            found.append("no plan")
        elif counts.missing:
            found.append(f"{counts.missing} planned points never ran")
        if self.returncode is None:
            found.append(self.stopped or "timed out")
        elif self.returncode != 0:
            found.append(f"exit status {self.returncode}")
        return found

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "script": self.script.path,
            "as": self.user,
            "plan": counts.plan,
            "ok": counts.ok,
            "not_ok": counts.not_ok,
            "skip": counts.skip,
            "todo": counts.todo,
            "bail_out": counts.bail_out,
            "missing": counts.missing,
            "returncode": self.returncode,
            "seconds": round(self.seconds, 1),
            "passed": self.passed,
            "problems": self.problems,
            "failures": list(counts.failures),
            "tap_log": self.tap_log,
            "stderr_log": self.stderr_log,
            "consumers": [s.describe() for s in self.consumers],
        }


_COLUMNS = ("script", "plan", "ok", "not ok", "skip", "bail-out", "seconds", "as")


@dataclass
class RunReport:
    """Every script's result and the consumer that was asked for."""

    expected: ExpectedConsumer
    results: list[ScriptResult] = field(default_factory=list)

    @property
    def sightings(self) -> list[ConsumerSighting]:
        return [s for result in self.results for s in result.consumers]

    @property
    def consumer_problems(self) -> list[str]:
        """Why the consumer check failed: the requested one never ran, or another did."""
        found = []
        sightings = self.sightings
        foreign = [s for s in sightings if not self.expected.matches(s)]
        if self.results and not any(self.expected.matches(s) for s in sightings):
            found.append(
                f"the requested consumer ({self.expected.label}: {self.expected.path}) "
                "never started: no consumer process of it was seen during the run"
            )
        for sighting in _unique_exes(foreign):
            found.append(
                f"a consumer other than the requested one ran in {sighting.script}: "
                f"{sighting.describe()}"
            )
        return found

    @property
    def passed_points(self) -> int:
        return sum(r.counts.ok for r in self.results)

    @property
    def failed_points(self) -> int:
        """not ok points, planned points never run, one per bail-out or bad exit without those."""
        total = 0
        for result in self.results:
            counts = result.counts
            failed = counts.not_ok + counts.missing
            if counts.bail_out is not None or counts.plan is None:
                failed = max(failed, 1)
            if failed == 0 and not result.passed:
                failed = 1
            total += failed
        return total

    @property
    def skipped_points(self) -> int:
        return sum(r.counts.skip for r in self.results)

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results) and not self.consumer_problems

    def rows(self) -> list[tuple[str, ...]]:
        """The table's cells: one row per script, then the totals row."""
        rows: list[tuple[str, ...]] = [
            (
                r.script.path.removeprefix("regression/"),
                "-" if r.counts.plan is None else str(r.counts.plan),
                str(r.counts.ok),
                str(r.counts.not_ok),
                str(r.counts.skip),
                "yes" if r.counts.bail_out is not None else "",
                f"{r.seconds:.1f}",
                r.user,
            )
            for r in self.results
        ]
        rows.append(
            (
                f"total ({len(self.results)} scripts)",
                str(sum(r.counts.plan or 0 for r in self.results)),
                str(self.passed_points),
                str(sum(r.counts.not_ok for r in self.results)),
                str(self.skipped_points),
                str(sum(r.counts.bail_out is not None for r in self.results)),
                f"{sum(r.seconds for r in self.results):.1f}",
                "",
            )
        )
        return rows

    def table(self) -> str:
        """The rows as aligned text, header and totals ruled off."""
        return _render([_COLUMNS, *self.rows()])

    def markdown_table(self) -> str:
        """The same rows as Markdown (for ``spec/conformance.md``)."""
        lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + " --- |" * len(_COLUMNS)]
        lines.extend("| " + " | ".join(row) + " |" for row in self.rows())
        return "\n".join(lines)

    def markdown_section(self, title: str) -> str:
        """A Markdown section: heading, totals sentence, the table."""
        minutes = sum(r.seconds for r in self.results) / 60
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"### {self.expected.label} consumer — {title}\n\n"
            f"Consumer `{self.expected.path}`: {verdict}, {len(self.results)} scripts, "
            f"{self.passed_points} points passed, {self.failed_points} failed, "
            f"{self.skipped_points} skipped, {minutes:.1f} min of script time.\n\n"
            f"{self.markdown_table()}\n"
        )

    def summary_lines(self) -> list[str]:
        """Failure details, the consumer verdict, and the closing ``N passed, N failed`` line."""
        lines = []
        for r in self.results:
            if r.passed:
                continue
            lines.append(f"FAILED {r.script.path}: {'; '.join(r.problems)}")
            lines.extend(f"    {failure}" for failure in r.counts.failures[:10])
            if len(r.counts.failures) > 10:
                lines.append(f"    … {len(r.counts.failures) - 10} more")
            if r.tap_log:
                lines.append(f"    TAP log: {r.tap_log}")
            if r.stderr_log:
                lines.append(f"    stderr (diagnostics, daemons' messages): {r.stderr_log}")
        problems = self.consumer_problems
        if problems:
            lines.extend(f"CONSUMER CHECK FAILED: {p}" for p in problems)
        else:
            seen = len({(s.script, s.pid) for s in self.sightings})
            lines.append(
                f"consumer check: {self.expected.label} ({self.expected.path}) "
                f"ran as {seen} consumer process(es), no other consumer seen"
            )
        failed = self.failed_points + len(problems)
        lines.append(
            f"conformance: {self.passed_points} passed, {failed} failed, "
            f"{self.skipped_points} skipped"
        )
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "consumer": {"label": self.expected.label, "path": self.expected.path},
            "passed": self.passed,
            "points": {
                "passed": self.passed_points,
                "failed": self.failed_points,
                "skipped": self.skipped_points,
            },
            "seconds": round(sum(r.seconds for r in self.results), 1),
            "consumer_problems": self.consumer_problems,
            "scripts": [r.to_json() for r in self.results],
        }


def _unique_exes(sightings: Iterable[ConsumerSighting]) -> list[ConsumerSighting]:
    seen: set[str] = set()
    unique = []
    for sighting in sightings:
        if sighting.exe not in seen:
            seen.add(sighting.exe)
            unique.append(sighting)
    return unique


def _render(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
        if index == 0 or index == len(rows) - 2:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
