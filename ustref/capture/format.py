"""Capture files: what the recording consumer wrapper saw on the consumer daemon's sockets.

Two forms hold the same records (see ``spec/capture-format.md``):

* a **capture file** (``*.capture.jsonl``), written by
  :mod:`ustref.capture.wrapper`: a header line, one JSON object per record, and
  an end line, all UTF-8 JSON, one object per line;
* a **raw capture directory**: ``DIR/index.json`` listing the records and one
  file per record holding the bytes moved by one syscall.

:func:`read_capture` reads either form and yields :class:`CaptureRecord`: the
session daemon ↔ consumer daemon records. A capture file also holds the
consumer ↔ relay daemon records (:class:`RelaydRecord`, roles
``relayd-control`` and ``relayd-data``), which :func:`read_capture_all` yields
with the others in ``seq`` order and :func:`load_capture` keeps apart. Every
malformed input raises :class:`CaptureFormatError` (a
:class:`~ustref.errors.RemoteProtocolError`) naming the file, the line or index
entry, and the key at fault; no ``json``, ``binascii`` or ``OSError`` exception
escapes the readers.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.protocol.conversation.steps import Direction, Socket

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "INDEX_NAME",
    "Capture",
    "CaptureEnd",
    "CaptureFormatError",
    "CaptureHeader",
    "CaptureRecord",
    "CaptureWriter",
    "Direction",
    "RelaydDirection",
    "RelaydRecord",
    "RelaydSocket",
    "Socket",
    "load_capture",
    "read_capture",
    "read_capture_all",
    "read_capture_dir",
    "read_capture_file",
    "write_capture_dir",
    "write_capture_file",
]

FORMAT_NAME = "ustref-capture"
"""The ``format`` value of a capture file's header line."""

FORMAT_VERSION = 1
"""The version of the capture file format this module writes and reads."""

INDEX_NAME = "index.json"
"""The index file of a raw capture directory."""


class CaptureFormatError(RemoteProtocolError):
    """A capture file or raw capture directory is malformed.

    ``message`` names the file, ``field`` the line or index entry and key.
    """


@dataclass(frozen=True, slots=True)
class CaptureRecord:
    """The bytes (and the number of fds) moved by one syscall on one socket, one way.

    ``time_ns`` is ``CLOCK_MONOTONIC`` in nanoseconds when the wrapper's
    ``recvmsg`` returned (0 when the source did not record times).
    ``connection`` counts connections of the same role, from 0. An empty
    ``data`` with ``fd_count == 0`` marks the end of that direction (the
    sender shut it down or closed it). ``fd_kinds`` says what each passed fd
    was (``fifo``, ``socket``, ``memfd``, ``file``, ``directory``, ``other``)
    when known, else is empty.
    """

    seq: int
    time_ns: int
    direction: Direction
    socket: Socket
    data: bytes
    fd_count: int
    connection: int = 0
    fd_kinds: tuple[str, ...] = ()

    @property
    def is_eof(self) -> bool:
        return not self.data and self.fd_count == 0


class RelaydSocket(str, enum.Enum):
    """The two TCP connections of one relay daemon the consumer daemon talks on.

    ``lttng-sessiond`` connects both and hands them over with
    ``LTTNG_CONSUMER_ADD_RELAYD_SOCKET`` (``consumer_send_relayd_socket``,
    sessiond consumer.c @ v2.13.9), ``u.relayd_sock.type`` saying which
    (``enum lttng_stream_type``): ``LTTNG_STREAM_CONTROL`` or ``LTTNG_STREAM_DATA``.
    """

    CONTROL = "relayd-control"
    """The control socket: ``lttcomm_relayd_hdr`` commands and their replies."""
    DATA = "relayd-data"
    """The data socket: ``lttcomm_relayd_data_hdr`` then the packet, never a reply."""


class RelaydDirection(str, enum.Enum):
    """Which way bytes went on a relay daemon connection."""

    TO_RELAYD = "consumerd->relayd"
    TO_CONSUMERD = "relayd->consumerd"

    @property
    def arrow(self) -> str:
        return "C→R" if self is RelaydDirection.TO_RELAYD else "R→C"

    @property
    def short(self) -> str:
        """``c2r`` or ``r2c``."""
        return "c2r" if self is RelaydDirection.TO_RELAYD else "r2c"


@dataclass(frozen=True, slots=True)
class RelaydRecord:
    """The bytes moved by one ``recv`` on a relay daemon connection, one way.

    The wrapper sits between the consumer daemon and the relay daemon on each
    socket the session daemon hands over (see ``spec/capture-format.md``).
    ``connection`` counts the relay connections of the same ``socket`` role
    from 0, in hand-over order; ``net_index`` is the hand-over's
    ``u.relayd_sock.net_index`` (the consumer's ``relayd_id``); ``peer`` is the
    relay daemon's address as ``getpeername`` gave it (``HOST:PORT``,
    ``[HOST]:PORT`` for IPv6). An empty ``data`` marks the end of that direction.
    """

    seq: int
    time_ns: int
    direction: RelaydDirection
    socket: RelaydSocket
    data: bytes
    connection: int = 0
    net_index: int = 0
    peer: str = ""

    @property
    def is_eof(self) -> bool:
        return not self.data


AnyRecord = CaptureRecord | RelaydRecord
"""A line of a capture file: a session daemon ↔ consumer or a consumer ↔ relay record."""


@dataclass(frozen=True, slots=True)
class CaptureHeader:
    """The first line of a capture file: how the capture was made.

    ``argv`` is what the session daemon passed (``argv[1:]``; a script's
    ``argv[0]`` is lost to the kernel's ``#!`` handling), ``consumerd_argv``
    what the real consumer daemon got (``argv[0]`` included), with the socket
    paths redirected. ``realtime_offset_ns`` is ``CLOCK_REALTIME -
    CLOCK_MONOTONIC`` when the header was written, to place record times on
    the wall clock. ``channel_monitor`` is ``interposed`` or ``passthrough``.
    Keys the writer does not know are kept in ``extra``.
    """

    version: int = FORMAT_VERSION
    clock: str = "CLOCK_MONOTONIC"
    realtime_offset_ns: int = 0
    argv: tuple[str, ...] = ()
    consumerd: str = ""
    consumerd_argv: tuple[str, ...] = ()
    consumerd_pid: int = 0
    wrapper_pid: int = 0
    sessiond_sockets: Mapping[str, str] = field(default_factory=dict)
    private_sockets: Mapping[str, str] = field(default_factory=dict)
    channel_monitor: str = "interposed"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = dict(self.extra)
        doc.update(
            kind="header",
            format=FORMAT_NAME,
            version=self.version,
            clock=self.clock,
            realtime_offset_ns=self.realtime_offset_ns,
            argv=list(self.argv),
            consumerd=self.consumerd,
            consumerd_argv=list(self.consumerd_argv),
            consumerd_pid=self.consumerd_pid,
            wrapper_pid=self.wrapper_pid,
            sessiond_sockets=dict(self.sessiond_sockets),
            private_sockets=dict(self.private_sockets),
            channel_monitor=self.channel_monitor,
        )
        return doc


@dataclass(frozen=True, slots=True)
class CaptureEnd:
    """The last line of a complete capture file.

    ``exit_status`` is the real consumer daemon's, as :class:`subprocess.Popen`
    reports it (negative: killed by that signal); ``records`` how many record
    lines precede it; ``fd_splits`` how many ``recvmsg`` results brought fds
    with more than one byte and were relayed as two sends (two records);
    ``fd_truncations`` how many had their control data truncated
    (``MSG_CTRUNC``: fds lost).
    """

    exit_status: int
    records: int
    """Record lines of both kinds (:class:`CaptureRecord` and :class:`RelaydRecord`)."""
    fd_splits: int = 0
    fd_truncations: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "end",
            "exit_status": self.exit_status,
            "records": self.records,
            "fd_splits": self.fd_splits,
            "fd_truncations": self.fd_truncations,
        }


@dataclass(frozen=True)
class Capture:
    """A whole capture: header (``None`` for a raw directory), the session daemon ↔
    consumer records, end (``None`` when the writer did not finish), and the
    consumer ↔ relay daemon records (``relayd``)."""

    header: CaptureHeader | None
    records: tuple[CaptureRecord, ...]
    end: CaptureEnd | None
    relayd: tuple[RelaydRecord, ...] = ()

    def in_order(self) -> list[AnyRecord]:
        """Every record of both kinds, in ``seq`` order (as the file holds them)."""
        merged: list[AnyRecord] = [*self.records, *self.relayd]
        return sorted(merged, key=lambda record: record.seq)


# ----------------------------------------------------------------- writing


def record_to_json(record: AnyRecord) -> dict[str, Any]:
    """The JSON object of one record line."""
    doc: dict[str, Any] = {
        "kind": "record",
        "seq": record.seq,
        "time_ns": record.time_ns,
        "direction": record.direction.value,
        "socket": record.socket.value,
        "connection": record.connection,
    }
    if isinstance(record, RelaydRecord):
        doc.update(net_index=record.net_index, peer=record.peer, size=len(record.data))
    else:
        doc.update(size=len(record.data), fd_count=record.fd_count, fd_kinds=list(record.fd_kinds))
    doc["data"] = base64.b64encode(record.data).decode("ascii")
    return doc


def _line(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True) + "\n"


class CaptureWriter:
    """Write a capture file line by line, flushing each line.

    A wrapper killed mid-capture leaves a file of whole lines that
    :func:`read_capture` reads (without an end line). Records must come in
    increasing ``seq`` order.
    """

    def __init__(self, stream: IO[str], header: CaptureHeader) -> None:
        self._stream = stream
        self._count = 0
        self._last_seq: int | None = None
        self._closed = False
        self._write(header.to_json())

    @classmethod
    def create(cls, path: Path | str, header: CaptureHeader) -> CaptureWriter:
        """Create (or truncate) ``path`` and write ``header`` to it."""
        stream = open(path, "w", encoding="ascii", newline="\n")  # noqa: SIM115
        try:
            return cls(stream, header)
        except BaseException:
            stream.close()
            raise

    @property
    def count(self) -> int:
        """Records written so far."""
        return self._count

    def _write(self, doc: Mapping[str, Any]) -> None:
        self._stream.write(_line(doc))
        self._stream.flush()

    def append(self, record: AnyRecord) -> None:
        if self._closed:
            raise LocalProtocolError("capture writer already closed")
        if self._last_seq is not None and record.seq <= self._last_seq:
            raise LocalProtocolError(
                f"capture record seq {record.seq} after seq {self._last_seq}: not increasing"
            )
        if (
            isinstance(record, CaptureRecord)
            and record.fd_kinds
            and len(record.fd_kinds) != record.fd_count
        ):
            raise LocalProtocolError(
                f"capture record seq {record.seq}: {len(record.fd_kinds)} fd kinds "
                f"for {record.fd_count} fds"
            )
        self._write(record_to_json(record))
        self._last_seq = record.seq
        self._count += 1

    def close(
        self, exit_status: int | None = None, *, fd_splits: int = 0, fd_truncations: int = 0
    ) -> None:
        """Write the end line (when ``exit_status`` is given) and close the stream."""
        if self._closed:
            return
        self._closed = True
        try:
            if exit_status is not None:
                end = CaptureEnd(
                    exit_status=exit_status,
                    records=self._count,
                    fd_splits=fd_splits,
                    fd_truncations=fd_truncations,
                )
                self._write(end.to_json())
        finally:
            self._stream.close()


def write_capture_file(
    path: Path | str,
    records: Iterable[AnyRecord],
    *,
    header: CaptureHeader | None = None,
    exit_status: int | None = 0,
) -> None:
    """Write a whole capture file (``exit_status=None`` leaves out the end line)."""
    writer = CaptureWriter.create(path, header if header is not None else CaptureHeader())
    try:
        for record in records:
            writer.append(record)
    finally:
        writer.close(exit_status)


def write_capture_dir(path: Path | str, records: Iterable[CaptureRecord]) -> None:
    """Write ``records`` as a raw capture directory (``index.json`` plus one
    ``NNNN-s2c.bin``/``NNNN-c2s.bin`` file per record)."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    messages: list[dict[str, Any]] = []
    for record in records:
        name = f"{record.seq:04d}-{record.direction.short}.bin"
        (directory / name).write_bytes(record.data)
        messages.append(
            {
                "seq": record.seq,
                "file": name,
                "direction": record.direction.value,
                "socket": record.socket.value,
                "fd_count": record.fd_count,
                "time_ns": record.time_ns,
                "connection": record.connection,
            }
        )
    (directory / INDEX_NAME).write_text(json.dumps({"messages": messages}, indent=1) + "\n")


# ----------------------------------------------------------------- reading


_REQUIRED: Any = object()
_E = TypeVar("_E", bound=enum.Enum)


class _Fields:
    """Typed access to one JSON object's keys, raising :class:`CaptureFormatError`."""

    def __init__(self, doc: object, *, source: str, where: str) -> None:
        self.source = source
        self.where = where
        if not isinstance(doc, dict):
            self.fail(f"expected a JSON object, got {type(doc).__name__}")
        self.doc: dict[str, Any] = doc

    def fail(self, reason: str, key: str = "") -> NoReturn:
        where = f"{self.where}.{key}" if key else self.where
        raise CaptureFormatError(reason, message=self.source, field=where)

    def _get(self, key: str, default: object) -> object:
        if key in self.doc:
            return self.doc[key]
        if default is _REQUIRED:
            self.fail("missing", key)
        return default

    def int_(self, key: str, *, default: object = _REQUIRED, minimum: int | None = 0) -> int:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"expected an integer, got {value!r}", key)
        if minimum is not None and value < minimum:
            self.fail(f"expected an integer >= {minimum}, got {value}", key)
        return value

    def optional_int(self, key: str) -> int:
        """The key's value if it is a non-negative integer, else 0 (a key
        outside the documented ones is ignored, not checked)."""
        value = self.doc.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        return 0

    def str_(self, key: str, *, default: object = _REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            self.fail(f"expected a string, got {value!r}", key)
        return value

    def str_list(self, key: str) -> tuple[str, ...]:
        value = self._get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.fail(f"expected a list of strings, got {value!r}", key)
        return tuple(value)

    def str_map(self, key: str) -> dict[str, str]:
        value = self._get(key, {})
        if not isinstance(value, dict) or not all(isinstance(item, str) for item in value.values()):
            self.fail(f"expected an object of strings, got {value!r}", key)
        return dict(value)

    def _choice(self, key: str, choices: type[_E], what: str) -> _E:
        """The value of ``key``, one of the string enum ``choices``."""
        value = self.str_(key)
        try:
            return choices(value)
        except ValueError:
            expected = " or ".join(repr(c.value) for c in choices)
            self.fail(f"unknown {what} {value!r} (expected {expected})", key)

    def direction(self) -> Direction:
        return self._choice("direction", Direction, "direction")

    def relayd_direction(self) -> RelaydDirection:
        return self._choice("direction", RelaydDirection, "relay daemon direction")

    def socket(self) -> Socket:
        value = self.str_("socket")
        try:
            return Socket(value)
        except ValueError:
            self.fail(
                f"unknown socket {value!r} (expected "
                + ", ".join(repr(s.value) for s in Socket)
                + ")",
                "socket",
            )


def _check_seq(fields: _Fields, seq: int, last: int | None) -> None:
    if last is not None and seq <= last:
        fields.fail(f"seq {seq} does not follow seq {last} (not increasing)", "seq")


def _parse_header(fields: _Fields) -> CaptureHeader:
    if fields.doc.get("format") != FORMAT_NAME:
        fields.fail(f"not a capture file (format {fields.doc.get('format')!r})", "format")
    version = fields.int_("version")
    if version != FORMAT_VERSION:
        fields.fail(f"unsupported capture format version {version}", "version")
    known = {
        "kind",
        "format",
        "version",
        "clock",
        "realtime_offset_ns",
        "argv",
        "consumerd",
        "consumerd_argv",
        "consumerd_pid",
        "wrapper_pid",
        "sessiond_sockets",
        "private_sockets",
        "channel_monitor",
    }
    return CaptureHeader(
        version=version,
        clock=fields.str_("clock", default="CLOCK_MONOTONIC"),
        realtime_offset_ns=fields.int_("realtime_offset_ns", default=0, minimum=None),
        argv=fields.str_list("argv"),
        consumerd=fields.str_("consumerd", default=""),
        consumerd_argv=fields.str_list("consumerd_argv"),
        consumerd_pid=fields.int_("consumerd_pid", default=0),
        wrapper_pid=fields.int_("wrapper_pid", default=0),
        sessiond_sockets=fields.str_map("sessiond_sockets"),
        private_sockets=fields.str_map("private_sockets"),
        channel_monitor=fields.str_("channel_monitor", default="interposed"),
        extra={key: value for key, value in fields.doc.items() if key not in known},
    )


_RELAYD_SOCKETS = {role.value: role for role in RelaydSocket}


def _record_data(fields: _Fields) -> bytes:
    encoded = fields.str_("data")
    try:
        data = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        fields.fail(f"not valid base64 ({exc})", "data")
    size = fields.int_("size", default=len(data))
    if size != len(data):
        fields.fail(f"size {size} but data holds {len(data)} bytes", "size")
    return data


def _parse_relayd_record(fields: _Fields, role: RelaydSocket) -> RelaydRecord:
    return RelaydRecord(
        seq=fields.int_("seq"),
        time_ns=fields.int_("time_ns", default=0),
        direction=fields.relayd_direction(),
        socket=role,
        data=_record_data(fields),
        connection=fields.int_("connection", default=0),
        net_index=fields.int_("net_index", default=0),
        peer=fields.str_("peer", default=""),
    )


def _parse_record(fields: _Fields) -> AnyRecord:
    value = fields.doc.get("socket")
    role = _RELAYD_SOCKETS.get(value) if isinstance(value, str) else None
    if role is not None:
        return _parse_relayd_record(fields, role)
    seq = fields.int_("seq")
    data = _record_data(fields)
    fd_count = fields.int_("fd_count")
    fd_kinds = fields.str_list("fd_kinds")
    if fd_kinds and len(fd_kinds) != fd_count:
        fields.fail(f"{len(fd_kinds)} fd kinds for fd_count {fd_count}", "fd_kinds")
    return CaptureRecord(
        seq=seq,
        time_ns=fields.int_("time_ns", default=0),
        direction=fields.direction(),
        socket=fields.socket(),
        data=data,
        fd_count=fd_count,
        connection=fields.int_("connection", default=0),
        fd_kinds=fd_kinds,
    )


def _iter_file(path: Path, sink: list[CaptureHeader | CaptureEnd]) -> Iterator[AnyRecord]:
    source = os.fspath(path)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise CaptureFormatError(f"cannot read ({exc.strerror or exc})", message=source) from exc
    with stream:
        last_seq: int | None = None
        count = 0
        ended = False
        for number, raw in enumerate(stream, start=1):
            where = f"line {number}"
            if ended:
                raise CaptureFormatError("data after the end line", message=source, field=where)
            if not raw.endswith(b"\n"):
                raise CaptureFormatError("truncated line (no newline)", message=source, field=where)
            try:
                doc = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
                raise CaptureFormatError(
                    f"not a JSON line ({exc})", message=source, field=where
                ) from exc
            fields = _Fields(doc, source=source, where=where)
            kind = fields.doc.get("kind")
            if number == 1:
                if kind != "header":
                    fields.fail(f"the first line must be the header, got kind {kind!r}", "kind")
                sink.append(_parse_header(fields))
                continue
            if kind == "record":
                record = _parse_record(fields)
                _check_seq(fields, record.seq, last_seq)
                last_seq = record.seq
                count += 1
                yield record
            elif kind == "end":
                end = CaptureEnd(
                    exit_status=fields.int_("exit_status", minimum=None),
                    records=fields.int_("records"),
                    fd_splits=fields.int_("fd_splits", default=0),
                    fd_truncations=fields.int_("fd_truncations", default=0),
                )
                if end.records != count:
                    fields.fail(f"says {end.records} records, the file holds {count}", "records")
                sink.append(end)
                ended = True
            else:
                fields.fail(f"unknown line kind {kind!r}", "kind")
    if not sink:
        raise CaptureFormatError("empty file (no header line)", message=source)


def read_capture_file(path: Path | str) -> Iterator[CaptureRecord]:
    """Yield the session daemon ↔ consumer records of a capture file (header, end
    line and relay daemon records are checked, not yielded)."""
    for record in _iter_file(Path(path), []):
        if isinstance(record, CaptureRecord):
            yield record


def _safe_member(directory: Path, name: str, fields: _Fields) -> Path:
    candidate = Path(name)
    if not name or candidate.is_absolute() or ".." in candidate.parts:
        fields.fail(f"file name {name!r} is not inside the capture directory", "file")
    return directory / candidate


def read_capture_dir(path: Path | str) -> Iterator[CaptureRecord]:
    """Yield the records of a raw capture directory, in index order.

    Each index entry needs ``seq`` (increasing), ``file`` (relative to the
    directory), ``direction``, ``socket`` and ``fd_count``; ``time_ns`` and
    ``connection`` are read when present (else 0); other keys are ignored.
    """
    directory = Path(path)
    index_path = directory / INDEX_NAME
    source = os.fspath(index_path)
    try:
        text = index_path.read_bytes()
    except OSError as exc:
        raise CaptureFormatError(f"cannot read ({exc.strerror or exc})", message=source) from exc
    try:
        doc = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise CaptureFormatError(f"not JSON ({exc})", message=source) from exc
    top = _Fields(doc, source=source, where="index")
    messages = top.doc.get("messages")
    if not isinstance(messages, list):
        top.fail(f"expected a list, got {messages!r}", "messages")
    last_seq: int | None = None
    for position, entry in enumerate(messages):
        fields = _Fields(entry, source=source, where=f"messages[{position}]")
        seq = fields.int_("seq")
        _check_seq(fields, seq, last_seq)
        last_seq = seq
        name = fields.str_("file")
        member = _safe_member(directory, name, fields)
        direction = fields.direction()
        role = fields.socket()
        fd_count = fields.int_("fd_count")
        time_ns = fields.optional_int("time_ns")
        connection = fields.optional_int("connection")
        try:
            data = member.read_bytes()
        except OSError as exc:
            fields.fail(f"cannot read {os.fspath(member)} ({exc.strerror or exc})", "file")
        yield CaptureRecord(
            seq=seq,
            time_ns=time_ns,
            direction=direction,
            socket=role,
            data=data,
            fd_count=fd_count,
            connection=connection,
        )


def read_capture(path: Path | str) -> Iterator[CaptureRecord]:
    """Yield the records of a capture file or a raw capture directory (by what ``path`` is)."""
    if Path(path).is_dir():
        return read_capture_dir(path)
    return read_capture_file(path)


def read_capture_all(path: Path | str) -> Iterator[AnyRecord]:
    """Yield every record of a capture file, relay daemon records included, in ``seq``
    order; a raw capture directory holds session daemon ↔ consumer records only."""
    if Path(path).is_dir():
        return read_capture_dir(path)
    return _iter_file(Path(path), [])


def load_capture(path: Path | str) -> Capture:
    """Read a whole capture, with its header and end line (file form) into memory."""
    target = Path(path)
    if target.is_dir():
        return Capture(header=None, records=tuple(read_capture_dir(target)), end=None)
    sink: list[CaptureHeader | CaptureEnd] = []
    everything = list(_iter_file(target, sink))
    header = next((item for item in sink if isinstance(item, CaptureHeader)), None)
    end = next((item for item in sink if isinstance(item, CaptureEnd)), None)
    return Capture(
        header=header,
        records=tuple(r for r in everything if isinstance(r, CaptureRecord)),
        end=end,
        relayd=tuple(r for r in everything if isinstance(r, RelaydRecord)),
    )
