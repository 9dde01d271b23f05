"""Capture a real streaming session's relay daemon traffic on loopback, and read it back.

:func:`capture_relayd_loopback` runs the real stack — ``lttng-relayd`` on free
loopback ports, a root ``lttng-sessiond`` (:class:`SessionDaemon`, with its C
``lttng-consumerd``), ``tshark -i lo`` on the relay ports — and one streaming
session with per-UID buffers and a sample app (``tracef_app``) emitting a few
events into small sub-buffers: create, start, run the app, stop, destroy. Every
wait is on real readiness (the relay ports accept, tshark says it is capturing,
the consumer's relay connections are closed), never a bare sleep; every process
is our child, stopped by pid.

:func:`dissect_relayd` reads such a capture with tshark and the generated
dissector (``spec/wireshark/ustref.lua``), telling it the ports with ``-o``
preferences, and sums up what it shows: the control commands, the data frames,
how many TCP payload bytes the relay messages cover, the expert infos.
``scripts/capture_relayd_loopback.py`` and ``tests/wireshark/test_relayd_live.py``
use both.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ustref.lttng.apps import build_app
from ustref.lttng.sessiond import LttngError, SessionDaemon

__all__ = [
    "RELAYD_PROTOCOLS",
    "LoopbackCapture",
    "RelaydDissection",
    "RelaydPorts",
    "capture_relayd_loopback",
    "dissect_relayd",
    "free_tcp_ports",
    "ports_from_options",
    "running_relayd",
    "tshark_port_options",
]

APP = "tracef_app"
SESSION = "s"
CHANNEL = "ch"
SUBBUF_SIZE = 4096
NUM_SUBBUF = 2
READY_TIMEOUT = 60.0
_POLL = 0.02
#: The dissector's protocols on the relay daemon's control and data sockets.
RELAYD_PROTOCOLS = ("lttcomm.relayd", "lttcomm.relayd.data")
_SERIOUS = ("Expert Info (Error", "Expert Info (Warning")


@dataclass(frozen=True)
class RelaydPorts:
    """The relay daemon's loopback ports."""

    control: int
    data: int
    live: int


@dataclass(frozen=True)
class LoopbackCapture:
    """What :func:`capture_relayd_loopback` made: the file, the ports, the commands run."""

    pcapng: Path
    ports: RelaydPorts
    commands: tuple[str, ...]


def tshark_port_options(ports: RelaydPorts) -> list[str]:
    """The tshark ``-o`` options that tell the dissector the relay daemon's ports."""
    return [
        *("-o", f"lttcomm.relayd.control_port:{ports.control}"),
        *("-o", f"lttcomm.relayd.data_port:{ports.data}"),
        *("-o", f"lttng.viewer.port:{ports.live}"),
    ]


_PORT_OPTION = re.compile(
    r"-o (lttcomm\.relayd\.control_port|lttcomm\.relayd\.data_port|lttng\.viewer\.port):(\d+)"
)


def ports_from_options(text: str) -> RelaydPorts:
    """The ports of the first :func:`tshark_port_options` written in ``text`` (the ``.cmd``
    file beside a capture)."""
    found = dict(_PORT_OPTION.findall(text))
    try:
        return RelaydPorts(
            int(found["lttcomm.relayd.control_port"]),
            int(found["lttcomm.relayd.data_port"]),
            int(found["lttng.viewer.port"]),
        )
    except KeyError as exc:
        raise LttngError(f"no tshark -o {exc.args[0]}:PORT option in the text") from None


def free_tcp_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free right now."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]


def _wait(what: str, probe: Callable[[], bool], timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise LttngError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(_POLL)


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


def _connected(ports: Sequence[int]) -> bool:
    """Whether a TCP connection to one of ``ports`` is still open (not listening, not
    in TIME_WAIT/CLOSE), per ``/proc/net/tcp``."""
    open_states = {"01", "02", "03", "04", "05", "08", "09", "0B"}
    wanted = {f"{port:04X}" for port in ports}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text(encoding="ascii").splitlines()[1:]:
                words = line.split()
                local, remote, state = words[1], words[2], words[3]
                ends = {local.rsplit(":", 1)[1], remote.rsplit(":", 1)[1]}
                if state in open_states and ends & wanted:
                    return True
    return False


def _tcp_segments(pcapng: Path) -> list[tuple[tuple[int, int], int]]:
    """``((source port, destination port), TCP flags)`` of every IPv4 TCP segment of an
    Ethernet-framed pcapng written by tshark on ``lo``, read while it is still being
    written (a block cut short at the end is left for the next read)."""
    data = pcapng.read_bytes() if pcapng.exists() else b""
    segments = []
    order = "<"
    at = 0
    while at + 12 <= len(data):
        kind = struct.unpack_from(order + "I", data, at)[0]
        if kind == 0x0A0D0D0A:
            order = "<" if data[at + 8 : at + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        length = struct.unpack_from(order + "I", data, at + 4)[0]
        if length < 12 or at + length > len(data):
            break
        if kind == 6:
            caplen = struct.unpack_from(order + "I", data, at + 20)[0]
            frame = data[at + 28 : at + 28 + caplen]
            if len(frame) >= 34 and frame[12:14] == b"\x08\x00" and frame[23] == 6:
                tcp = frame[14 + (frame[14] & 0x0F) * 4 :]
                if len(tcp) >= 14:
                    segments.append((struct.unpack_from(">HH", tcp), tcp[13]))
        at += length
    return segments


def _all_closed(pcapng: Path, ports: Sequence[int]) -> bool:
    """Whether the capture holds connections to ``ports``, each closed both ways
    (a FIN from each side, or a RST)."""
    opened: set[tuple[int, int]] = set()
    fins: set[tuple[int, int]] = set()
    reset: set[tuple[int, int]] = set()
    for (src, dst), flags in _tcp_segments(pcapng):
        if dst in ports and flags & 0x02 and not flags & 0x10:
            opened.add((src, dst))
        key = (src, dst) if dst in ports else (dst, src)
        if flags & 0x04:
            reset.add(key)
        if flags & 0x01:
            fins.add((src, dst))
    return bool(opened) and all(c in reset or (c in fins and (c[1], c[0]) in fins) for c in opened)


class _Children:
    """Our child processes (relay daemon, tshark), stopped by pid in reverse order."""

    def __init__(self) -> None:
        self.procs: list[tuple[subprocess.Popen[bytes], int]] = []

    def start(
        self, argv: Sequence[str], log: Path, env: dict[str, str], stop: int
    ) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            proc = subprocess.Popen(
                list(argv), env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs.append((proc, stop))
        return proc

    def stop(self, proc: subprocess.Popen[bytes], signum: int) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signum)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for proc, signum in reversed(self.procs):
            self.stop(proc, signum)


@contextlib.contextmanager
def running_relayd(workdir: Path, env: dict[str, str]) -> Iterator[tuple[RelaydPorts, Path]]:
    """An ``lttng-relayd`` on free loopback ports, our child, until the block ends
    (stopped by pid with SIGTERM); yields its ports and its ``--output`` directory,
    once the three ports accept connections."""
    workdir.mkdir(parents=True, exist_ok=True)
    ports = RelaydPorts(*free_tcp_ports(3))
    output = workdir / "relayd-output"
    children = _Children()
    try:
        relayd = children.start(
            [
                "lttng-relayd",
                f"--control-port=tcp://127.0.0.1:{ports.control}",
                f"--data-port=tcp://127.0.0.1:{ports.data}",
                f"--live-port=tcp://127.0.0.1:{ports.live}",
                f"--output={output}",
            ],
            workdir / "relayd.log",
            env,
            signal.SIGTERM,
        )

        def listening() -> bool:
            if relayd.poll() is not None:
                raise LttngError(f"lttng-relayd exited with status {relayd.returncode}")
            return all(_accepts(p) for p in (ports.control, ports.data, ports.live))

        _wait("lttng-relayd to listen", listening)
        yield ports, output
    finally:
        children.stop_all()


def capture_relayd_loopback(
    out: Path, *, events: int = 10, workdir: Path | None = None
) -> LoopbackCapture:
    """Capture one streaming session's relay traffic on ``lo`` into ``out`` (pcapng).

    Must run as root (the session daemon is root's; tshark captures on ``lo``).
    ``events``: how many ``lttng_ust_tracef:event`` the app emits.
    """
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ustref-lo-")))
        workdir.mkdir(parents=True, exist_ok=True)
        binary = build_app(APP, workdir / "apps")
        commands: list[str] = []
        children = _Children()
        stack.callback(children.stop_all)
        sessiond = stack.enter_context(SessionDaemon(workdir=workdir / "sessiond"))
        env = sessiond.env
        ports = RelaydPorts(*free_tcp_ports(3))
        relayd_argv = [
            "lttng-relayd",
            f"--control-port=tcp://127.0.0.1:{ports.control}",
            f"--data-port=tcp://127.0.0.1:{ports.data}",
            f"--live-port=tcp://127.0.0.1:{ports.live}",
            f"--output={workdir / 'relayd-output'}",
        ]
        relayd = children.start(relayd_argv, workdir / "relayd.log", env, signal.SIGTERM)
        commands.append(shlex.join(relayd_argv) + " &  # then wait until its ports accept")

        def listening() -> bool:
            if relayd.poll() is not None:
                raise LttngError(f"lttng-relayd exited with status {relayd.returncode}")
            return all(_accepts(p) for p in (ports.control, ports.data, ports.live))

        _wait("lttng-relayd to listen", listening)
        out.parent.mkdir(parents=True, exist_ok=True)
        tshark_log = workdir / "tshark.log"
        tshark_argv = [
            *("tshark", "-q", "-i", "lo", "-w", str(out)),
            *("-f", f"tcp port {ports.control} or tcp port {ports.data}"),
        ]
        tshark = children.start(tshark_argv, tshark_log, env, signal.SIGINT)
        commands.append(shlex.join(tshark_argv) + " &  # then wait for \"Capturing on 'lo'\"")

        def capturing() -> bool:
            if tshark.poll() is not None:
                raise LttngError(f"tshark exited with status {tshark.returncode}")
            return "Capturing on" in tshark_log.read_text(encoding="utf-8", errors="replace")

        _wait("tshark to capture", capturing)

        def lttng(*args: str) -> None:
            commands.append(shlex.join(["lttng", *args]))
            sessiond.run_lttng(*args)

        lttng("create", SESSION, f"--set-url=net://127.0.0.1:{ports.control}:{ports.data}")
        lttng(
            *("enable-channel", "-u", "--buffers-uid", CHANNEL),
            *(f"--subbuf-size={SUBBUF_SIZE}", f"--num-subbuf={NUM_SUBBUF}"),
        )
        lttng("enable-event", "-u", "lttng_ust_tracef:*", f"--channel={CHANNEL}")
        lttng("start", SESSION)
        commands.append(shlex.join([APP, str(events)]))
        sessiond.run(binary, str(events))
        lttng("stop", SESSION)
        lttng("destroy", SESSION)
        sessiond.stop()
        commands.append("# the session daemon stopped (its consumer with it)")
        _wait(
            "the relay connections to close",
            lambda: not _connected([ports.control, ports.data]),
        )
        commands.append("# waited until no connection to the relay ports is open")
        # tshark gets packets in blocks: wait until it wrote the last ones.
        _wait(
            "tshark to write the connections' ends",
            lambda: _all_closed(out, [ports.control, ports.data]),
        )
        commands.append("# waited until the capture holds every connection's FINs")
        children.stop(tshark, signal.SIGINT)
        if tshark.returncode != 0:
            raise LttngError(f"tshark exited with status {tshark.returncode}: {tshark_log}")
        commands.append(f"kill -INT {tshark.pid}  # tshark, by pid")
        children.stop(relayd, signal.SIGTERM)
        return LoopbackCapture(out, ports, tuple(commands))


# --------------------------------------------------------------- reading it back


@dataclass
class RelaydDissection:
    """What tshark with the generated dissector shows of a relay daemon capture."""

    commands: list[str] = field(default_factory=list)
    """Control commands, by ``lttcomm_relayd_command`` name, in order."""
    replies: list[str] = field(default_factory=list)
    """Reply structs, by C name, in order."""
    data_frames: int = 0
    """``lttcomm_relayd_data_hdr`` messages on the data socket."""
    tcp_bytes: int = 0
    """TCP payload bytes on the relay ports, both directions."""
    decoded_bytes: int = 0
    """Bytes of the relay messages the dissector shows."""
    experts: list[str] = field(default_factory=list)
    """Every expert info of the relay protocols (any severity), every warning or error
    (TCP's too: a segment not captured, say), every Lua error."""


def dissect_relayd(
    pcapng: Path, ports: RelaydPorts, plugin: Path, tshark: str = "tshark"
) -> RelaydDissection:
    """Read ``pcapng`` with tshark and ``plugin``, the relay ports given by ``-o``."""
    from ustref.protocol.relayd import LttcommRelaydCommand

    result = subprocess.run(
        [
            *(tshark, "-X", f"lua_script:{plugin}", *tshark_port_options(ports)),
            *("-r", str(pcapng), "-T", "pdml"),
        ],
        capture_output=True,
        check=True,
        timeout=300,
    )
    text = result.stdout.decode("utf-8", "replace")
    seen = RelaydDissection()
    if "Lua" in result.stderr.decode("utf-8", "replace"):
        seen.experts.append(result.stderr.decode("utf-8", "replace"))
    relay_ports = {str(ports.control), str(ports.data)}
    for packet in ET.fromstring(text).iter("packet"):
        shown = {f.get("name", ""): f.get("show", "") for f in packet.iter("field")}
        if {shown.get("tcp.srcport"), shown.get("tcp.dstport")} & relay_ports:
            seen.tcp_bytes += int(shown.get("tcp.len", "0"))
        for item in packet.iter("field"):
            showname = item.get("showname", "")
            if "Lua Error" in showname or showname.startswith(_SERIOUS):
                seen.experts.append(showname)
        for proto in packet.iter("proto"):
            name = proto.get("name", "")
            if name not in RELAYD_PROTOCOLS:
                continue
            seen.experts += [
                f.get("showname", "") or "_ws.expert"
                for f in proto.iter("field")
                if f.get("name") == "_ws.expert" and not f.get("showname", "").startswith(_SERIOUS)
            ]
            seen.decoded_bytes += int(proto.get("size", "0"))
            label = proto.get("showname", "")
            if name == RELAYD_PROTOCOLS[1]:
                seen.data_frames += 1
                continue
            cmd = next(
                (f for f in proto.iter("field") if f.get("name") == "lttcomm.relayd.cmd"), None
            )
            if cmd is not None:
                value = int(cmd.get("show", "0"))
                known = value in LttcommRelaydCommand._value2member_map_
                seen.commands.append(LttcommRelaydCommand(value).name if known else str(value))
            else:
                seen.replies.append(label.split(",")[-1].strip())
    return seen
