"""Data channels written by a real traced app, read in place from ``--shm-path``.

Two sessions, each checked against the C tools on the same bytes:

* a snapshot session (its consumer does not drain), in discard and overwrite
  mode: the pure reader walks the buffers the way the consumer's
  ``snapshot_channel()`` does and must produce, packet for packet, what
  ``lttng snapshot record`` wrote; then ``ustref ring dump`` must write the
  same files as ``lttng-crash -x``;
* a session whose consumer daemon, app and session daemon were all killed
  with SIGKILL: ``ustref ring dump`` against ``lttng-crash -x``.
"""

from __future__ import annotations

import filecmp
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ustref.errors import LayoutError
from ustref.lttng import SessionDaemon, read_events
from ustref.ring.dump import dump_main
from ustref.ring.reader import Status, StreamReader
from ustref.ring.shm import ShmMapping

pytestmark = pytest.mark.lttng

EVENTS = "lttng_ust_tracef:*"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def stream_files(shm: Path) -> list[Path]:
    return sorted(p for p in shm.rglob("*") if p.is_file() and p.name != "metadata")


def writing(shm: Path) -> bool:
    """Whether a stream of the app shows data past its first packet header."""
    for path in stream_files(shm) if shm.exists() else []:
        try:
            with StreamReader(ShmMapping.open_path(path, writable=False)) as reader:
                if reader.produced_position() > reader.identity.header_size:
                    return True
        except LayoutError:
            continue  # still being created
    return False


def crash_and_dump(shm: Path, out: Path) -> tuple[Path, Path]:
    crash, mine = out / "crash", out / "dump"
    subprocess.run(["lttng-crash", "-x", str(crash), str(shm)], check=True, capture_output=True)
    assert dump_main([str(shm), "-o", str(mine), "--no-progress"]) == 0
    return crash, mine


def assert_same_trace(crash: Path, mine: Path) -> int:
    crash_files = sorted(p.relative_to(crash) for p in crash.rglob("*") if p.is_file())
    mine_files = sorted(p.relative_to(mine) for p in mine.rglob("*") if p.is_file())
    assert crash_files == mine_files
    for rel in crash_files:
        assert filecmp.cmp(crash / rel, mine / rel, shallow=False), rel
    events = [e.raw for e in read_events(crash)]
    assert events == [e.raw for e in read_events(mine)]
    return len(events)


def snapshot_like_consumer(path: Path) -> bytes:
    """What lttng-tools' ``snapshot_channel()`` writes for one stream, done by the pure
    reader: snapshot, then get_subbuf(pos)/put_subbuf from consumed to produced,
    each packet written with its padding, as mapped (mmap output to a local file)."""
    out = b""
    with StreamReader.open(path) as reader:
        if reader.snapshot() is not Status.OK:
            return out
        pos, produced = reader.snapshot_get_consumed(), reader.snapshot_get_produced()
        while pos < produced:
            if reader.get_subbuf(pos) is Status.OK:
                assert reader.get_subbuf_size() <= reader.get_padded_subbuf_size()
                out += reader.read_subbuf(reader.get_padded_subbuf_size())
                reader.put_subbuf()
            pos += reader.get_max_subbuf_size()
    return out


@pytest.mark.parametrize("mode", ["--overwrite", "--discard"])
def test_snapshot_session(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path, mode: str
) -> None:
    app = app_builder("tracef_app")
    shm = tmp_path / "shm"
    sessiond.run_lttng("create", "snap", "--snapshot", f"--shm-path={shm}")
    sessiond.run_lttng(
        "enable-channel", "--userspace", "--subbuf-size=4096", "--num-subbuf=4", mode, "ch"
    )
    sessiond.run_lttng("enable-event", "--userspace", "-c", "ch", EVENTS)
    sessiond.run_lttng("start", "snap")
    # One CPU, one stream: a thread migrating mid-run would start afresh in
    # another CPU's empty buffer and keep both ends of the run there.
    cpu = min(os.sched_getaffinity(0))
    sessiond.run("taskset", "--cpu-list", str(cpu), app, "1000")
    sessiond.run_lttng("stop", "snap")
    record = tmp_path / "record"
    sessiond.run_lttng("snapshot", "record", "-s", "snap", f"{record}")
    recorded = {p.name: p.read_bytes() for p in record.rglob("ch_*")}
    streams = stream_files(shm)
    assert sorted(recorded) == sorted(p.name for p in streams)
    assert any(recorded.values())
    for path in streams:
        assert snapshot_like_consumer(path) == recorded[path.name], path.name
    crash, mine = crash_and_dump(shm, tmp_path)
    count = assert_same_trace(crash, mine)
    assert count > 0
    # 1000 events overflow 4 x 4 KiB: overwrite keeps the newest, discard the oldest
    messages = [e.payload.get("msg") for e in read_events(mine)]
    newest, oldest = '"ustref tracef 999"' in messages, '"ustref tracef 0"' in messages
    assert (newest, oldest) == ((True, False) if mode == "--overwrite" else (False, True))
    sessiond.run_lttng("destroy", "snap")


def test_killed_session(
    sessiond: SessionDaemon, app_builder: Callable[[str], Path], tmp_path: Path
) -> None:
    app = app_builder("tracef_app")
    shm = tmp_path / "shm"
    sessiond.run_lttng("create", "doomed", f"--output={tmp_path / 'out'}", f"--shm-path={shm}")
    sessiond.run_lttng(
        "enable-channel", "--userspace", "--subbuf-size=4096", "--num-subbuf=4", "ch"
    )
    sessiond.run_lttng("enable-event", "--userspace", "-c", "ch", EVENTS)
    sessiond.run_lttng("start", "doomed")
    proc = subprocess.Popen([os.fspath(app), "100000000", "20"], env=sessiond.env)
    try:
        wait_for(lambda: writing(shm), "the app to write into its buffers")
        for pid in sessiond.consumerd_pids():
            os.kill(pid, signal.SIGKILL)
        readers = [StreamReader(ShmMapping.open_path(p, writable=False)) for p in stream_files(shm)]

        def full() -> bool:
            return any(
                r.produced_position() - r.consumed_position() >= r.geometry.buf_size // 2
                for r in readers
            )

        wait_for(full, "the app to fill a buffer nobody drains")
        for reader in readers:
            reader.close()
    finally:
        proc.kill()
        proc.wait()
    os.kill(sessiond.pid, signal.SIGKILL)
    crash, mine = crash_and_dump(shm, tmp_path)
    assert assert_same_trace(crash, mine) > 0
