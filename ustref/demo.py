"""``ustref demo`` — the main job on a built-in default.

Starts a real root ``lttng-sessiond`` (its consumer daemon recorded through
ustref's capture wrapper), traces the project's sample
``tracef_app``, reads the trace back with ``babeltrace2`` and prints a summary:
the events, the trace's streams, and the session daemon ↔ consumer
conversation decoded message by message with ustref's grammars.
"""

from __future__ import annotations

import collections
import tempfile
from pathlib import Path

from ustref.capture.decode import decode_records, line, roundtrip_problem
from ustref.capture.format import read_capture
from ustref.capture.launch import capture_env, sessiond_args
from ustref.lttng import SessionDaemon, build_app, read_events
from ustref.protocol.abi import DEFAULT_ABI
from ustref.protocol.conversation.rules import INITIATORS

#: Decoded messages printed in full by the demo.
SHOWN = 40
#: Steps that open an exchange (one per command, request, code or sample).
OPENERS = frozenset(step.name for step in INITIATORS.values())


def _trace_files(trace_dir: Path) -> list[Path]:
    return sorted(p for p in trace_dir.rglob("*") if p.is_file() and p.name != "index")


def run_demo(events: int = 1000) -> int:
    """Trace ``events`` tracef events of the sample app and summarise; exit status."""
    with tempfile.TemporaryDirectory(prefix="ustref-demo-") as tmp:
        work = Path(tmp)
        app = build_app("tracef_app", work / "apps")
        trace_dir = work / "trace"
        capture = _Recording(work / "conversation.capture.jsonl")
        print(f"ustref demo: tracing {events} events of {app.name} with the real LTTng daemons")
        sessiond = SessionDaemon(extra_args=capture.sessiond_args, env=capture.env)
        with sessiond, sessiond.recording_session("ustref-demo", trace_dir):
            sessiond.run(app, str(events))
        got = read_events(trace_dir)
        by_name = collections.Counter(event.name for event in got)
        print(f"\ntrace: {trace_dir.name}/ — {len(got)} events read back by babeltrace2")
        for name, count in by_name.most_common():
            print(f"  {count:>8}  {name}")
        if got:
            print(f"  first: {got[0].raw[:110]}")
            print(f"  last:  {got[-1].raw[:110]}")
        files = _trace_files(trace_dir)
        total = sum(p.stat().st_size for p in files)
        print(f"\nCTF files written by the C consumer: {len(files)} ({total} bytes)")
        for path in files[:8]:
            print(f"  {path.relative_to(trace_dir)}  {path.stat().st_size} B")
        capture.summarise()
        ok = by_name.get("lttng_ust_tracef:event", 0) == events
        print(
            f"\n{'OK' if ok else 'MISMATCH'}: {events} events emitted, "
            f"{by_name.get('lttng_ust_tracef:event', 0)} read back"
        )
        return 0 if ok else 1


class _Recording:
    """The consumer daemon runs behind ustref's capture wrapper; decode what it said."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sessiond_args: tuple[str, ...] = tuple(sessiond_args())
        self.env: dict[str, str] = capture_env(path)

    def summarise(self) -> None:
        items = list(decode_records(read_capture(self.path), DEFAULT_ABI))
        rebuilt = sum(1 for item in items if roundtrip_problem(item.message) is None)
        print(
            f"\nsessiond ↔ consumerd conversation, decoded by ustref ({len(items)} messages, "
            f"{rebuilt} rebuilt byte for byte):"
        )
        for item in items[:SHOWN]:
            print("  " + line(item)[:150])
        if len(items) > SHOWN:
            print(f"  … {len(items) - SHOWN} more")
        exchanges = collections.Counter(
            i.message.exchange for i in items if i.message.step in OPENERS
        )
        print("  exchanges: " + ", ".join(f"{n}×{name}" for name, n in exchanges.most_common()))
