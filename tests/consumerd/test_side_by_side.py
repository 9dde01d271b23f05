"""Side by side: the same scenario traced with the C lttng-consumerd and with
ustref-consumerd, under the real lttng-sessiond 2.13.9.

For each scenario the babeltrace2 listings (timestamps, hostnames, pids, cpu ids
removed), the trace file trees (dates and pids masked) and the ``lttng`` client
outputs (the output path masked) must be equal. What legitimately differs run to
run in a scenario (which events a full discard-mode buffer dropped) is masked by
that scenario's entry in :data:`VOLATILE`, after checks that hold for each
consumer on its own. ustref-consumerd runs with its pure ust-ctl backend (the
default) in every scenario, and with liblttng-ust-ctl in one (the session daemon
passes ``USTREF_UST_CTL`` down to it).
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.guard import skip_or_fail
from ustref.capture import load_capture
from ustref.capture.decode import decode_records, line
from ustref.capture.launch import capture_env, sessiond_args
from ustref.consumerd import ring_backend
from ustref.lttng import FORK_WRAPPER, SessionDaemon, read_events
from ustref.protocol.abi import Abi
from ustref.transport.launcher import which

pytestmark = pytest.mark.lttng

Scenario = Callable[[SessionDaemon, Path, Callable[[str], Path]], list[str]]


def ustref_consumerd() -> str:
    """The console script installed beside the running Python."""
    found = which("ustref-consumerd")
    if found is None:
        skip_or_fail("ustref-consumerd is not installed")
    return str(found)


_MASKS = [
    (re.compile(r"\d{8}T\d{6}[+-]\d{4}"), "<iso>"),
    (re.compile(r"\d{8}-\d{6}"), "<date>"),
    (re.compile(r"-\d+-<date>"), "-<pid>-<date>"),
    # One dot per data-pending poll of `lttng stop`: how long the drain took.
    (re.compile(r"^(Waiting for data availability)\.+$"), r"\1"),
]
_CONTEXT = re.compile(r"\b(vpid|vtid|pid|tid|cpu_id) = \d+")


@dataclass(frozen=True)
class Observed:
    listing: list[str]
    tree: list[str]
    client: list[str]


def _mask(text: str) -> str:
    for pattern, repl in _MASKS:
        text = pattern.sub(repl, text)
    return text


def _tree(root: Path) -> list[str]:
    names = []
    for path in sorted(root.rglob("*")):
        rel = _mask(str(path.relative_to(root)))
        names.append(rel + ("/" if path.is_dir() else ""))
    return sorted(names)


def _listing(root: Path) -> list[str]:
    return [
        event.name + ": " + _CONTEXT.sub(r"\1 = <n>", event.fields) for event in read_events(root)
    ]


def observe(
    scenario: Scenario,
    consumer: str | None,
    tmp: Path,
    app_builder: Callable[[str], Path],
    ust_ctl: str = ring_backend.PURE,
) -> Observed:
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    out = tmp / "trace"
    env = {ring_backend.ENV: ust_ctl}
    with SessionDaemon(
        extra_args=extra, env=env, workdir=tmp / "sessiond", lock_timeout=1800
    ) as sd:
        client = scenario(sd, out, app_builder)
    client = [_mask(line.replace(str(out), "<out>")) for line in client]
    # Sorted: events of several processes or CPUs may interleave differently run to run.
    return Observed(listing=sorted(_listing(out)), tree=_tree(out), client=client)


def _lttng_lines(sd: SessionDaemon, *args: str) -> list[str]:
    return sd.run_lttng(*args).stdout.splitlines()


def _trace_and_list(
    sd: SessionDaemon, *argv: str | Path, env: dict[str, str] | None = None
) -> list[str]:
    """Start session ``s``, run ``argv`` to its end, stop, and destroy; what
    ``lttng list s`` printed before the destroy."""
    sd.run_lttng("start", "s")
    sd.run(*argv, env=env)
    sd.run_lttng("stop", "s")
    client = _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


def per_uid_basic(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    return _trace_and_list(sd, app, "200")


def metadata_switch_timer(
    sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]
) -> list[str]:
    """A metadata channel with a switch timer: the consumer asks the session daemon
    for metadata every 20 ms (``metadata_switch_timer``) while the app registers and
    traces, between the session daemon's own pushes."""
    app = app_builder("tp_provider_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-channel", "--userspace", "--switch-timer=20000", "metadata")
    sd.run_lttng("enable-channel", "--userspace", "chan")
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "ustref_test:*")
    return _trace_and_list(sd, app, "200")


def per_pid_basic(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tp_provider_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-channel", "--userspace", "--buffers-pid", "chan")
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "ustref_test:*")
    return _trace_and_list(sd, app, "20")


def two_sessions(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tracef_app")
    client: list[str] = []
    for name in ("a", "b"):
        sd.run_lttng("create", name, f"--output={out / name}")
        sd.run_lttng("enable-event", "--userspace", "--session", name, "lttng_ust_tracef:*")
        sd.run_lttng("start", name)
    sd.run(app, "50")
    for name in ("a", "b"):
        sd.run_lttng("stop", name)
        client += _lttng_lines(sd, "list", name)
        sd.run_lttng("destroy", name)
    return client


def enable_tracefile_limited_channel(sd: SessionDaemon) -> None:
    """Channel ``chan`` of session ``s``: 4 KiB sub-buffers, files of 8 KiB, the
    newest three kept, with the tracef events."""
    sd.run_lttng(
        "enable-channel",
        "--userspace",
        "--subbuf-size=4096",
        "--num-subbuf=64",
        "--tracefile-size=8192",
        "--tracefile-count=3",
        "chan",
    )
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "lttng_ust_tracef:*")


def tracefile_limits(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--output={out}")
    enable_tracefile_limited_channel(sd)
    return _trace_and_list(sd, "taskset", "--cpu-list", "0", app, "2000")


def snapshots(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", "--snapshot", f"--output={out}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "100")
    client = _lttng_lines(sd, "snapshot", "record", "--session=s")
    sd.run(app, "50")
    client += _lttng_lines(sd, "snapshot", "record", "--session=s")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")
    return client


def snapshot_after_regenerate_metadata(
    sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]
) -> list[str]:
    """``regen-metadata`` point 44: the snapshot's new metadata stream meets a cache of
    a later version; it writes the cache, then starts over in an emptied file
    (``commit_one_metadata_packet``): one ``trace`` block, not two."""
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", "--snapshot", f"--output={out}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "10")
    sd.run_lttng("regenerate", "metadata", "--session=s")
    client = _lttng_lines(sd, "snapshot", "record", "--session=s")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")
    return client


def rotate_and_clear(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "100")
    client = _lttng_lines(sd, "rotate", "s")
    sd.run(app, "30")
    sd.run_lttng("stop", "s")
    client += _lttng_lines(sd, "clear", "s")
    sd.run_lttng("start", "s")
    sd.run(app, "20")
    sd.run_lttng("stop", "s")
    client += _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


def regenerate_metadata(
    sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]
) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "50")
    client = _lttng_lines(sd, "regenerate", "metadata", "--session=s")
    sd.run(app, "50")
    sd.run_lttng("stop", "s")
    sd.run_lttng("destroy", "s")
    return client


def forking_app(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("fork_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    return _trace_and_list(sd, app, str(FORKED_EVENTS), env={"LD_PRELOAD": FORK_WRAPPER})


HELD_EVENTS = 50
"""Events ``hold_app`` commits before it says it is ready and is killed."""


def _wait_unregistered(sd: SessionDaemon, pid: int, timeout: float = 30.0) -> None:
    """Poll ``lttng list --userspace`` until the session daemon no longer lists
    ``pid``: ``ust_app_unregister`` (ust-app.c) has run, so the per-PID flush, metadata
    push and close for the dead app have all been sent to the consumer."""
    deadline = time.monotonic() + timeout
    while f"PID: {pid} " in sd.run_lttng("list", "--userspace").stdout:
        if time.monotonic() > deadline:
            raise AssertionError(f"the session daemon still lists killed app {pid}")
        time.sleep(0.02)


def _hold_then_kill(sd: SessionDaemon, app: Path, events: int) -> None:
    """Run ``hold_app``, wait for its ``ready`` line (all its events committed), then
    SIGKILL it and wait until the session daemon has seen it die."""
    proc = subprocess.Popen(
        [os.fspath(app), str(events)],
        env=sd.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        readable, _, _ = select.select([proc.stdout], [], [], 60.0)
        said = proc.stdout.readline() if readable else "(nothing within 60 s)"
        assert said == f"ready {proc.pid}\n", f"hold_app said {said!r}"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    _wait_unregistered(sd, proc.pid)


def _consumer_fds(sd: SessionDaemon) -> list[str]:
    """What the fds of the session daemon's descendants (its consumer daemon) point to."""
    targets = []
    for info in sd.children():
        try:
            entries = list(Path(f"/proc/{info.pid}/fd").iterdir())
        except OSError:
            continue  # exited meanwhile
        for entry in entries:
            try:
                targets.append(os.readlink(entry))
            except OSError:
                continue
    return targets


def _open_trace_files(targets: list[str], out: Path) -> list[str]:
    """The trace files under ``out`` among ``targets``, relative and masked."""
    return sorted(
        {
            _mask(str(Path(target).relative_to(out)))
            for target in targets
            if Path(target).is_relative_to(out) and not Path(target).is_dir()
        }
    )


def _buffer_fds(targets: list[str]) -> int:
    """How many of ``targets`` are pipes or shared memory: ring buffers and their
    wake-up pipes."""
    return sum(target.startswith(("pipe:", "/memfd:", "/dev/shm/")) for target in targets)


def _after_death(
    sd: SessionDaemon, out: Path, baseline: int, per_pid: bool, timeout: float = 20.0
) -> list[str]:
    """What the consumer still holds once it has dealt with the dead app.

    The consumer sees the per-PID channel's wait fd hang up, closes its streams'
    wake-up fds, then each stream's wait fd hangs up: it flushes, drains and closes
    the stream (``consumer_del_stream``), and deletes the channel with its last stream
    (``consumer_del_channel``). So with per-PID buffers this is polled until no
    per-PID trace file is open and the consumer holds no more pipes or shared memory
    than before the app started (``baseline``), or the deadline. Per-UID buffers
    outlive the app: their files stay open."""
    deadline = time.monotonic() + timeout
    while True:
        targets = _consumer_fds(sd)
        files = _open_trace_files(targets, out)
        extra = _buffer_fds(targets) - baseline
        settled = not any(name.startswith("ust/pid/") for name in files) and extra <= 0
        if not per_pid or settled or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    client = ["open after the app's death: " + name for name in files]
    if per_pid:
        client.append(f"pipes and shared memory kept for the dead app: {extra}")
    return client


def _killed_app(sd: SessionDaemon, out: Path, app: Path, buffers: str) -> list[str]:
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-channel", "--userspace", buffers, "chan")
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    baseline = _buffer_fds(_consumer_fds(sd))
    _hold_then_kill(sd, app, HELD_EVENTS)
    client = _after_death(sd, out, baseline, per_pid=buffers == "--buffers-pid")
    client += _lttng_lines(sd, "stop", "s")
    client += _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


def sigkill_per_pid(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    """An app SIGKILLed after committing its events, per-PID buffers: the session
    daemon flushes its channel and closes its metadata, the consumer sees the
    app's wait fds hang up and flushes, drains and closes those streams."""
    return _killed_app(sd, out, app_builder("hold_app"), "--buffers-pid")


def sigkill_per_uid(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    """The same with per-UID buffers: they outlive the app, ``lttng stop`` flushes them."""
    return _killed_app(sd, out, app_builder("hold_app"), "--buffers-uid")


def _require_all_held(observed: Observed) -> Observed:
    """Every event the killed app committed is in the trace, once."""
    held = [line for line in observed.listing if "ustref hold" in line]
    assert len(held) == HELD_EVENTS == len(set(held)), observed.listing
    return observed


FORKED_EVENTS = 30
"""Events ``fork_app`` emits in the parent and again in the child."""


def _require_fork(observed: Observed) -> Observed:
    """The fork scenario traced a fork: the parent's and the child's events, all of them."""
    for who in ("parent", "child"):
        mine = [text for text in observed.listing if f'"ustref fork {who} ' in text]
        assert len(mine) == FORKED_EVENTS, (who, len(mine))
    return observed


def overwrite_switch_timer(
    sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]
) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng(
        "enable-channel",
        "--userspace",
        "--overwrite",
        "--switch-timer=100000",
        "--subbuf-size=16384",
        "--num-subbuf=4",
        "chan",
    )
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "lttng_ust_tracef:*")
    return _trace_and_list(sd, app, "40")


BURST_EVENTS = 100_000
"""Events ``bench_app`` emits in one burst into the tiny discard-mode channel."""


def discarded_events(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    """A burst far faster than any consumer drains, into two 4 KiB sub-buffers per CPU
    in discard mode: most events are discarded, and ``lttng stop`` / ``lttng list``
    print the channel's discarded-event count the consumer summed from the packets'
    ``events_discarded`` (``update_stream_stats``, ``LTTNG_CONSUMER_DISCARDED_EVENTS``)."""
    app = app_builder("bench_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng(
        "enable-channel",
        "--userspace",
        "--discard",
        "--subbuf-size=4096",
        "--num-subbuf=2",
        "chan",
    )
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "ustref_bench:record")
    sd.run_lttng("start", "s")
    sd.run("taskset", "--cpu-list", "0", app, str(BURST_EVENTS))
    client = _lttng_lines(sd, "stop", "s")
    client += _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


_DISCARD_WARNING = re.compile(
    r"^Warning: (\d+) events were discarded, please refer to the documentation on channel "
    r"configuration\.$"
)
_DISCARDED_STAT = re.compile(r"^(\s*Discarded events: )(\d+)$")


def _mask_discards(observed: Observed) -> Observed:
    """Which events a full buffer drops, and so how many, depends on how fast the
    consumer drained it. Checked here for each consumer on its own: every event the
    app emitted is either in the trace (once) or counted as discarded, the count is
    not zero, and ``lttng stop`` and ``lttng list`` agree on it. Then the count and
    which events were kept are masked; the events' names, the file tree and the text
    around the counts are left to compare."""
    recorded = len(observed.listing)
    assert recorded == len(set(observed.listing)), "an event was recorded twice"
    warned = [int(m[1]) for text in observed.client if (m := _DISCARD_WARNING.match(text))]
    listed = [int(m[2]) for text in observed.client if (m := _DISCARDED_STAT.match(text))]
    assert warned == listed == [BURST_EVENTS - recorded], (warned, listed, recorded)
    assert warned[0] > 0, "the burst discarded nothing: it does not test discards"
    print(f"discarded {warned[0]} of {BURST_EVENTS} events, recorded {recorded}")
    client = [
        _DISCARDED_STAT.sub(
            r"\1<n>", _DISCARD_WARNING.sub("Warning: <n> events were discarded", text)
        )
        for text in observed.client
    ]
    names = sorted({text.split(": ", 1)[0] for text in observed.listing})
    return Observed(listing=names, tree=observed.tree, client=client)


SCENARIOS: dict[str, Scenario] = {
    "discarded-events": discarded_events,
    "sigkill-per-pid": sigkill_per_pid,
    "sigkill-per-uid": sigkill_per_uid,
    "fork": forking_app,
    "overwrite-switch-timer": overwrite_switch_timer,
    "regenerate-metadata": regenerate_metadata,
    "snapshots": snapshots,
    "snapshot-after-regenerate-metadata": snapshot_after_regenerate_metadata,
    "rotate-clear": rotate_and_clear,
    "per-uid": per_uid_basic,
    "per-pid": per_pid_basic,
    "metadata-switch-timer": metadata_switch_timer,
    "two-sessions": two_sessions,
    "tracefile-limits": tracefile_limits,
}


VOLATILE: dict[str, Callable[[Observed], Observed]] = {
    "discarded-events": _mask_discards,
    "fork": _require_fork,
    "sigkill-per-pid": _require_all_held,
    "sigkill-per-uid": _require_all_held,
}
"""Per scenario: checks of one consumer's observation on its own, and the masking of
what may legitimately differ between two runs; the rest is compared as is."""


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_trace_as_the_c_consumer(
    name: str, tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    scenario = SCENARIOS[name]
    reference = observe(scenario, None, tmp_path / "c", app_builder)
    ours = observe(scenario, ustref_consumerd(), tmp_path / "ustref", app_builder)
    settle = VOLATILE.get(name)
    if settle is not None:
        reference, ours = settle(reference), settle(ours)
    assert reference.listing, "the C consumer's trace is empty: the scenario traced nothing"
    assert ours.tree == reference.tree
    assert ours.listing == reference.listing
    assert ours.client == reference.client


LIB_SCENARIOS = ["rotate-clear"]


@pytest.mark.parametrize("name", LIB_SCENARIOS)
def test_same_trace_as_the_c_consumer_with_liblttng_ust_ctl(
    name: str, tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    """``USTREF_UST_CTL=lib``: the same, with liblttng-ust-ctl creating the buffers."""
    scenario = SCENARIOS[name]
    reference = observe(scenario, None, tmp_path / "c", app_builder)
    ours = observe(scenario, ustref_consumerd(), tmp_path / "ustref", app_builder, ring_backend.LIB)
    assert reference.listing
    assert (ours.tree, ours.listing, ours.client) == (
        reference.tree,
        reference.listing,
        reference.client,
    )


def test_pure_consumer_of_a_real_session_never_maps_liblttng_ust_ctl(
    tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    """Under lttng-sessiond, with the app traced into ustref-created buffers, the
    consumer's /proc/PID/maps names neither liblttng-ust-ctl nor its shim."""
    app = app_builder("tracef_app")
    out = tmp_path / "trace"
    maps: list[str] = []
    with SessionDaemon(
        extra_args=[f"--consumerd64-path={ustref_consumerd()}"],
        env={ring_backend.ENV: ring_backend.PURE},
        workdir=tmp_path / "sessiond",
        lock_timeout=1800,
    ) as sd:
        sd.run_lttng("create", "s", f"--output={out}")
        sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
        sd.run_lttng("start", "s")
        sd.run(app, "20")
        pids = sd.consumerd_pids()
        maps = [Path(f"/proc/{pid}/maps").read_text() for pid in pids]
        sd.run_lttng("destroy", "s")
    assert len(read_events(out)) == 20
    assert maps, "no consumer daemon was running"
    assert not any("liblttng-ust-ctl" in m or "ustctl-shim" in m for m in maps)
    assert all("/dev/shm/shm-ust-consumer" in m for m in maps)


def test_capture_of_ustref_consumerd_follows_the_conversation_table(
    tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    """Item 7: ``ustref capture`` wraps ustref-consumerd as it wraps the C daemon and
    the recorded conversation decodes under the same table (from the start)."""
    out = tmp_path / "ustref.capture.jsonl"
    env = capture_env(out, consumerd=ustref_consumerd())
    with SessionDaemon(
        extra_args=sessiond_args(), env=env, workdir=tmp_path / "sd", lock_timeout=1800
    ) as sd:
        per_uid_basic(sd, tmp_path / "trace", app_builder)
    assert len(read_events(tmp_path / "trace")) == 200
    capture = load_capture(out)
    assert capture.end is not None and capture.end.exit_status == 0
    text = "\n".join(line(item) for item in decode_records(capture.records, Abi.V2_13_9))
    for step in (
        "LTTCOMM_CONSUMERD_COMMAND_SOCK_READY",
        "LTTNG_CONSUMER_ASK_CHANNEL_CREATION",
        "streams.end",
        "LTTNG_CONSUMER_PUSH_METADATA",
        "LTTNG_CONSUMER_CLOSE_TRACE_CHUNK",
    ):
        assert step in text
