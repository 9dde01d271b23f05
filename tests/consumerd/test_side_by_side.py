"""Side by side: the same scenario traced with the C lttng-consumerd and with
ustref-consumerd, under the real lttng-sessiond 2.13.9.

For each scenario the babeltrace2 listings (timestamps, hostnames, pids, cpu ids
removed), the trace file trees (dates and pids masked) and the ``lttng`` client
outputs (the output path masked) must be equal. ustref-consumerd runs with its pure
ust-ctl backend (the default) in every scenario, and with liblttng-ust-ctl in one
(the session daemon passes ``USTREF_UST_CTL`` down to it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.guard import skip_or_fail
from ustref.capture import load_capture
from ustref.capture.decode import decode_records, line
from ustref.capture.launch import capture_env, sessiond_args
from ustref.consumerd import ustctl_backend as B
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
    ust_ctl: str = B.PURE,
) -> Observed:
    extra = [f"--consumerd64-path={consumer}"] if consumer else []
    out = tmp / "trace"
    env = {B.ENV: ust_ctl}
    with SessionDaemon(
        extra_args=extra, env=env, workdir=tmp / "sessiond", lock_timeout=1800
    ) as sd:
        client = scenario(sd, out, app_builder)
    client = [_mask(line.replace(str(out), "<out>")) for line in client]
    # Sorted: events of several processes or CPUs may interleave differently run to run.
    return Observed(listing=sorted(_listing(out)), tree=_tree(out), client=client)


def _lttng_lines(sd: SessionDaemon, *args: str) -> list[str]:
    return sd.run_lttng(*args).stdout.splitlines()


def per_uid_basic(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-event", "--userspace", "lttng_ust_tracef:*")
    sd.run_lttng("start", "s")
    sd.run(app, "200")
    sd.run_lttng("stop", "s")
    client = _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


def per_pid_basic(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tp_provider_app")
    sd.run_lttng("create", "s", f"--output={out}")
    sd.run_lttng("enable-channel", "--userspace", "--buffers-pid", "chan")
    sd.run_lttng("enable-event", "--userspace", "--channel=chan", "ustref_test:*")
    sd.run_lttng("start", "s")
    sd.run(app, "20")
    sd.run_lttng("stop", "s")
    client = _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


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


def tracefile_limits(sd: SessionDaemon, out: Path, app_builder: Callable[[str], Path]) -> list[str]:
    app = app_builder("tracef_app")
    sd.run_lttng("create", "s", f"--output={out}")
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
    sd.run_lttng("start", "s")
    sd.run("taskset", "--cpu-list", "0", app, "2000")
    sd.run_lttng("stop", "s")
    client = _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


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
    sd.run_lttng("start", "s")
    sd.run(app, "30", env={"LD_PRELOAD": FORK_WRAPPER})
    sd.run_lttng("stop", "s")
    client = _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


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
    sd.run_lttng("start", "s")
    sd.run(app, "40")
    sd.run_lttng("stop", "s")
    client = _lttng_lines(sd, "list", "s")
    sd.run_lttng("destroy", "s")
    return client


SCENARIOS: dict[str, Scenario] = {
    "fork": forking_app,
    "overwrite-switch-timer": overwrite_switch_timer,
    "regenerate-metadata": regenerate_metadata,
    "snapshots": snapshots,
    "rotate-clear": rotate_and_clear,
    "per-uid": per_uid_basic,
    "per-pid": per_pid_basic,
    "two-sessions": two_sessions,
    "tracefile-limits": tracefile_limits,
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_same_trace_as_the_c_consumer(
    name: str, tmp_path: Path, app_builder: Callable[[str], Path]
) -> None:
    scenario = SCENARIOS[name]
    reference = observe(scenario, None, tmp_path / "c", app_builder)
    ours = observe(scenario, ustref_consumerd(), tmp_path / "ustref", app_builder)
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
    ours = observe(scenario, ustref_consumerd(), tmp_path / "ustref", app_builder, B.LIB)
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
        env={B.ENV: B.PURE},
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
