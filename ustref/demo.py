"""``ustref demo`` — the main job on a built-in default.

Starts a real root ``lttng-sessiond`` and traces the project's sample
``tracef_app`` twice, side by side: once through Debian's C consumer daemon and
once through ``ustref-consumerd``, each recorded by ustref's capture wrapper.
It reads both traces back with ``babeltrace2``, prints a summary of the ustref
trace, says whether the two event listings are equal (process, thread and CPU
ids and timestamps aside), and decodes ustref-consumerd's session daemon ↔
consumer conversation message by message with ustref's grammars.
"""

from __future__ import annotations

import collections
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ustref.capture.decode import decode_records, line, roundtrip_problem
from ustref.capture.format import read_capture
from ustref.capture.launch import capture_env, sessiond_args
from ustref.errors import LaunchError
from ustref.lttng import Event, SessionDaemon, build_app, read_events
from ustref.protocol.abi import DEFAULT_ABI
from ustref.protocol.conversation.rules import INITIATORS
from ustref.transport.launcher import which

#: Decoded messages printed in full by the demo.
SHOWN = 40
#: Steps that open an exchange (one per command, request, code or sample).
OPENERS = frozenset(step.name for step in INITIATORS.values())
#: Context values that differ from run to run (and process to process).
_VOLATILE = re.compile(r"\b(vpid|vtid|pid|tid|cpu_id) = \d+")
EVENT = "lttng_ust_tracef:event"


def _trace_files(trace_dir: Path) -> list[Path]:
    return sorted(p for p in trace_dir.rglob("*") if p.is_file() and p.name != "index")


def _comparable(events: list[Event]) -> list[str]:
    """An event listing without what differs run to run (timestamps are not in it)."""
    return sorted(event.name + ": " + _VOLATILE.sub(r"\1 = <n>", event.fields) for event in events)


@dataclass(frozen=True)
class _Run:
    """One traced run of the sample app through one consumer daemon."""

    label: str
    trace_dir: Path
    events: list[Event]
    capture: _Recording

    @property
    def count(self) -> int:
        return sum(1 for event in self.events if event.name == EVENT)


def _trace(label: str, consumerd: str | None, app: Path, work: Path, events: int) -> _Run:
    trace_dir = work / f"trace-{label}"
    capture = _Recording(work / f"{label}.capture.jsonl", consumerd)
    sessiond = SessionDaemon(extra_args=capture.sessiond_args, env=capture.env)
    with sessiond, sessiond.recording_session("ustref-demo", trace_dir):
        sessiond.run(app, str(events))
    return _Run(label, trace_dir, read_events(trace_dir), capture)


def run_demo(events: int = 1000) -> int:
    """Trace ``events`` tracef events of the sample app through the C consumer and
    through ustref-consumerd, summarise and compare; exit status."""
    ours = which("ustref-consumerd")
    if ours is None:
        raise LaunchError("ustref-consumerd is not installed beside this Python or on PATH")
    with tempfile.TemporaryDirectory(prefix="ustref-demo-") as tmp:
        work = Path(tmp)
        app = build_app("tracef_app", work / "apps")
        print(f"ustref demo: tracing {events} events of {app.name} with the real LTTng daemons,")
        print("  once through Debian's lttng-consumerd, once through ustref-consumerd")
        c_run = _trace("c", None, app, work, events)
        u_run = _trace("ustref", str(ours), app, work, events)
        by_name = collections.Counter(event.name for event in u_run.events)
        print(f"\nustref-consumerd's trace — {len(u_run.events)} events read back by babeltrace2")
        for name, count in by_name.most_common():
            print(f"  {count:>8}  {name}")
        if u_run.events:
            print(f"  first: {u_run.events[0].raw[:110]}")
            print(f"  last:  {u_run.events[-1].raw[:110]}")
        for run in (c_run, u_run):
            files = _trace_files(run.trace_dir)
            total = sum(p.stat().st_size for p in files)
            print(f"\nCTF files written by the {run.label} consumer: {len(files)} ({total} bytes)")
            for path in files[:8]:
                print(f"  {path.relative_to(run.trace_dir)}  {path.stat().st_size} B")
        u_run.capture.summarise()
        same = _comparable(c_run.events) == _comparable(u_run.events)
        ok = c_run.count == events and u_run.count == events and same
        print(
            f"\n{'OK' if ok else 'MISMATCH'}: {events} events emitted; read back "
            f"{c_run.count} (C consumer), {u_run.count} (ustref-consumerd); "
            f"listings {'equal' if same else 'DIFFER'}"
        )
        return 0 if ok else 1


class _Recording:
    """The consumer daemon runs behind ustref's capture wrapper; decode what it said."""

    def __init__(self, path: Path, consumerd: str | None = None) -> None:
        self.path = path
        self.sessiond_args: tuple[str, ...] = tuple(sessiond_args())
        self.env: dict[str, str] = capture_env(path, consumerd=consumerd)

    def summarise(self) -> None:
        items = list(decode_records(read_capture(self.path), DEFAULT_ABI))
        rebuilt = sum(1 for item in items if roundtrip_problem(item.message) is None)
        print(
            f"\nsessiond ↔ ustref-consumerd conversation, decoded by ustref "
            f"({len(items)} messages, {rebuilt} rebuilt byte for byte):"
        )
        for item in items[:SHOWN]:
            print("  " + line(item)[:150])
        if len(items) > SHOWN:
            print(f"  … {len(items) - SHOWN} more")
        exchanges = collections.Counter(
            i.message.exchange for i in items if i.message.step in OPENERS
        )
        print("  exchanges: " + ", ".join(f"{n}×{name}" for name, n in exchanges.most_common()))
