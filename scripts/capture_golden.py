#!/usr/bin/env python3
"""Capture the golden corpus: real lttng-sessiond ↔ lttng-consumerd ↔ lttng-relayd conversations.

Each scenario runs a private root ``lttng-sessiond --no-kernel
--consumerd64-path=<ustref capture wrapper>`` (:class:`ustref.lttng.SessionDaemon`),
drives it with ``lttng`` and the sample apps of ``ustref/data/apps``, stops it (the
session daemon waits for its consumer, so the capture is complete), and writes
(the scenarios that stream also record the consumer's talk with the real
``lttng-relayd``, on both its sockets)::

    spec/golden/v2.13.9/<scenario>/capture.jsonl   the capture (spec/capture-format.md)
    spec/golden/v2.13.9/<scenario>/COMMANDS.md     the exact commands, in order, and results

Usage::

    python3 scripts/capture_golden.py --scenario per-uid [--scenario …]
    python3 scripts/capture_golden.py --all
    python3 scripts/capture_golden.py --list

Steps wait on real readiness (``lttng list``, the trace directory, babeltrace2's
output, TCP ports that accept), never on a bare sleep. Must run as root.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from ustref.capture import load_capture  # noqa: E402
from ustref.capture.launch import capture_env, sessiond_args, wrapper_path  # noqa: E402
from ustref.lttng import (  # noqa: E402
    FORK_WRAPPER,
    LttngCommandError,
    LttngError,
    SessionDaemon,
    build_app,
    read_events,
)

GOLDEN = REPO / "spec" / "golden" / "v2.13.9"
CAPTURE_NAME = "capture.jsonl"
TRACEF = "lttng_ust_tracef:event"
POLL = 0.05
READY_TIMEOUT = 60.0


class ScenarioError(LttngError):
    """A scenario did not go as planned (a wait timed out, a result is wrong)."""


# ------------------------------------------------------------------ helpers


def wait_until(what: str, probe: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
    """Poll ``probe`` until it is true; :class:`ScenarioError` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise ScenarioError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL)


def free_tcp_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def port_accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def trace_files(root: Path) -> list[Path]:
    """Every ``metadata`` file under ``root``: one per (chunk, buffer set)."""
    return sorted(root.rglob("metadata")) if root.is_dir() else []


@dataclass
class Relayd:
    """An ``lttng-relayd`` on free loopback ports, our direct child."""

    proc: subprocess.Popen[bytes]
    control: int
    data: int
    live: int
    output: Path

    @property
    def url_args(self) -> list[str]:
        return [
            f"--ctrl-url=tcp://127.0.0.1:{self.control}",
            f"--data-url=tcp://127.0.0.1:{self.data}",
        ]


@dataclass
class Step:
    """One command of a scenario, as COMMANDS.md shows it."""

    argv: list[str]
    note: str = ""
    background: bool = False


@dataclass
class Scenario:
    """What a scenario function drives: the session daemon, its log of commands."""

    name: str
    sessiond: SessionDaemon
    work: Path
    apps: Path
    steps: list[Step] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    children: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = field(default_factory=list)
    late: list[Callable[[], None]] = field(default_factory=list)

    # --------------------------------------------------------------- running

    def show(self, argv: Sequence[str | os.PathLike[str]]) -> list[str]:
        return [os.fspath(word) for word in argv]

    def lttng(self, *args: str | os.PathLike[str], note: str = "") -> str:
        """Run ``lttng --no-sessiond ARGS`` against the daemon; return stdout."""
        words = self.show(args)
        self.steps.append(Step(["lttng", "--no-sessiond", *words], note))
        return self.sessiond.run_lttng(*words).stdout

    def app(self, name: str, *args: str, env: dict[str, str] | None = None, note: str = "") -> None:
        """Run sample app ``name`` to completion."""
        binary = build_app(name, self.apps)
        prefix = [f"{key}={value}" for key, value in (env or {}).items()]
        self.steps.append(Step([*prefix, str(binary), *args], note))
        self.sessiond.run(binary, *args, env=env, timeout=300.0)

    def spawn_app(self, name: str, *args: str, note: str = "") -> subprocess.Popen[bytes]:
        """Start sample app ``name`` in the background."""
        binary = build_app(name, self.apps)
        self.steps.append(Step([str(binary), *args], note, background=True))
        proc = subprocess.Popen(
            [str(binary), *args],
            env=self.sessiond.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        self.children.append(proc)
        return proc

    def run_tool(self, *argv: str | os.PathLike[str], note: str = "") -> str:
        words = self.show(argv)
        self.steps.append(Step(words, note))
        return self.sessiond.run(*words, timeout=300.0).stdout

    def wait_registered(self, pid: int) -> None:
        """Wait until ``lttng list -u`` lists the app ``pid`` (it registered)."""
        self.steps.append(
            Step(
                ["lttng", "--no-sessiond", "list", "-u"],
                f"repeated until it lists PID {pid} (readiness)",
            )
        )

        def listed() -> bool:
            done = self.sessiond.run_lttng("list", "-u", check=False)
            return f"PID: {pid} " in done.stdout

        wait_until(f"app {pid} to register", listed)

    def note(self, text: str) -> None:
        self.steps.append(Step([], text))

    def result(self, text: str) -> None:
        self.results.append(text)

    def events(self, trace: Path, *, label: str = "") -> int:
        """Read ``trace`` with babeltrace2, note the counts; return the tracef count."""
        events = read_events(trace)
        counts = Counter(event.name for event in events)
        detail = ", ".join(f"{name} {count}" for name, count in sorted(counts.items()))
        where = label or self.rel(trace)
        self.result(f"`babeltrace2 {where}`: {len(events)} events ({detail or 'none'})")
        return counts[TRACEF]

    def rel(self, text: Path | str) -> str:
        """``text`` with the volatile directories replaced by their COMMANDS.md names."""
        out = str(text).replace(str(self.work), "$WORK").replace(str(self.apps), "$APPS")
        return out.replace(sys.executable, "$PYTHON").replace(str(REPO), "$REPO")

    # --------------------------------------------------------------- relayd

    @contextlib.contextmanager
    def relayd(self) -> Iterator[Relayd]:
        """An ``lttng-relayd`` on free loopback ports, stopped by pid after the session
        daemon (so that the capture shows the consumer closing its relay sockets
        first), or at once if the scenario fails."""
        control, data, live = free_tcp_ports(3)
        output = self.work / "relayd-output"
        argv = [
            "lttng-relayd",
            f"--control-port=tcp://127.0.0.1:{control}",
            f"--data-port=tcp://127.0.0.1:{data}",
            f"--live-port=tcp://127.0.0.1:{live}",
            f"--output={output}",
        ]
        self.steps.append(Step(argv, "started as a direct child", background=True))
        log = (self.work / "relayd.log").open("wb")
        proc = subprocess.Popen(
            argv,
            env=self.sessiond.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.work,
        )
        relayd = Relayd(proc, control, data, live, output)

        def stop() -> None:
            if proc.poll() is None:
                self.steps.append(
                    Step(
                        ["kill", "-TERM", str(proc.pid)],
                        "lttng-relayd, by pid, once the session daemon has stopped",
                    )
                )
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()

        try:
            self.steps.append(Step([], "waited until the three ports accept TCP connections"))

            def ready() -> bool:
                if proc.poll() is not None:
                    raise ScenarioError(f"lttng-relayd exited with status {proc.returncode}")
                return all(port_accepts(port) for port in (control, data, live))

            wait_until("lttng-relayd to listen", ready)
            yield relayd
        except BaseException:
            stop()
            raise
        self.late.append(stop)

    def stop_late(self) -> None:
        """Stop what waits for the session daemon's end (the relay daemons)."""
        while self.late:
            self.late.pop()()

    def cleanup(self) -> None:
        for proc in self.children:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


# ------------------------------------------------------------------ scenarios

ScenarioFn = Callable[[Scenario], None]
SCENARIOS: dict[str, tuple[ScenarioFn, str]] = {}


def scenario(name: str, title: str) -> Callable[[ScenarioFn], ScenarioFn]:
    def register(function: ScenarioFn) -> ScenarioFn:
        SCENARIOS[name] = (function, title)
        return function

    return register


def expect(what: str, actual: int, expected: int) -> None:
    if actual != expected:
        raise ScenarioError(f"{what}: expected {expected}, got {actual}")


@scenario("per-uid", "Per-UID buffers (the default): one app, all user space events")
def per_uid(s: Scenario) -> None:
    trace = s.work / "trace"
    s.lttng("create", "per-uid", f"--output={trace}")
    s.lttng("enable-event", "-u", "-a")
    s.lttng("start")
    s.app("tracef_app", "100")
    s.lttng("stop", note="waits until the data is flushed")
    s.lttng("destroy")
    expect("tracef events", s.events(trace), 100)


@scenario("per-pid", "Per-PID buffers, an app that forks (both processes traced)")
def per_pid(s: Scenario) -> None:
    trace = s.work / "trace"
    s.lttng("create", "per-pid", f"--output={trace}")
    s.lttng("enable-channel", "-u", "--buffers-pid", "pidchan")
    s.lttng("enable-event", "-u", "-a", "--channel=pidchan")
    s.lttng("start")
    s.app("fork_app", "50", env={"LD_PRELOAD": FORK_WRAPPER})
    s.lttng("stop")
    s.lttng("destroy")
    expect("tracef events", s.events(trace), 100)


@scenario("snapshot", "Snapshot session (overwrite buffers, no streaming), three snapshots")
def snapshot(s: Scenario) -> None:
    trace = s.work / "snapshots"
    s.lttng("create", "snap", "--snapshot", f"--output={trace}")
    s.lttng("enable-event", "-u", "-a")
    s.lttng("start")
    for round_number in range(3):
        s.app("tracef_app", "50")
        s.lttng("snapshot", "record", "--name", f"snap{round_number}")
    s.lttng("stop")
    s.lttng("destroy")
    taken = sorted(p.name for p in trace.iterdir()) if trace.is_dir() else []
    expect("snapshot directories", len(taken), 3)
    for directory in sorted(trace.iterdir()):
        s.events(directory)


@scenario("rotation", "Rotations: lttng rotate, size and timer schedules, lttng clear")
def rotation(s: Scenario) -> None:
    trace = s.work / "trace"
    archives = trace / "archives"

    def archive_count() -> int:
        return len(list(archives.iterdir())) if archives.is_dir() else 0

    s.lttng("create", "rot", f"--output={trace}")
    s.lttng(
        "enable-channel",
        "-u",
        "rotchan",
        "--subbuf-size=16k",
        "--num-subbuf=8",
        "--monitor-timer=100000",
    )
    s.lttng("enable-event", "-u", "-a", "--channel=rotchan")
    s.lttng("start")
    s.app("tracef_app", "100")
    s.lttng("rotate", note="waits until the rotation is complete")
    expect("archives after lttng rotate", archive_count(), 1)
    s.lttng("enable-rotation", "--size=64k")
    s.app("tracef_app", "4000", "20", note="20 µs apart: no discarded events")
    s.note("waited until a second trace chunk archive appears (size rotation)")
    wait_until("the size rotation", lambda: archive_count() >= 2)
    s.lttng("disable-rotation", "--size")
    s.lttng("enable-rotation", "--timer=500000")
    before = archive_count()
    s.app("tracef_app", "100")
    s.note("waited until one more trace chunk archive appears (timer rotation)")
    wait_until("the timer rotation", lambda: archive_count() > before)
    s.lttng("disable-rotation", "--timer")
    s.app("tracef_app", "100")
    s.lttng("clear", note="discards the current chunk's data")
    s.app("tracef_app", "20")
    s.lttng("stop")
    s.lttng("destroy")
    s.result(f"{archive_count()} trace chunk archives under `$WORK/trace/archives`")
    total = sum(s.events(chunk) for chunk in sorted(archives.iterdir()))
    s.result(f"tracef events over all chunks: {total} (the 100 before `lttng clear` are gone)")
    expect("tracef events over all chunks", total, 100 + 4000 + 100 + 20)


@scenario(
    "overwrite",
    "Overwrite channel with switch, read and monitor timers, trace file rotation; "
    "a discard channel with a blocking timeout",
)
def overwrite(s: Scenario) -> None:
    trace = s.work / "trace"
    s.lttng("create", "ovw", f"--output={trace}")
    s.lttng(
        "enable-channel",
        "-u",
        "ovwchan",
        "--overwrite",
        "--subbuf-size=4k",
        "--num-subbuf=4",
        "--switch-timer=100000",
        "--read-timer=200000",
        "--monitor-timer=100000",
        "--tracefile-size=16k",
        "--tracefile-count=3",
    )
    s.lttng("enable-channel", "-u", "blockchan", "--discard", "--blocking-timeout=1000")
    s.lttng("enable-event", "-u", "lttng_ust_tracef:*", "--channel=ovwchan")
    s.lttng("enable-event", "-u", "lttng_ust_tracef:*", "--channel=blockchan")
    s.lttng("start")
    s.app("tracef_app", "3000", env={"LTTNG_UST_ALLOW_BLOCKING": "1"})
    s.note("waited until the switch timer has flushed a packet of ovwchan (a stream file > 0 B)")
    wait_until(
        "a flushed ovwchan packet",
        lambda: any(p.stat().st_size > 0 for p in trace.rglob("ovwchan_*")),
    )
    s.lttng("stop")
    s.lttng("destroy")
    s.events(trace)
    files = sorted(p.name for p in trace.rglob("ovwchan_*"))
    s.result(f"ovwchan stream files: {', '.join(files)}")


@scenario("streaming", "Streaming to a local lttng-relayd")
def streaming(s: Scenario) -> None:
    with s.relayd() as relayd:
        s.lttng("create", "net", *relayd.url_args)
        s.lttng("enable-event", "-u", "-a")
        s.lttng("start")
        s.app("tracef_app", "100")
        s.lttng("stop")
        s.lttng("destroy")
        found = trace_files(relayd.output)
        if not found:
            raise ScenarioError(f"no trace under {relayd.output}")
        expect("tracef events", s.events(found[0].parent.parent), 100)


def _chunk_dirs(root: Path, name: str) -> list[Path]:
    """The directories named ``name*`` under the relay daemon's session directories."""
    return sorted(p for p in root.glob(f"*/*/{name}*") if p.is_dir()) if root.is_dir() else []


@scenario(
    "snapshot-remote",
    "Snapshot session whose output is a local lttng-relayd, two snapshots",
)
def snapshot_remote(s: Scenario) -> None:
    with s.relayd() as relayd:
        s.lttng("create", "snapnet", "--snapshot", *relayd.url_args)
        s.lttng("enable-event", "-u", "-a")
        s.lttng("start")
        for round_number in range(2):
            s.app("tracef_app", "50")
            s.lttng("snapshot", "record", "--name", f"snap{round_number}")
        s.lttng("stop")
        s.lttng("destroy")
        taken = _chunk_dirs(relayd.output, "snap")
        expect("snapshot directories on the relay daemon", len(taken), 2)
        for directory in taken:
            s.events(directory)


@scenario(
    "rotation-remote",
    "Streaming to a local lttng-relayd with two lttng rotate, then destroy",
)
def rotation_remote(s: Scenario) -> None:
    with s.relayd() as relayd:
        s.lttng("create", "rotnet", *relayd.url_args)
        s.lttng("enable-event", "-u", "-a")
        s.lttng("start")
        s.app("tracef_app", "100")
        s.lttng("rotate", note="waits until the rotation is complete")
        s.app("tracef_app", "50")
        s.lttng("rotate")
        s.app("tracef_app", "20")
        s.lttng("stop")
        s.lttng("destroy", note="a last, quiet rotation")
        archives = [p for p in relayd.output.glob("*/*/archives/*") if p.is_dir()]
        s.result(f"{len(archives)} trace chunk archives on the relay daemon")
        total = sum(s.events(chunk) for chunk in sorted(archives))
        expect("tracef events over all chunks", total, 100 + 50 + 20)


@scenario("live", "Live session through a local lttng-relayd, read by babeltrace2's live client")
def live(s: Scenario) -> None:
    count = 100
    with s.relayd() as relayd:
        s.lttng("create", "livesess", "--live=100000", *relayd.url_args)
        s.lttng("enable-event", "-u", "-a")
        s.lttng("start")
        url = f"net://127.0.0.1:{relayd.live}/host/{socket.gethostname()}/livesess"
        argv = ["babeltrace2", "--input-format=lttng-live", url]
        s.steps.append(Step(argv, "live client, in the background", background=True))
        reader = subprocess.Popen(
            argv,
            env=s.sessiond.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        s.children.append(reader)
        lines: list[str] = []

        def pump() -> None:
            assert reader.stdout is not None
            for line in reader.stdout:
                lines.append(line)

        thread = threading.Thread(target=pump, daemon=True)
        thread.start()
        s.app("tracef_app", str(count))
        s.note(f"waited until babeltrace2 has printed {count} {TRACEF} events")
        wait_until(
            "babeltrace2 to show the events",
            lambda: sum(TRACEF in line for line in lines) >= count,
        )
        s.lttng("stop")
        s.lttng("destroy", note="the live client ends with the session")
        try:
            reader.wait(timeout=30)
        except subprocess.TimeoutExpired:
            reader.kill()
            reader.wait()
            s.result("babeltrace2 did not exit after destroy: killed")
        thread.join(5)
        shown = sum(TRACEF in line for line in lines)
        s.result(f"babeltrace2 live client: {len(lines)} lines, {shown} {TRACEF}")
        expect("live tracef events", shown, count)


@scenario("regenerate", "lttng regenerate metadata and statedump while an app runs")
def regenerate(s: Scenario) -> None:
    trace = s.work / "trace"
    s.lttng("create", "regen", f"--output={trace}")
    s.lttng("enable-event", "-u", "-a")
    s.lttng("start")
    app = s.spawn_app("tracef_app", "400", "10000", note="400 events, 10 ms apart")
    s.wait_registered(app.pid)
    s.lttng("regenerate", "metadata")
    s.lttng("regenerate", "statedump")
    s.note("waited for the app to exit")
    if app.wait(timeout=120) != 0:
        raise ScenarioError(f"tracef_app exited with status {app.returncode}")
    s.lttng("stop")
    s.lttng("destroy")
    expect("tracef events", s.events(trace), 400)


@scenario("app-sigkill", "An app killed with SIGKILL mid-trace")
def app_sigkill(s: Scenario) -> None:
    trace = s.work / "trace"
    s.lttng("create", "killed", f"--output={trace}")
    s.lttng("enable-event", "-u", "-a")
    s.lttng("start")
    app = s.spawn_app("tracef_app", "100000", "1000", note="100000 events, 1 ms apart")
    s.wait_registered(app.pid)
    s.note("let the app emit for 0.5 s (1 ms between events), so the kill lands mid-trace")
    time.sleep(0.5)
    s.steps.append(Step(["kill", "-KILL", str(app.pid)]))
    app.send_signal(signal.SIGKILL)
    app.wait()
    s.note("waited until `lttng list -u` no longer lists the app (unregistered)")

    def gone() -> bool:
        return f"PID: {app.pid} " not in s.sessiond.run_lttng("list", "-u").stdout

    wait_until("the killed app to unregister", gone)
    s.lttng("stop")
    s.lttng("destroy")
    emitted = s.events(trace)
    if not 0 < emitted < 100000:
        raise ScenarioError(f"expected a partial trace, got {emitted} tracef events")


# ------------------------------------------------------------------ driver


def _version(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    except OSError:
        return "?"
    return (
        (done.stdout or done.stderr).strip().splitlines()[0] if done.stdout or done.stderr else "?"
    )


def _md(argv: Sequence[str], rel: Callable[[str], str]) -> str:
    """A shell command line: each word quoted, then the volatile directories named."""
    return " ".join(rel(shlex.quote(word)) for word in argv)


def write_commands_md(
    path: Path,
    s: Scenario,
    title: str,
    sessiond_argv: Sequence[str],
    env: dict[str, str],
) -> None:
    capture = load_capture(path.parent / CAPTURE_NAME)
    everything = capture.in_order()
    counts = Counter((r.socket.value, r.direction.value) for r in everything if not r.is_eof)
    eofs = sum(1 for r in everything if r.is_eof)
    fd_total = sum(r.fd_count for r in capture.records)
    lines = [
        f"# Golden capture `{s.name}`: {title}",
        "",
        f"Captured by `scripts/capture_golden.py --scenario {s.name}` on "
        f"{datetime.date.today().isoformat()} with {_version(['lttng', '--version'])}, "
        f"{_version(['lttng-sessiond', '--version'])}, lttng-ust 2.13.5 (Debian), "
        f"{_version(['babeltrace2', '--version'])}.",
        "",
        f"`{CAPTURE_NAME}` is the wrapper's capture (format: `spec/capture-format.md`).",
        "`$WORK` is the scenario's private temporary directory, `$REPO` this repository,",
        "`$APPS` the sample apps of `ustref/data/apps` built by `ustref.lttng.build_app`,",
        "`$PYTHON` the interpreter that ran the script.",
        "",
        "## Session daemon",
        "",
        "```sh",
        *(f"{key}={s.rel(shlex.quote(value))} \\" for key, value in sorted(env.items())),
        f"  {_md(sessiond_argv, s.rel)}",
        "```",
        "",
        "(a direct child of the script, `LTTNG_HOME=$WORK/sessiond/home`, no `--daemonize`; "
        "stopped with SIGTERM by pid at the end, after which it waits for its consumer)",
        "",
        "## Commands, in order",
        "",
    ]
    for number, step in enumerate(s.steps, start=1):
        if not step.argv:
            lines.append(f"{number}. *{step.note}*")
            continue
        text = _md(step.argv, s.rel)
        if step.background:
            text += " &"
        suffix = f" — {step.note}" if step.note else ""
        lines.append(f"{number}. `{text}`{suffix}")
    lines += ["", "## Results", ""]
    lines += [f"- {s.rel(text)}" for text in s.results]
    lines += [
        f"- capture: {len(everything)} records ({eofs} end-of-stream), "
        f"{fd_total} fds passed, consumer exit status "
        f"{capture.end.exit_status if capture.end else 'unknown'}, "
        f"{capture.end.fd_splits if capture.end else '?'} fd splits "
        "(a `recvmsg` that brought fds with more than one byte, relayed as two sends)",
        "",
        "| socket | direction | records (without end of stream) |",
        "|---|---|---|",
    ]
    lines += [
        f"| {role} | {direction} | {count} |" for (role, direction), count in sorted(counts.items())
    ]
    path.write_text("\n".join(lines) + "\n")


def write_index() -> Path:
    """(Re)write ``spec/golden/v2.13.9/README.md``: one row per captured scenario."""
    roles = ("command", "metadata", "error", "channel-monitor")
    relay_roles = ("relayd-control", "relayd-data")
    head = " | ".join(
        [f"{role} s→c / c→s" for role in roles] + [f"{role} c→r / r→c" for role in relay_roles]
    )
    lines = [
        "# Golden captures, lttng-tools 2.13.9 / lttng-ust 2.13.5",
        "",
        "Generated by `scripts/capture_golden.py` (do not edit): one directory per scenario,",
        "each with `capture.jsonl` (format: `spec/capture-format.md`) and `COMMANDS.md`",
        "(the exact commands run, in order, and what babeltrace2 saw).",
        "",
        "Records per socket and direction exclude the end-of-stream records. The",
        "`relayd-*` columns count the consumer's records with lttng-relayd (both sockets).",
        "",
        f"| scenario | what | records | {head} | fds | fd splits |",
        "|---|---|---|" + "---|" * (len(roles) + len(relay_roles)) + "---|---|",
    ]
    for name, (_function, title) in SCENARIOS.items():
        path = GOLDEN / name / CAPTURE_NAME
        if not path.is_file():
            continue
        capture = load_capture(path)
        everything = capture.in_order()
        counts = Counter((r.socket.value, r.direction.short) for r in everything if not r.is_eof)
        cells = " | ".join(
            [f"{counts[(role, 's2c')]} / {counts[(role, 'c2s')]}" for role in roles]
            + [f"{counts[(role, 'c2r')]} / {counts[(role, 'r2c')]}" for role in relay_roles]
        )
        splits = capture.end.fd_splits if capture.end else "?"
        fds = sum(r.fd_count for r in capture.records)
        lines.append(
            f"| [{name}]({name}/COMMANDS.md) | {title} | {len(everything)} | {cells} "
            f"| {fds} | {splits} |"
        )
    index = GOLDEN / "README.md"
    index.write_text("\n".join(lines) + "\n")
    return index


def run_scenario(name: str, *, apps: Path, keep: bool) -> Path:
    function, title = SCENARIOS[name]
    out_dir = GOLDEN / name
    work = Path(tempfile.mkdtemp(prefix=f"ustref-golden-{name}-"))
    capture_tmp = work / CAPTURE_NAME
    env = capture_env(capture_tmp)
    extra = sessiond_args(wrapper_path())
    sessiond = SessionDaemon(extra_args=extra, env=env, workdir=work / "sessiond")
    s = Scenario(name=name, sessiond=sessiond, work=work, apps=apps)
    print(f"[{name}] starting the session daemon", flush=True)
    try:
        try:
            with sessiond:
                try:
                    function(s)
                finally:
                    s.cleanup()
        finally:
            s.stop_late()
        capture = load_capture(capture_tmp)
        if capture.end is None:
            raise ScenarioError(f"the capture {capture_tmp} has no end line: the wrapper died?")
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(capture_tmp, out_dir / CAPTURE_NAME)
        sessiond_argv = [sessiond.sessiond, "--no-kernel", *extra]
        write_commands_md(out_dir / "COMMANDS.md", s, title, sessiond_argv, env)
        print(f"[{name}] {len(capture.records)} records -> {out_dir}", flush=True)
        return out_dir
    finally:
        if keep:
            print(f"[{name}] kept {work}", flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), default=[])
    parser.add_argument("--all", action="store_true", help="run every scenario")
    parser.add_argument("--list", action="store_true", help="list the scenarios")
    parser.add_argument("--keep", action="store_true", help="keep each scenario's $WORK")
    parser.add_argument("--index", action="store_true", help="only rewrite the corpus index")
    args = parser.parse_args(argv)
    if args.index:
        print(write_index())
        return 0
    if args.list:
        for name, (_function, title) in SCENARIOS.items():
            print(f"{name:12} {title}")
        return 0
    names = list(SCENARIOS) if args.all else args.scenario
    if not names:
        parser.error("give --scenario NAME (repeatable), --all or --list")
    if os.geteuid() != 0:
        parser.error("needs root: the scenarios run a root lttng-sessiond")
    apps = Path(tempfile.gettempdir()) / "ustref-golden-apps"
    failed: list[str] = []
    for name in names:
        try:
            run_scenario(name, apps=apps, keep=args.keep)
        except (LttngError, LttngCommandError, OSError) as exc:
            print(f"[{name}] FAILED: {exc}", file=sys.stderr, flush=True)
            failed.append(name)
    print(f"index: {write_index()}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
