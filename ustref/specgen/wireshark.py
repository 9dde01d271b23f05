"""``ustref spec wireshark --out DIR`` — a Wireshark 4.0 Lua dissector generated from the grammars.

Nothing in the plugin is written by hand about the protocols: every field
(C name, offset, size, byte order, enum names), every union arm and its key,
every flexible array's length rule and the conversation table (which reply
follows which command, the conditions on each step) are read from the
grammar modules (:func:`ustref.protocol.grammars.schema`, the walker) and
from :mod:`ustref.protocol.conversation.rules`, then written as Lua tables.
Only the interpreter of those tables (``wireshark_runtime.lua``, beside this
module) is fixed Lua.

Protocols and fields:

* ``lttcomm.consumer`` — session daemon ↔ consumer daemon messages, both ABI
  profiles (fields shared by both profiles share one filter name, e.g.
  ``lttcomm.consumer.cmd_type == 16``); carried in the pcapng files that
  ``ustref capture export`` writes (link type ``LINKTYPE_USER0``, 147, with a
  12-byte ``ustref.capture`` pseudo-header: socket, direction, ABI, connection,
  descriptor count);
* ``lttcomm.relayd`` — the relay daemon's control (5342) and data (5343)
  sockets over TCP, reassembled from the headers' ``data_size``;
* ``lttng.viewer`` — the live viewer protocol (5344), reassembled likewise.

How a reply is recognised (the wire alone does not say): on the consumer's
sockets the dissector runs the conversation table in file order on the first
pass, like ``ustref decode`` (the command's ``cmd_type`` picks the steps that
follow; a step's condition reads values decoded earlier in the exchange), and
remembers what each frame completed. On the relay control socket and the
viewer socket a reply carries no command number: the dissector shows it as
the reply to the oldest unanswered command of that TCP conversation.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ustref.protocol import consumer, relayd
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.conversation import rules
from ustref.protocol.conversation.steps import (
    AllOf,
    Always,
    Condition,
    Direction,
    FdTransfer,
    FieldIs,
    Message,
    Payload,
    Socket,
    Step,
    StreamList,
)
from ustref.protocol.fields import CStr, enum_c_name
from ustref.protocol.grammars import schema
from ustref.protocol.lttng_error import LttngErrorCode
from ustref.protocol.peers import viewer
from ustref.protocol.registry import StructSpec
from ustref.protocol.walker import Kind, Node, fields, node
from ustref.specgen import peers

__all__ = [
    "ABI_IDS",
    "CONSUMER_PREFIX",
    "PSEUDO_HEADER_SIZE",
    "SOCKET_IDS",
    "leaves",
    "render_lua",
    "write_plugin",
]

PLUGIN_NAME = "ustref.lua"
RUNTIME = "wireshark_runtime.lua"
"""The fixed Lua interpreter of the generated tables (package data beside this module)."""
CONSUMER_PREFIX = "lttcomm.consumer"
RELAYD_PREFIX = "lttcomm.relayd"
VIEWER_PREFIX = "lttng.viewer"
RELAYD_PORTS = (5342, 5343)
VIEWER_PORT = 5344

#: Socket numbers of the ``ustref.capture`` pseudo-header (one byte).
SOCKET_IDS: dict[Socket, int] = {s: i for i, s in enumerate(Socket)}
#: ABI numbers of the pseudo-header (one byte).
ABI_IDS: dict[Abi, int] = {a: i for i, a in enumerate(ALL_ABIS)}
#: magic "USTR", version, ABI, socket, direction, connection (u16 LE), fd count (u16 LE).
PSEUDO_HEADER_SIZE = 12
PSEUDO_MAGIC = b"USTR"
PSEUDO_VERSION = 1


def _lua_str(text: str) -> str:
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


def _ident(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


@dataclasses.dataclass(frozen=True)
class _Field:
    var: str
    abbrev: str
    label: str
    ftype: str
    enum_var: str | None


class _Fields:
    """The ProtoFields of the plugin: one per (filter name, type)."""

    def __init__(self) -> None:
        self.by_abbrev: dict[str, _Field] = {}
        self.enums: dict[str, type[enum.IntEnum]] = {}

    def get(
        self, abbrev: str, label: str, ftype: str, enum_type: Any = None, qualified: str = ""
    ) -> _Field:
        abbrev = _abbrev(abbrev)
        enum_var = None
        if enum_type is not None:
            enum_var = "E." + _ident(enum_c_name(enum_type))
            self.enums[enum_var] = enum_type
        existing = self.by_abbrev.get(abbrev)
        if existing is not None:
            if (existing.ftype, existing.enum_var) == (ftype, enum_var):
                return existing
            return self.get(qualified or f"{abbrev}_{ftype}", label, ftype, enum_type)
        field = _Field(f"F[{len(self.by_abbrev) + 1}]", abbrev, label, ftype, enum_var)
        self.by_abbrev[abbrev] = field
        return field


def _abbrev(path: str) -> str:
    """A valid Wireshark filter name for a C member path."""
    return re.sub(r"\.+", ".", re.sub(r"[^a-z0-9_.-]", "_", path.lower())).strip(".")


def _int_ftype(node_: Node) -> tuple[str, bool]:
    fmt = node_.fmt.lstrip("<>=!")
    size = {"b": 8, "B": 8, "h": 16, "H": 16, "i": 32, "I": 32, "l": 32, "L": 32, "q": 64, "Q": 64}
    signed = fmt.islower()
    return f"{'int' if signed else 'uint'}{size[fmt]}", signed


class _Probe:
    """A Construct context stand-in that records which members a length rule reads."""

    def __init__(self, value: int) -> None:
        self.read: list[str] = []
        self.value = value

    def __getattr__(self, name: str) -> int:
        if name.startswith("__"):
            raise AttributeError(name)
        self.read.append(name)
        return self.value

    def __getitem__(self, name: str) -> int:
        return self.__getattr__(name)


def flex_rule(rule: Any) -> tuple[str | None, int, int]:
    """A flexible array's length rule as ``(member, a, b)``: ``a + b * member``
    (``member`` ``None``: ``a`` bytes), found by probing the rule (it must be linear)."""
    probes = [_Probe(v) for v in (0, 1, 7)]
    results = [int(rule(p)) for p in probes]
    read = probes[0].read
    if not read:
        return None, results[0], 0
    if len(set(read)) != 1:
        raise ValueError(f"length rule reads {read}: not one member")
    a, b = results[0], results[1] - results[0]
    if results[2] != a + 7 * b:
        raise ValueError("length rule is not linear in its member")
    return read[0], a, b


class _Structs:
    """Lua tables of struct layouts, one per spec."""

    def __init__(self, flds: _Fields) -> None:
        self.flds = flds
        self.ids: dict[int, int] = {}
        self.specs: list[tuple[StructSpec[Any], str]] = []
        self.tables: list[str] = []
        self.current = ("", "")
        self.short = ""
        self.names: dict[tuple[str, str], str] = {}
        """``(struct C name, member path) → filter name``, for :func:`leaves`."""

    def _field(self, path: str, label: str, ftype: str, enum_type: Any = None) -> _Field:
        """The field of ``path``; where the plain name is taken by a field of another
        type, the name qualified by the struct (``lttng.viewer.<struct>.status``)."""
        c_name, prefix = self.current
        qualified = f"{prefix}.{self.short}.{path[len(prefix) + 1 :]}"
        field = self.flds.get(path, label, ftype, enum_type, qualified)
        self.names[(c_name, _abbrev(path))] = field.abbrev
        return field

    def add(self, spec: StructSpec[Any], prefix: str) -> int:
        key = id(spec)
        if key in self.ids:
            return self.ids[key]
        index = len(self.specs) + 1
        self.ids[key] = index
        self.specs.append((spec, prefix))
        self.current = (spec.c_name, prefix)
        # Wire pieces that are no C struct have a sentence for a name: use the dataclass's.
        self.short = (
            spec.c_name
            if spec.c_name.isidentifier()
            else re.sub(r"(?<!^)(?=[A-Z])", "_", spec.dc_type.__name__).lower()
        )
        items = self._items(spec.grammar, prefix + ".", "", 0, spec.c_name)
        extra = ""
        flex = [f for f in fields(spec.grammar) if f.kind is Kind.FLEX]
        if flex:
            member, a, b = flex_rule(flex[0].con.length) if flex[0].con.length else (None, 0, 0)
            rest = flex[0].con.length is None
            if member is not None:
                at = _offset_of(spec.grammar, member)
                sub = next(f for f in fields(spec.grammar) if f.name == member)
                extra = (
                    f", flex={{o={at}, n={sub.size}, le={_lua_bool(not sub.big_endian)}, "
                    f"a={a}, b={b}}}"
                )
            elif rest:
                extra = ", flex={rest=true}"
            else:
                extra = f", flex={{a={a}, b=0}}"
        self.tables.append(
            f"S[{index}] = {{name={_lua_str(spec.c_name)}, size={spec.size}{extra}, "
            f"items={{\n{items}}}}}\n"
        )
        return index

    def _items(self, con: Any, prefix: str, vprefix: str, base: int, cname: str) -> str:
        out: list[str] = []
        offset = base
        for f in fields(con):
            out.append(self._item(f, prefix, vprefix, offset, con))
            offset += f.size
        return "".join(x for x in out if x)

    def _item(self, f: Node, prefix: str, vprefix: str, offset: int, parent: Any) -> str:
        if f.kind in (Kind.PAD, Kind.TAIL):
            return ""
        anonymous = f.name.startswith("_anon")
        path = prefix if anonymous else f"{prefix}{f.name}"
        vpath = vprefix if anonymous else f"{vprefix}{f.name}"
        label = f.name
        if f.kind is Kind.INT or f.kind is Kind.ENUM:
            ftype, signed = _int_ftype(f)
            enum_type = f.con.enum_type if f.kind is Kind.ENUM else None
            fld = self._field(path, label, ftype, enum_type)
            enum_arg = f", enum={fld.enum_var}" if fld.enum_var else ""
            return (
                f"{{t='int', f={fld.var}, o={offset}, n={f.size}, "
                f"le={_lua_bool(not f.big_endian)}, "
                f"s={_lua_bool(signed)}, v={_lua_str(vpath)}{enum_arg}}},\n"
            )
        if f.kind is Kind.CHARS:
            fld = self._field(path, label, "string")
            return f"{{t='str', f={fld.var}, o={offset}, n={f.size}}},\n"
        if f.kind is Kind.BYTES or f.kind is Kind.OTHER:
            fld = self._field(path, label, "bytes")
            return f"{{t='bytes', f={fld.var}, o={offset}, n={f.size}}},\n"
        if f.kind is Kind.FLEX:
            fld = self._field(path, label, "bytes")
            return f"{{t='flex', f={fld.var}, o={offset}}},\n"
        if f.kind is Kind.STRUCT:
            inner_prefix = path if anonymous else path + "."
            inner_v = vpath if anonymous else vpath + "."
            items = self._items(f.con, inner_prefix, inner_v, offset, "")
            return (
                f"{{t='struct', label={_lua_str(label)}, o={offset}, n={f.size}, items={{\n"
                f"{items}}}}},\n"
            )
        if f.kind is Kind.ARRAY:
            elem = node(f.con.subcon, f.name)
            esz = elem.size
            inner = self._item(elem, prefix, vprefix, 0, parent).rstrip(",\n")
            return (
                f"{{t='array', label={_lua_str(label)}, o={offset}, count={f.length}, "
                f"esz={esz}, elem={inner}}},\n"
            )
        if f.kind is Kind.UNION:
            union = f.con
            arms: list[str] = []
            arm_index: dict[str, int] = {}
            for i, (member, member_con) in enumerate(union.members.items(), start=1):
                arm_index[member] = i
                arm_node = node(member_con, member)
                arm_prefix = f"{path}."
                if arm_node.kind is Kind.STRUCT:
                    items = self._items(
                        member_con, f"{arm_prefix}{member}.", f"{vpath}.", offset, ""
                    )
                else:
                    items = self._item(arm_node, arm_prefix, f"{vpath}.", offset, parent)
                arms.append(f"[{i}]={{label={_lua_str(member)}, items={{\n{items}}}}},\n")
            cases = ", ".join(
                f"[{int(k)}]={arm_index[m]}" for k, m in sorted(union.cases.items(), key=_key)
            )
            default = arm_index[union.default] if union.default is not None else "nil"
            key = _lua_str(vprefix + union.key) if union.key else "nil"
            raw = self._field(path, label, "bytes")
            return (
                f"{{t='union', label={_lua_str(label)}, o={offset}, n={f.size}, key={key}, "
                f"cases={{{cases}}}, default={default}, raw={raw.var}, arms={{\n"
                + "".join(arms)
                + "}},\n"
            )
        raise ValueError(f"{path}: no Wireshark rendering for {f.kind}")


def _key(item: tuple[Any, str]) -> int:
    return int(item[0])


def _lua_bool(value: bool) -> str:
    return "true" if value else "false"


def _offset_of(con: Any, member: str) -> int:
    offset = 0
    for f in fields(con):
        if f.name == member:
            return offset
        offset += f.size
    raise ValueError(f"no member {member}")


# --------------------------------------------------------------- steps


def _cond(cond: Condition) -> str:
    if isinstance(cond, Always):
        return "nil"
    if isinstance(cond, FieldIs):
        return (
            f"{{step={_lua_str(cond.step)}, path={_lua_str(cond.path)}, "
            f"eq={int(cond.expected)}, neg={_lua_bool(cond.negate)}}}"
        )
    if isinstance(cond, AllOf):
        return "{all={" + ", ".join(_cond(p) for p in cond.parts) + "}}"
    raise ValueError(f"no Lua rendering of condition {cond!r}")


def _probe_choose(step: Message, abi: Abi, structs: _Structs) -> str:
    """``choose`` picks a spec from the message's first bytes: probed with the
    ``cmd_type`` values that can appear there (the head's first u32)."""
    assert step.choose is not None
    candidates = {int(v) for v in consumer.LttngConsumerCommand} | {int(v) for v in LttngErrorCode}
    picks: dict[int, StructSpec[Any]] = {}
    for value in sorted(candidates | set(range(64))):
        head = value.to_bytes(4, "little") + bytes(step.head - 4)
        picks[value] = step.choose(abi, head)
    common = Counter(id(s) for s in picks.values()).most_common(1)[0][0]
    default = next(s for s in picks.values() if id(s) == common)
    cases = ", ".join(
        f"[{v}]={structs.add(s, CONSUMER_PREFIX)}" for v, s in picks.items() if id(s) != common
    )
    return f"{{default={structs.add(default, CONSUMER_PREFIX)}, cases={{{cases}}}}}"


def _step(step: Step, structs: _Structs) -> str:
    direction = 0 if step.direction is Direction.TO_CONSUMERD else 1
    common = f"name={_lua_str(step.name)}, dir={direction}, when={_cond(step.when)}"
    if isinstance(step, Message):
        if step.choose is not None:
            per_abi = ", ".join(
                f"[{ABI_IDS[abi]}]={_probe_choose(step, abi, structs)}" for abi in ALL_ABIS
            )
            return f"{{k='msg', {common}, head={step.head}, choose={{{per_abi}}}}}"
        per_abi = ", ".join(
            f"[{ABI_IDS[abi]}]={structs.add(step.specs[abi], CONSUMER_PREFIX)}" for abi in ALL_ABIS
        )
        return f"{{k='msg', {common}, specs={{{per_abi}}}}}"
    if isinstance(step, Payload):
        return (
            f"{{k='payload', {common}, lstep={_lua_str(step.length_step)}, "
            f"lpath={_lua_str(step.length_path)}}}"
        )
    if isinstance(step, FdTransfer):
        return f"{{k='fd', {common}, count={step.count}}}"
    if isinstance(step, StreamList):
        assert step.end is not None
        inner = ", ".join(_step(s, structs) for s in step.stream)
        return (
            f"{{k='list', {common}, stream={{{inner}}}, last={_step(step.end, structs)}, "
            f"marker={_lua_str(step.marker.hex())}}}"
        )
    raise ValueError(f"no Lua rendering of step {step!r}")


def _steps(steps: Sequence[Step], structs: _Structs) -> str:
    return "{" + ", ".join(_step(s, structs) for s in steps) + "}"


def _conversation(structs: _Structs) -> str:
    out = ["-- The conversation table (ustref.protocol.conversation.rules).\n"]
    out.append("INIT = {\n")
    for socket, step in rules.INITIATORS.items():
        out.append(f"  [{SOCKET_IDS[socket]}] = {_step(step, structs)},\n")
    out.append("}\nFOLLOW_METADATA = " + _steps(rules.METADATA_EXCHANGE, structs) + "\n")
    out.append("FOLLOW_COMMAND = {\n")
    for abi in ALL_ABIS:
        out.append(f"  [{ABI_IDS[abi]}] = {{\n")
        for command in rules.REPLY_AFTER[abi]:
            steps = rules.command_steps(abi, command)
            out.append(f"    [{int(command)}] = {_steps(steps, structs)}, -- {command.name}\n")
        out.append("  },\n")
    out.append("}\n")
    labels = {SOCKET_IDS[s]: "" for s in Socket}
    labels[SOCKET_IDS[Socket.METADATA]] = "metadata request"
    labels[SOCKET_IDS[Socket.ERROR]] = "error code"
    labels[SOCKET_IDS[Socket.CHANNEL_MONITOR]] = "channel monitor sample"
    out.append(
        "EXCHANGE_LABEL = {" + ", ".join(f"[{k}]={_lua_str(v)}" for k, v in labels.items()) + "}\n"
    )
    names = ", ".join(f"[{i}]={_lua_str(s.value)}" for s, i in SOCKET_IDS.items())
    abis = ", ".join(f"[{i}]={_lua_str(a.value)}" for a, i in ABI_IDS.items())
    out.append(f"SOCKET_NAMES = {{{names}}}\nABI_NAMES = {{{abis}}}\n")
    return "".join(out)


# --------------------------------------------------------------- relayd / viewer


_CMD_NAME = re.compile(r"cmd = (\w+)")
_STRUCT_NAME = re.compile(r"`(\w+)`")


def _exchanges(
    sequences: Sequence[peers.Sequence], header: StructSpec[Any], structs: _Structs, prefix: str
) -> str:
    """``{[cmd] = {payload = S index, reply = S index}}`` from the peer sequence tables
    (:mod:`ustref.specgen.peers`): a command's payload struct is the first struct its
    arrow names after the header; its reply, the struct that opens the next arrow back."""
    known = schema(ALL_ABIS[0]).structs
    enum_type = next(f.con.enum_type for f in fields(header.grammar) if f.name == "cmd")
    table: dict[int, tuple[int | None, int | None]] = {}
    for sequence in sequences:
        arrows = sequence.arrows
        for i, (sender, receiver, text) in enumerate(arrows):
            match = _CMD_NAME.search(text)
            if match is None or match.group(1) not in enum_type.__members__:
                continue
            cmd = int(enum_type[match.group(1)])
            names = [n for n in _STRUCT_NAME.findall(text) if n in known]
            payload = next((n for n in names if n != header.c_name), None)
            reply = None
            if i + 1 < len(arrows) and arrows[i + 1][:2] == (receiver, sender):
                opening = _STRUCT_NAME.match(arrows[i + 1][2])
                if opening is not None and opening.group(1) in known:
                    reply = opening.group(1)
            if cmd not in table:
                table[cmd] = (
                    structs.add(known[payload], prefix) if payload else None,
                    structs.add(known[reply], prefix) if reply else None,
                )
    rows = ", ".join(
        f"[{cmd}]={{payload={p or 'nil'}, reply={r or 'nil'}}}"
        for cmd, (p, r) in sorted(table.items())
    )
    return "{" + rows + "}"


def _peer_tables(structs: _Structs) -> str:
    out = []
    hdr = structs.add(relayd.HDR, RELAYD_PREFIX)
    data_hdr = structs.add(relayd.DATA_HDR, RELAYD_PREFIX)
    out.append(f"RELAYD_HDR = {hdr}\nRELAYD_DATA_HDR = {data_hdr}\n")
    out.append(f"RELAYD_PORTS = {{{', '.join(str(p) for p in RELAYD_PORTS)}}}\n")
    out.append(f"VIEWER_HDR = {structs.add(viewer.CMD, VIEWER_PREFIX)}\n")
    out.append(f"VIEWER_PORT = {VIEWER_PORT}\n")
    relayd_cmds = _exchanges(peers.RELAYD_SEQUENCES, relayd.HDR, structs, RELAYD_PREFIX)
    viewer_cmds = _exchanges(peers.VIEWER_SEQUENCES, viewer.CMD, structs, VIEWER_PREFIX)
    out.append(f"RELAYD_CMDS = {relayd_cmds}\nVIEWER_CMDS = {viewer_cmds}\n")
    # Every other struct of those protocols gets its fields, for filters and payloads.
    for abi in ALL_ABIS:
        for spec in schema(abi).structs.values():
            if spec.protocol.value == "sessiond-consumerd":
                structs.add(spec, CONSUMER_PREFIX)
            elif spec.protocol.value == "consumerd-relayd":
                structs.add(spec, RELAYD_PREFIX)
            elif spec.protocol.value == "live-viewer":
                structs.add(spec, VIEWER_PREFIX)
    return "".join(out)


# --------------------------------------------------------------- the file


def render_lua() -> str:
    """The whole plugin."""
    return _generated()[0]


@functools.cache
def _generated() -> tuple[str, dict[tuple[str, str], str]]:
    """The plugin's text and its filter names by (struct, member path)."""
    flds = _Fields()
    structs = _Structs(flds)
    conversation = _conversation(structs)
    peers = _peer_tables(structs)
    out = [
        "-- Generated by `ustref spec wireshark`: do not edit; regenerate instead.\n",
        "-- Wireshark 4.0 Lua dissector for LTTng's consumer, relay daemon and live\n",
        "-- viewer protocols, from ustref's grammars. Load with\n",
        "--   wireshark -X lua_script:ustref.lua CAPTURE.pcapng\n",
        "-- (a pcapng from `ustref capture export CAPTURE --pcapng OUT`).\n\n",
        f"local PSEUDO_HEADER_SIZE = {PSEUDO_HEADER_SIZE}\n",
        f"local PSEUDO_MAGIC = {_lua_str(PSEUDO_MAGIC.decode())}\n",
        "local S, F, E = {}, {}, {}\n",
        "local INIT, FOLLOW_METADATA, FOLLOW_COMMAND, EXCHANGE_LABEL, SOCKET_NAMES, ABI_NAMES\n",
        "local RELAYD_HDR, RELAYD_DATA_HDR, RELAYD_PORTS, VIEWER_HDR, VIEWER_PORT\n",
        "local RELAYD_CMDS, VIEWER_CMDS\n",
    ]
    for var, enum_type in sorted(flds.enums.items()):
        members = ", ".join(f"[{int(v)}]={_lua_str(v.name)}" for v in enum_type)
        out.append(f"{var} = {{{members}}}\n")
    out.append("\n")
    for field in flds.by_abbrev.values():
        if field.ftype == "string":
            ctor = f"ProtoField.string({_lua_str(field.abbrev)}, {_lua_str(field.label)})"
        elif field.ftype == "bytes":
            ctor = f"ProtoField.bytes({_lua_str(field.abbrev)}, {_lua_str(field.label)})"
        else:
            vals = f", {field.enum_var}" if field.enum_var and "64" not in field.ftype else ""
            ctor = (
                f"ProtoField.{field.ftype}({_lua_str(field.abbrev)}, {_lua_str(field.label)}, "
                f"base.DEC{vals})"
            )
        out.append(f"{field.var} = {ctor}\n")
    out.append("\n")
    out += structs.tables
    out.append("\n")
    out.append(conversation)
    out.append(peers)
    out.append("\n")
    out.append(resources.files("ustref.specgen").joinpath(RUNTIME).read_text(encoding="utf-8"))
    return "".join(out), structs.names


# --------------------------------------------------------------- the leaves


def leaves(spec: StructSpec[Any], value: Any, prefix: str) -> Iterator[tuple[str, str, bool]]:
    """``(filter name, value, is bytes)`` of every leaf field of a decoded message, as the
    plugin adds them (the tshark equality test compares the two): integers in decimal,
    byte arrays and ``char[N]`` fields as the hex of their bytes."""
    names = _generated()[1]
    for path, shown, is_bytes in _leaves(spec.grammar, value, prefix + "."):
        yield names.get((spec.c_name, path), path), shown, is_bytes


def _leaves(con: Any, value: Any, prefix: str) -> Iterator[tuple[str, str, bool]]:
    for f in fields(con):
        if f.kind in (Kind.PAD, Kind.TAIL):
            continue
        anonymous = f.name.startswith("_anon")
        path = prefix if anonymous else f"{prefix}{f.name}"
        member = getattr(value, f.name)
        yield from _leaf(f, member, path, value, anonymous)


def _leaf(
    f: Node, member: Any, path: str, parent: Any, anonymous: bool
) -> Iterator[tuple[str, str, bool]]:
    if f.kind in (Kind.INT, Kind.ENUM):
        yield _abbrev(path), str(int(member)), False
    elif f.kind is Kind.CHARS:
        # Compared by its bytes: tshark shows non-ASCII text its own way.
        text = member if isinstance(member, CStr) else CStr(member)
        yield _abbrev(path), (text.encode_field(f.length) or b"").hex(), True
    elif f.kind in (Kind.BYTES, Kind.FLEX, Kind.OTHER):
        yield _abbrev(path), bytes(member).hex(), True
    elif f.kind is Kind.STRUCT:
        yield from _leaves(f.con, member, path if anonymous else path + ".")
    elif f.kind is Kind.ARRAY:
        elem = node(f.con.subcon, f.name)
        for item in member:
            yield from _leaf(elem, item, path, parent, anonymous)
    elif f.kind is Kind.UNION:
        arm = f.con.member_for_key(getattr(parent, f.con.key)) if f.con.key else f.con.default
        if arm is None:
            yield _abbrev(path), bytes(member).hex(), True
            return
        arm_node = node(f.con.members[arm], arm)
        if arm_node.kind is Kind.STRUCT:
            yield from _leaves(arm_node.con, member, f"{path}.{arm}.")
        else:
            yield from _leaf(arm_node, member, f"{path}.{arm}", parent, False)


def write_plugin(out: Path, *, check: bool = False) -> int:
    """Write ``out/ustref.lua``; with ``check``, exit status 1 when it is stale instead."""
    text = render_lua()
    target = out / PLUGIN_NAME
    if check:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != text:
            print(f"{target} is stale: run ustref spec wireshark --out {out}", file=sys.stderr)
            return 1
        return 0
    out.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(target)
    return 0
