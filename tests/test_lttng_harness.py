"""Unit tests of ``ustref.lttng`` that need no root session daemon.

The babeltrace2 lines below were printed by babeltrace2 2.0.4 for traces
recorded here with lttng-tools 2.13.9 / lttng-ust 2.13.5 (the sample apps of
``ustref/data/apps``, and a tracef call with quotes, braces and control characters).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.guard import require_tool
from ustref.errors import UstrefError
from ustref.lttng import (
    APPS,
    Event,
    LttngCommandError,
    LttngError,
    SessionDaemon,
    apps_dir,
    build_app,
    count_messages,
    descendants,
    parse_counter,
    parse_discarded_events,
    parse_line,
    process_info,
    read_events,
    split_fields,
    split_groups,
)

TRACEF_LINE = (
    "[11:52:16.819306204] (+?.?????????) vm lttng_ust_tracef:event: "
    '{ cpu_id = 1 }, { _msg_length = 15, msg = "ustref tracef 0" }'
)
ALL_TYPES_LINE = (
    "[11:52:16.826432779] (+0.000000270) vm ustref_test:all_types: { cpu_id = 0 }, "
    '{ int_field = 2, float_field = 2.5, string_field = "event-2", '
    "array_field = [ [0] = 2, [1] = 3, [2] = 4 ], _seq_field_length = 2, "
    'seq_field = [ [0] = 0, [1] = 1 ], enum_field = ( "BLUE" : container = 2 ) }'
)
CONTEXT_LINE = (
    "[11:55:17.189413102] (+?.?????????) vm lttng_ust_tracef:event: { cpu_id = 0 }, "
    '{ vpid = 11995, procname = "tricky" }, '
    '{ _msg_length = 42, msg = "quote \\" comma , brace { } bracket [ ] = eq" }'
)
ESCAPES_LINE = (
    "[11:55:17.189418690] (+0.000005588) vm lttng_ust_tracef:event: { cpu_id = 0 }, "
    '{ vpid = 11995, procname = "tricky" }, '
    '{ _msg_length = 19, msg = "newline\\nand tab\\tend" }'
)


def test_parse_tracef_line() -> None:
    event = parse_line(TRACEF_LINE + "\n")
    assert event == Event(
        timestamp="11:52:16.819306204",
        delta="+?.?????????",
        hostname="vm",
        name="lttng_ust_tracef:event",
        fields='{ cpu_id = 1 }, { _msg_length = 15, msg = "ustref tracef 0" }',
        raw=TRACEF_LINE,
    )
    assert event.groups == ("{ cpu_id = 1 }", '{ _msg_length = 15, msg = "ustref tracef 0" }')
    assert event.payload == {"_msg_length": "15", "msg": '"ustref tracef 0"'}
    assert event.context == {"cpu_id": "1"}


def test_parse_all_types_line() -> None:
    event = parse_line(ALL_TYPES_LINE)
    assert event.name == "ustref_test:all_types"
    assert event.delta == "+0.000000270"
    assert event.payload == {
        "int_field": "2",
        "float_field": "2.5",
        "string_field": '"event-2"',
        "array_field": "[ [0] = 2, [1] = 3, [2] = 4 ]",
        "_seq_field_length": "2",
        "seq_field": "[ [0] = 0, [1] = 1 ]",
        "enum_field": '( "BLUE" : container = 2 )',
    }


def test_parse_line_with_added_context_and_tricky_string() -> None:
    event = parse_line(CONTEXT_LINE)
    assert len(event.groups) == 3
    assert event.context == {"cpu_id": "0", "vpid": "11995", "procname": '"tricky"'}
    assert event.payload == {
        "_msg_length": "42",
        "msg": '"quote \\" comma , brace { } bracket [ ] = eq"',
    }
    assert parse_line(ESCAPES_LINE).payload["msg"] == '"newline\\nand tab\\tend"'


def test_parse_line_without_hostname_or_fields() -> None:
    event = parse_line("[00:00:00.000000001] (+?.?????????) app:ev: { cpu_id = 3 }")
    assert event.hostname is None
    assert event.name == "app:ev"
    assert event.payload == {"cpu_id": "3"}
    bare = parse_line("[00:00:00.000000001] (+0.000000001) host app:ev:")
    assert (bare.hostname, bare.name, bare.fields, bare.groups) == ("host", "app:ev", "", ())
    assert bare.payload == {}


@pytest.mark.parametrize("line", ["", "hello", "[12:00] no delta", "(+0) [12:00] x: {}"])
def test_parse_line_rejects_non_events(line: str) -> None:
    with pytest.raises(LttngError, match="not a babeltrace2 event line"):
        parse_line(line)


def test_split_helpers() -> None:
    assert split_groups('{ a = { b = 1 } }, { c = "}" }') == (
        "{ a = { b = 1 } }",
        '{ c = "}" }',
    )
    assert split_fields("{ }") == {}
    assert split_fields('{ a = [ [0] = 1, [1] = 2 ], b = "x, y = z" }') == {
        "a": "[ [0] = 1, [1] = 2 ]",
        "b": '"x, y = z"',
    }


def test_read_events_errors(tmp_path: Path) -> None:
    with pytest.raises(LttngError, match="no trace directory"):
        read_events(tmp_path / "missing")
    require_tool("babeltrace2")
    with pytest.raises(LttngCommandError) as caught:
        read_events(tmp_path)  # a directory with no trace in it
    assert caught.value.returncode not in (0, None)
    assert isinstance(caught.value, UstrefError)


# babeltrace2 2.0.4 `TRACE -c sink.utils.counter` (default step) on a bench_app trace of
# 200,000 events through lttng-consumerd 2.13.9, 4 sub-buffers of 4 KiB: a block of
# running counts after 10,000 messages, then the totals. The benchmark's first run
# took the first block's 9,530 events for the trace's.
COUNTER_TWO_BLOCKS = """\
           9530 Event messages
              2 Stream beginning messages
              0 Stream end messages
            160 Packet beginning messages
            158 Packet end messages
            155 Discarded event messages
              0 Discarded packet messages
              0 Message iterator inactivity messages
          10005 messages (TOTAL)

          13500 Event messages
              2 Stream beginning messages
              2 Stream end messages
            226 Packet beginning messages
            226 Packet end messages
            197 Discarded event messages
              0 Discarded packet messages
              0 Message iterator inactivity messages
          14153 messages (TOTAL)
"""
# `lttng list probe` (lttng-tools 2.13.9) after `lttng stop` of that session.
LIST_AFTER_STOP = """\
Recording session probe: [inactive]
    Trace output: /tmp/bench-probe/work/trace-C

=== Domain: User space ===

Buffering scheme: per-user

Tracked process attributes
  Virtual process IDs:  all
  Virtual user IDs:     all
  Virtual group IDs:    all

Channels:
-------------
- bench: [enabled]

    Attributes:
      Event-loss mode:  discard
      Sub-buffer size:  4096 bytes
      Sub-buffer count: 4
      Switch timer:     inactive
      Read timer:       inactive
      Monitor timer:    1000000 us
      Blocking timeout: 0 us
      Trace file count: 1 per stream
      Trace file size:  unlimited
      Output mode:      mmap

    Statistics:
      Discarded events: 186500

    Recording event rules:
      ustref_bench:record (type: tracepoint) [enabled]

"""


def test_parse_counter_takes_the_totals_not_the_running_counts() -> None:
    counts = parse_counter(COUNTER_TWO_BLOCKS)
    assert counts["Event"] == 13500
    assert counts["Discarded event"] == 197
    assert counts["TOTAL"] == 14153
    assert sum(n for kind, n in counts.items() if kind != "TOTAL") == counts["TOTAL"]
    # the one block -p step=+0 prints, with a singular and the bold TOTAL of a terminal
    single = COUNTER_TWO_BLOCKS.split("\n\n")[1].replace(
        "2 Stream end messages", "1 Stream end message"
    )
    single = single.replace("14153 messages (TOTAL)", "\x1b[1m14152 messages (TOTAL)\x1b[0m")
    assert parse_counter(single)["Stream end"] == 1
    assert parse_counter(single)["TOTAL"] == 14152


@pytest.mark.parametrize(
    "text",
    [
        "",
        "          13500 Event messages\n",  # no TOTAL line: cut short
        "[11:52:16.819306204] (+?.?????????) vm a:b: { }\n          1 message (TOTAL)\n",
    ],
)
def test_parse_counter_rejects_incomplete_or_foreign_output(text: str) -> None:
    with pytest.raises(LttngError):
        parse_counter(text)


def test_count_messages_errors(tmp_path: Path) -> None:
    with pytest.raises(LttngError, match="no trace directory"):
        count_messages(tmp_path / "missing")
    require_tool("babeltrace2")
    with pytest.raises(LttngCommandError):
        count_messages(tmp_path)


def test_parse_discarded_events() -> None:
    assert parse_discarded_events(LIST_AFTER_STOP) == {"bench": 186500}
    # 13,500 recorded + 186,500 discarded: the 200,000 the app emitted
    assert parse_counter(COUNTER_TWO_BLOCKS)["Event"] + 186500 == 200_000
    two = LIST_AFTER_STOP.replace("- bench:", "- other:") + LIST_AFTER_STOP.split("Channels:")[1]
    assert parse_discarded_events(two) == {"other": 186500, "bench": 186500}
    assert parse_discarded_events("Recording session s: [inactive]\n") == {}


def test_command_error_message() -> None:
    error = LttngCommandError(
        "exited with status 1",
        argv=["lttng", "start"],
        returncode=1,
        stderr="Error: No session found\n",
        log_tail="DEBUG something",
    )
    text = str(error)
    assert "lttng start" in text
    assert "Error: No session found" in text
    assert "DEBUG something" in text


def test_apps_dir_default_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("USTREF_APPS_DIR", raising=False)
    assert (apps_dir() / "tracef_app.c").is_file()
    for spec in APPS.values():
        for name in (*spec.sources, *spec.headers):
            assert (apps_dir() / name).is_file()
    monkeypatch.setenv("USTREF_APPS_DIR", str(tmp_path))
    assert apps_dir() == tmp_path


def test_build_app_unknown_or_missing(tmp_path: Path) -> None:
    with pytest.raises(LttngError, match="unknown sample app"):
        build_app("no_such_app", tmp_path)
    with pytest.raises(LttngError, match="source missing"):
        build_app("tracef_app", tmp_path / "out", source_dir=tmp_path / "empty")


def test_bench_app_emits_the_events_it_is_asked_for(tmp_path: Path) -> None:
    """The benchmark's app reports the count it emitted (untraced here: no daemon)."""
    require_tool("gcc")
    binary = build_app("bench_app", tmp_path)
    env = {**os.environ, "LTTNG_UST_REGISTER_TIMEOUT": "0", "LTTNG_HOME": str(tmp_path)}
    done = subprocess.run(
        [binary, "12345"], capture_output=True, text=True, env=env, check=True, timeout=60
    )
    emitted, seconds = done.stdout.split()
    assert int(emitted) == 12345
    assert float(seconds) >= 0.0
    bad = subprocess.run([binary], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 2


def test_build_app_caches_by_content(tmp_path: Path) -> None:
    require_tool("gcc")
    src = tmp_path / "src"
    shutil.copytree(apps_dir(), src)
    out = tmp_path / "out"
    binary = build_app("tracef_app", out, source_dir=src)
    assert os.access(binary, os.X_OK)
    first = binary.stat()
    # Unchanged sources: the cached binary is returned, not rebuilt.
    assert build_app("tracef_app", out, source_dir=src) == binary
    assert binary.stat().st_ino == first.st_ino
    # Changed sources: a new binary is renamed into place.
    (src / "tracef_app.c").write_text((src / "tracef_app.c").read_text() + "\n/* changed */\n")
    assert build_app("tracef_app", out, source_dir=src) == binary
    assert binary.stat().st_ino != first.st_ino
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    (src / "tracef_app.c").write_text("int main(void) { return syntax error; }\n")
    with pytest.raises(LttngCommandError, match="building tracef_app failed") as caught:
        build_app("tracef_app", out, source_dir=src)
    assert "error" in caught.value.stderr


def test_process_info_and_descendants() -> None:
    me = process_info(os.getpid())
    assert me is not None and me.state in "RS" and me.ppid == os.getppid()
    proc = subprocess.Popen(["sh", "-c", "sleep 30 & wait"])
    try:
        deadline = time.monotonic() + 10
        kids = descendants(proc.pid)
        # Until sh has forked and the child has exec'd sleep (its comm is sh before).
        while [kid.comm for kid in kids] != ["sleep"] and time.monotonic() < deadline:
            time.sleep(0.01)
            kids = descendants(proc.pid)
        assert [kid.comm for kid in kids] == ["sleep"]
        assert kids[0].ppid == proc.pid
    finally:
        for kid in descendants(proc.pid):
            os.kill(kid.pid, signal.SIGKILL)
        proc.kill()
        proc.wait()
    assert process_info(2**22 + 1) is None


def test_lock_held_elsewhere_times_out(tmp_path: Path) -> None:
    lock = tmp_path / "sessiond.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        daemon = SessionDaemon(lock_path=lock, lock_timeout=0.1, subreaper=False)
        with pytest.raises(LttngError, match="held"):
            daemon.start()
        assert not daemon.running
    finally:
        os.close(fd)


def test_daemon_that_exits_at_start_up_is_reported(tmp_path: Path) -> None:
    # "false" exits at once: start() must say so (not wait for the deadline).
    # Where a root lttng-sessiond is already running, the conflict is reported
    # instead; both are LttngErrors.
    daemon = SessionDaemon(
        sessiond="false", workdir=tmp_path / "d", lock_path=tmp_path / "lock", subreaper=False
    )
    started = time.monotonic()
    with pytest.raises(LttngError):
        daemon.start()
    assert time.monotonic() - started < 10
    assert not daemon.running
    with pytest.raises(LttngError, match="not been started"):
        _ = daemon.home
