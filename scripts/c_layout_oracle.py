#!/usr/bin/env python3
"""Regenerate the C-layout facts the grammar tests compare against, from compiled C.

    python scripts/c_layout_oracle.py            # rewrite every facts file
    python scripts/c_layout_oracle.py --check    # exit 1 if a facts file would change

For each profile the program writes a translation unit that only ``#include``\\ s
the real headers, compiles it with ``gcc -g -fno-eliminate-unused-debug-types``
(``g++`` for the C++ revision 97535efaa) under ``build/c-layout-oracle/``, and
reads the layout back from the DWARF debug information (pyelftools: ``pip install
pyelftools``, the ``oracle`` extra): for every struct in scope its size and
alignment, and for every member (nested members by dotted path, anonymous
structs/unions reached through their members, arrays whole) its offset, size,
bit-field position and **type** — base type with its DWARF encoding
(signed/unsigned/boolean/char…), enum (and its underlying signedness), array
element type and count, struct/union, pointer — and the byte order the
protocol puts it on the wire (relayd.h, lttng-viewer-abi.h and ctf-index.h
structs travel big-endian: their senders convert every integer with
``htobe*``; so do agent.h's and the ``sockaddr_in`` ports and addresses).
Every enum declared in the in-scope headers, and every integer ``#define`` of
those headers (``LTTNG_UST_ABI_*`` command numbers and sizes,
``RELAYD_VERSION_COMM_*``…: evaluated by compiling and running a tiny program,
since DWARF does not keep macros) complete each document.

Inputs (none is copied into the repository):

* v2.13.9: Debian's lttng-tools 2.13.9 source package, fetched by
  ``scripts/fetch-lttng-source.sh`` (run as root the first time), plus the
  installed lttng-ust 2.13.5 headers (``/usr/include/lttng``).
* 97535efaa: a checkout of lttng-tools at that commit (``--seed-tree``, default
  ``$USTREF_SEED_TREE`` or ``build/upstream/src/lttng-tools-97535efaa``), built as
  C++. It has no Debian source package: bring it yourself (``git worktree`` or
  ``git archive`` of the lttng-tools repository); its facts stay committed.
* the ring buffer: the lttng-ust 2.13.5 source tree (``--ust-tree``, default
  ``$USTREF_UST_TREE`` or ``build/upstream/src/ust-2.13.5``, Debian's ``ust``
  source package as ``scripts/fetch-lttng-source.sh build/upstream/src
  liblttng-ust-dev`` unpacks it), whose private ring-buffer headers are not
  installed.

Default paths are relative to the repository: no machine path is assumed.

``config.h`` is a stub: only ``VERSION_MAJOR``/``VERSION_MINOR`` (read from the
tree's ``configure.ac``, they give ``RELAYD_VERSION_COMM_*``) and the lttng-ust
cache-line size (Debian's liburcu 0.13: ``CAA_CACHE_LINE_SIZE`` = 128).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "c-layout-oracle"

#: Headers of each protocol translation unit (relative to the lttng-tools tree's src/).
PROTOCOL_HEADERS = (
    "common/sessiond-comm/sessiond-comm.h",
    "common/sessiond-comm/relayd.h",
    "common/sessiond-comm/agent.h",
    "common/consumer/consumer.h",
    "common/index/ctf-index.h",
    "bin/lttng-relayd/lttng-viewer-abi.h",
    "<lttng/ust-ctl.h>",
    "<lttng/ust-abi.h>",
)

#: Structs whose integers travel big-endian, by the header that declares them:
#: the relayd and live-viewer protocols and the CTF index (``htobe*``/``be*toh``
#: on every field), the Java/Python agent protocol (network order), and the
#: sockaddr_in/in6_addr of netinet/in.h (ports and addresses in network order).
BIG_ENDIAN_HEADERS = ("relayd.h", "lttng-viewer-abi.h", "ctf-index.h", "agent.h")
#: In netinet/in.h only these members are in network order (families and scope
#: ids are host order).
NETWORK_ORDER_MEMBERS = {
    "in.h": {"sin_port", "s_addr", "sin6_port", "sin6_flowinfo", "__u6_addr16", "__u6_addr32"}
}


def wire_order(parent: Die, member: str | None) -> str:
    """The byte order member ``member`` of struct/union ``parent`` has on the wire."""
    header = Path(parent.decl_file).name
    if header in BIG_ENDIAN_HEADERS or member in NETWORK_ORDER_MEMBERS.get(header, ()):
        return "big"
    return "little"


#: The wire structs of the protocol documents; every struct they embed (by value,
#: not through a pointer) is added.
PROTOCOL_ROOTS = re.compile(
    r"^(lttcomm_|lttng_viewer_|lttng_ust_abi_|ctf_packet_index$|lttng_ust_ctl_consumer_channel_attr$"
    r"|process_attr_integral_value_comm$|lttng_event_exclusion$|lttng_bytecode$"
    r"|lttng_(session|domain|channel|channel_attr|channel_extended|event|event_context"
    r"|event_perf_counter_ctx|event_probe_attr|event_function_attr|calibrate|snapshot_output"
    r"|save_session_attr|uri)$)"
)

#: Headers (by path fragment) whose enums and defines are in scope.
PROTOCOL_SCOPE = (
    "/src/common/",
    "/src/bin/lttng-relayd/",
    "/include/lttng/",
    "/lttng/ust-abi.h",
    "/lttng/ust-ctl.h",
)

#: The ring-buffer translation unit (relative to the lttng-ust tree): the private
#: ring-buffer headers, the crash ABI of the frontend and the two clients' headers.
RING_SOURCES = (
    "src/common/ringbuffer/frontend_types.h",
    "src/common/ringbuffer/backend_types.h",
    "src/common/ringbuffer/shm_types.h",
    "src/common/ringbuffer/ringbuffer-config.h",
    "src/common/ringbuffer/backend_internal.h",
    "src/common/ringbuffer/frontend_internal.h",
    "src/common/ringbuffer/ring_buffer_frontend.c",
)
#: The clients (packet headers, client contexts) are their own units: each .c
#: instantiates the same template with different parameters.
RING_CLIENTS = (
    "src/common/ringbuffer-clients/discard.c",
    "src/common/ringbuffer-clients/metadata.c",
)
#: The ring-buffer structs of the shared memory, the crash ABI and the packet
#: headers; every struct or union they embed is added.
RING_ROOTS = re.compile(
    r"^(lttng_ust_ring_buffer(_\w+)?|channel_backend|commit_counters_(hot|cold)|lttng_crash_abi"
    r"|shm_object(_table)?|shm_ref|lttng_ust_shm_handle|lttng_client_ctx"
    r"|(metadata_)?packet_header|metadata_record_header|lttng_ust_abi_channel_config"
    r"|lttng_ust_client_lib_ring_buffer_client_cb)$"
)
RING_SCOPE = ("/src/common/", "/src/lib/lttng-ust/", "/include/lttng/")


# ----------------------------------------------------------------------------- DWARF


@dataclass
class Die:
    """The parts of one DWARF entry the oracle needs."""

    tag: str
    name: str | None
    attrs: dict[str, Any]
    children: list[Die] = field(default_factory=list)
    offset: int = 0
    decl_file: str = ""
    cu_offset: int = 0


def load_dies(obj: Path, base: int = 0) -> tuple[list[Die], dict[int, Die]]:
    """Top-level DIEs of every compilation unit of ``obj`` and an offset index
    (offsets shifted by ``base``, so that several objects share one index)."""
    from elftools.elf.elffile import ELFFile

    _accept_tls_relocations()
    index: dict[int, Die] = {}
    top: list[Die] = []
    with open(obj, "rb") as handle:
        dwarf = ELFFile(handle).get_dwarf_info()
        for cu in dwarf.iter_CUs():
            files = _file_names(dwarf, cu)
            cu_offset = base + cu.cu_offset
            for child in cu.get_top_DIE().iter_children():
                top.append(_convert(child, files, base, cu_offset, index))
    return top, index


def _convert(
    raw: Any, files: dict[int, str], base: int, cu_offset: int, index: dict[int, Die]
) -> Die:
    attrs = dict(raw.attributes.items())
    name_attr = attrs.get("DW_AT_name")
    name = name_attr.value.decode() if name_attr is not None else None
    die = Die(raw.tag, name, attrs, offset=base + raw.offset, cu_offset=cu_offset)
    decl = attrs.get("DW_AT_decl_file")
    if decl is not None:
        die.decl_file = files.get(decl.value, "")
    index[die.offset] = die
    die.children = [_convert(c, files, base, cu_offset, index) for c in raw.iter_children()]
    return die


def _accept_tls_relocations() -> None:
    """pyelftools applies no R_X86_64_DTPOFF{32,64} (the debug location of a
    ``__thread`` variable in a .o); the oracle reads types, not those locations,
    so any value will do: treat them as symbol + addend."""
    from elftools.elf.enums import ENUM_RELOC_TYPE_x64
    from elftools.elf.relocation import RelocationHandler, _reloc_calc_sym_plus_addend

    recipes = dict(RelocationHandler._RELOCATION_RECIPES_X64)
    for name, size in (("R_X86_64_DTPOFF32", 4), ("R_X86_64_DTPOFF64", 8)):
        recipes.setdefault(
            ENUM_RELOC_TYPE_x64[name],
            RelocationHandler._RELOCATION_RECIPE_TYPE(
                bytesize=size, has_addend=True, calc_func=_reloc_calc_sym_plus_addend
            ),
        )
    RelocationHandler._RELOCATION_RECIPES_X64 = recipes


def _file_names(dwarf: Any, cu: Any) -> dict[int, str]:
    program = dwarf.line_program_for_CU(cu)
    if program is None:
        return {}
    header = program.header
    dirs = [d.decode() if isinstance(d, bytes) else str(d) for d in header["include_directory"]]
    names: dict[int, str] = {}
    version = header["version"]
    for i, entry in enumerate(header["file_entry"]):
        name = entry.name.decode()
        dir_index = entry.dir_index
        if version < 5:
            directory = dirs[dir_index - 1] if dir_index > 0 else ""
            number = i + 1
        else:
            directory = dirs[dir_index] if dir_index < len(dirs) else ""
            number = i
        names[number] = name if name.startswith("/") else f"{directory}/{name}"
    return names


def _ref(die: Die, index: dict[int, Die]) -> Die | None:
    attr = die.attrs.get("DW_AT_type")
    if attr is None:
        return None
    relative = attr.form != "DW_FORM_ref_addr"
    return index.get(attr.value + (die.cu_offset if relative else 0))


ENCODINGS = {
    0x02: "boolean",
    0x04: "float",
    0x05: "signed",
    0x06: "signed_char",
    0x07: "unsigned",
    0x08: "unsigned_char",
    0x10: "UTF",
}


class TypeReader:
    """Resolves member types into JSON descriptors."""

    def __init__(self, index: dict[int, Die]) -> None:
        self.index = index

    def strip(self, die: Die | None) -> tuple[Die | None, str | None]:
        """Through typedefs and qualifiers; also the first spelled name."""
        spelled = None
        while die is not None and die.tag in (
            "DW_TAG_typedef",
            "DW_TAG_const_type",
            "DW_TAG_volatile_type",
            "DW_TAG_atomic_type",
            "DW_TAG_restrict_type",
        ):
            if die.tag == "DW_TAG_typedef" and spelled is None:
                spelled = die.name
            die = _ref(die, self.index)
        if die is not None and spelled is None:
            spelled = die.name
        return die, spelled

    def size(self, die: Die | None) -> int:
        die, _ = self.strip(die)
        if die is None:
            return 0
        if "DW_AT_byte_size" in die.attrs:
            return int(die.attrs["DW_AT_byte_size"].value)
        if die.tag == "DW_TAG_array_type":
            count = self.count(die)
            return (count or 0) * self.size(_ref(die, self.index))
        if die.tag == "DW_TAG_pointer_type":
            return 8
        return 0

    def count(self, array: Die) -> int | None:
        total = 1
        seen = False
        for sub in array.children:
            if sub.tag != "DW_TAG_subrange_type":
                continue
            seen = True
            if "DW_AT_count" in sub.attrs:
                total *= int(sub.attrs["DW_AT_count"].value)
            elif "DW_AT_upper_bound" in sub.attrs:
                upper = int(sub.attrs["DW_AT_upper_bound"].value)
                if upper in (-1, (1 << 64) - 1, (1 << 32) - 1):  # g++: data[] has bound -1
                    return None
                total *= upper + 1
            else:
                return None  # flexible array member
        return total if seen else None

    def describe(self, type_die: Die | None, byte_order: str) -> dict[str, Any]:
        die, spelled = self.strip(type_die)
        if die is None:
            return {"kind": "void"}
        if die.tag == "DW_TAG_base_type":
            encoding = ENCODINGS.get(int(die.attrs["DW_AT_encoding"].value), "other")
            out: dict[str, Any] = {
                "kind": "base",
                "c_type": spelled,
                "encoding": encoding,
                "size": self.size(die),
            }
            if self.size(die) > 1:
                out["byte_order"] = byte_order
            return out
        if die.tag == "DW_TAG_enumeration_type":
            underlying, _ = self.strip(_ref(die, self.index))
            signed = underlying is not None and ENCODINGS.get(
                int(underlying.attrs["DW_AT_encoding"].value), ""
            ) in ("signed", "signed_char")
            return {
                "kind": "enum",
                "enum": enum_name(die),
                "encoding": "signed" if signed else "unsigned",
                "size": self.size(die),
                "byte_order": byte_order,
            }
        if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type"):
            kind = "union" if die.tag == "DW_TAG_union_type" else "struct"
            return {"kind": kind, kind: die.name}
        if die.tag == "DW_TAG_array_type":
            return {
                "kind": "array",
                "count": self.count(die),
                "element": self.describe(_ref(die, self.index), byte_order),
            }
        if die.tag == "DW_TAG_pointer_type":
            return {"kind": "pointer", "size": 8}
        return {"kind": die.tag.removeprefix("DW_TAG_")}


def enum_name(die: Die) -> str:
    """The enum's tag, or ``anon@<header>:<first enumerator>``."""
    if die.name:
        return die.name
    first = next((c.name for c in die.children if c.tag == "DW_TAG_enumerator"), "?")
    return f"anon@{Path(die.decl_file).name}:{first}"


def enum_values(die: Die, types: TypeReader) -> dict[str, int]:
    underlying, _ = types.strip(_ref(die, types.index))
    signed = underlying is not None and ENCODINGS.get(
        int(underlying.attrs["DW_AT_encoding"].value), ""
    ) in ("signed", "signed_char")
    size = types.size(die) or 4
    out = {}
    for child in die.children:
        if child.tag != "DW_TAG_enumerator":
            continue
        attr = child.attrs["DW_AT_const_value"]
        value = int(attr.value)
        if attr.form != "DW_FORM_sdata":
            # data1..data8 carry no sign: read them at the enum's own width
            value &= (1 << (8 * size)) - 1
            if signed and value >= 1 << (8 * size - 1):
                value -= 1 << (8 * size)
        assert child.name is not None
        out[child.name] = value
    return out


def member_offset(member: Die) -> tuple[int, int | None, int | None]:
    """(byte offset, bit offset, bit size) of a member within its parent."""
    bit_size = member.attrs.get("DW_AT_bit_size")
    if bit_size is not None:
        if "DW_AT_data_bit_offset" in member.attrs:
            bits = int(member.attrs["DW_AT_data_bit_offset"].value)
        else:  # DWARF 4 style: byte location + bit offset from the MSB of the storage unit
            storage = int(member.attrs["DW_AT_byte_size"].value)
            where = member.attrs.get("DW_AT_data_member_location")
            start = int(where.value) if where is not None else 0
            from_msb = int(member.attrs["DW_AT_bit_offset"].value)
            bits = start * 8 + storage * 8 - from_msb - int(bit_size.value)
        return bits // 8, bits, int(bit_size.value)
    where = member.attrs.get("DW_AT_data_member_location")
    return (int(where.value) if where is not None else 0), None, None


def struct_doc(die: Die, types: TypeReader, *, with_align: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"size": types.size(die)}
    if with_align:
        doc["align"] = alignment(die, types)
    doc["byte_order"] = wire_order(die, None)
    doc["fields"] = list(members(die, types, "", 0))
    return doc


def members(die: Die, types: TypeReader, prefix: str, base: int) -> Iterator[Any]:
    for member in die.children:
        if member.tag != "DW_TAG_member":
            continue
        if "DW_AT_external" in member.attrs or "DW_AT_declaration" in member.attrs:
            continue  # a C++ static member
        offset, bit_offset, bit_size = member_offset(member)
        type_die = _ref(member, types.index)
        resolved, _ = types.strip(type_die)
        is_record = resolved is not None and resolved.tag in (
            "DW_TAG_structure_type",
            "DW_TAG_union_type",
            "DW_TAG_class_type",
        )
        if member.name is None:  # anonymous struct/union: its members belong to us
            if resolved is not None:
                yield from members(resolved, types, prefix, base + offset)
            continue
        name = f"{prefix}{member.name}"
        entry: dict[str, Any] = {"name": name, "offset": base + offset}
        if bit_size is not None and bit_offset is not None:
            entry["size"] = (bit_offset % 8 + bit_size + 7) // 8
            entry["bit_offset"] = (base * 8) + bit_offset
            entry["bit_size"] = bit_size
        else:
            entry["size"] = types.size(type_die)
        entry["type"] = types.describe(type_die, wire_order(die, member.name))
        yield entry
        if is_record and resolved is not None:
            yield from members(resolved, types, f"{name}.", base + offset)


def alignment(die: Die | None, types: TypeReader) -> int:
    die, _ = types.strip(die)
    if die is None:
        return 1
    if "DW_AT_alignment" in die.attrs:
        return int(die.attrs["DW_AT_alignment"].value)
    if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type"):
        best = 1
        for member in die.children:
            if member.tag != "DW_TAG_member" or "DW_AT_external" in member.attrs:
                continue
            if "DW_AT_alignment" in member.attrs:
                best = max(best, int(member.attrs["DW_AT_alignment"].value))
            best = max(best, alignment(_ref(member, types.index), types))
        if _packed(die, types):
            return 1 if "DW_AT_alignment" not in die.attrs else best
        return best
    if die.tag == "DW_TAG_array_type":
        return alignment(_ref(die, types.index), types)
    return max(1, types.size(die))


def _packed(die: Die, types: TypeReader) -> bool:
    """gcc records no packed attribute: a member off its natural alignment shows it."""
    for member in die.children:
        if member.tag != "DW_TAG_member" or "DW_AT_bit_size" in member.attrs:
            continue
        offset, _, _ = member_offset(member)
        if offset % alignment(_ref(member, types.index), types):
            return True
    natural = 1
    for member in die.children:
        if member.tag == "DW_TAG_member" and "DW_AT_external" not in member.attrs:
            natural = max(natural, alignment(_ref(member, types.index), types))
    return types.size(die) % natural != 0


# ----------------------------------------------------------------------------- profiles


@dataclass(frozen=True)
class Profile:
    """One facts document: how to compile it and what is in scope."""

    out: Path
    language: str  # "c" or "c++"
    includes: tuple[Path, ...]
    sources: tuple[str, ...]  # #include lines (paths or <system> headers)
    config: str
    scope: tuple[str, ...]
    roots: re.Pattern[str]
    with_align: bool = False
    extra_cflags: tuple[str, ...] = ()
    #: further translation units (sources compiled apart; the first definition wins)
    more_units: tuple[tuple[str, ...], ...] = ()


def configure_version(tree: Path) -> tuple[int, int]:
    text = (tree / "configure.ac").read_text()
    found = re.search(r"AC_INIT\(\[[^\]]+\],\s*\[(\d+)\.(\d+)", text)
    if found is None:
        raise SystemExit(f"c_layout_oracle: no AC_INIT version in {tree / 'configure.ac'}")
    return int(found.group(1)), int(found.group(2))


def tools_profile(tree: Path, out: Path, language: str) -> Profile:
    major, minor = configure_version(tree)
    config = (
        "#define _GNU_SOURCE 1\n#define HAVE_LIBLTTNG_UST_CTL 1\n"
        f"#define VERSION_MAJOR {major}\n#define VERSION_MINOR {minor}\n"
    )
    sources = tuple(h if h.startswith("<") else str(tree / "src" / h) for h in PROTOCOL_HEADERS)
    return Profile(
        out=out,
        language=language,
        includes=(tree / "include", tree / "src", tree),
        sources=sources,
        config=config,
        scope=PROTOCOL_SCOPE,
        roots=PROTOCOL_ROOTS,
    )


def ring_profile(tree: Path, out: Path) -> Profile:
    config = (
        "#define _GNU_SOURCE 1\n#define HAVE_SCHED_GETCPU 1\n#define HAVE_SYSCONF 1\n"
        "#define LTTNG_UST_HAVE_SDT_INTEGRATION 0\n"
    )
    return Profile(
        out=out,
        language="c",
        includes=(tree / "include", tree / "src", tree),
        sources=tuple(str(tree / s) for s in RING_SOURCES),
        config=config,
        scope=RING_SCOPE,
        roots=RING_ROOTS,
        more_units=tuple((str(tree / c),) for c in RING_CLIENTS),
        with_align=True,
    )


def compile_unit(
    profile: Profile, work: Path, sources: tuple[str, ...], stem: str = "unit"
) -> tuple[Path, Path]:
    """Write and compile one translation unit; return (object, unit source)."""
    work.mkdir(parents=True, exist_ok=True)
    suffix = ".cpp" if profile.language == "c++" else ".c"
    config = work / "config.h"
    config.write_text(profile.config)
    unit = work / f"{stem}{suffix}"
    unit.write_text("".join(f"#include {_spell(s)}\n" for s in sources))
    obj = work / f"{stem}.o"
    compiler = "g++" if profile.language == "c++" else "gcc"
    _run(
        [
            compiler,
            "-g",
            "-O0",
            "-fno-eliminate-unused-debug-types",
            "-w",
            "-include",
            str(config),
            *(f"-I{p}" for p in profile.includes),
            *profile.extra_cflags,
            "-c",
            "-o",
            str(obj),
            str(unit),
        ]
    )
    return obj, unit


def _spell(source: str) -> str:
    return source if source.startswith("<") else f'"{source}"'


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"c_layout_oracle: {argv[0]} failed (exit {done.returncode})")
    return done


def in_scope(path: str, scope: tuple[str, ...]) -> bool:
    return any(part in path for part in scope)


def collect(profile: Profile, objects: list[Path]) -> dict[str, Any]:
    top: list[Die] = []
    index: dict[int, Die] = {}
    for number, obj in enumerate(objects):
        unit_top, unit_index = load_dies(obj, base=number << 40)
        top += unit_top
        index.update(unit_index)
    types = TypeReader(index)
    structs: dict[str, Die] = {}
    enums: dict[str, dict[str, int]] = {}

    def visit(dies: list[Die]) -> None:
        for die in dies:
            if die.tag == "DW_TAG_namespace":
                visit(die.children)
                continue
            if "DW_AT_declaration" in die.attrs:
                continue
            if die.tag == "DW_TAG_enumeration_type" and in_scope(die.decl_file, profile.scope):
                enums.setdefault(enum_name(die), enum_values(die, types))
            if die.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and die.name:
                structs.setdefault(die.name, die)

    visit(top)
    chosen: dict[str, Die] = {}

    def add(name: str) -> None:
        if name in chosen or name not in structs:
            return
        chosen[name] = structs[name]
        for sub in embedded(structs[name], types):
            add(sub)

    for name, die in structs.items():
        if not in_scope(die.decl_file, profile.scope):
            continue
        if profile.roots.match(name):
            add(name)
    return {
        "enums": dict(sorted(enums.items())),
        "structs": {
            name: struct_doc(die, types, with_align=profile.with_align)
            for name, die in sorted(chosen.items())
        },
    }


def embedded(die: Die, types: TypeReader) -> Iterator[str]:
    """Names of the structs ``die`` holds by value (arrays included, pointers not)."""
    for member in die.children:
        if member.tag != "DW_TAG_member":
            continue
        resolved, _ = types.strip(_ref(member, types.index))
        while resolved is not None and resolved.tag == "DW_TAG_array_type":
            resolved, _ = types.strip(_ref(resolved, types.index))
        if resolved is None:
            continue
        if resolved.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and resolved.name:
            yield resolved.name
        elif resolved.tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            yield from embedded(resolved, types)


# ----------------------------------------------------------------------------- defines

_DEFINE = re.compile(r"^#define ([A-Za-z_][A-Za-z0-9_]*)(\s|$)")
_LINEMARK = re.compile(r'^# \d+ "([^"]+)"')


def macro_names(profile: Profile, unit: Path, work: Path) -> list[str]:
    """Object-like macros defined by the in-scope headers (``-dD`` keeps where)."""
    compiler = "g++" if profile.language == "c++" else "gcc"
    done = _run(
        [
            compiler,
            "-E",
            "-dD",
            "-include",
            str(work / "config.h"),
            *(f"-I{p}" for p in profile.includes),
            str(unit),
        ]
    )
    current = ""
    names: list[str] = []
    for line in done.stdout.splitlines():
        mark = _LINEMARK.match(line)
        if mark:
            current = mark.group(1)
            continue
        found = _DEFINE.match(line)
        if found and in_scope(current, profile.scope) and not current.endswith("config.h"):
            name = found.group(1)
            if not name.startswith("_") and name not in names:
                names.append(name)
    return names


def define_values(profile: Profile, unit: Path, work: Path) -> dict[str, int]:
    """Evaluate each integer-constant macro by compiling and running a program.

    A macro that is not an integer constant expression makes its ``case`` label
    fail to compile; those are dropped and the program is rebuilt."""
    names = macro_names(profile, unit, work)
    compiler = "g++" if profile.language == "c++" else "gcc"
    suffix = ".cpp" if profile.language == "c++" else ".c"
    program = work / f"defines{suffix}"
    binary = work / "defines"
    for _attempt in range(20):
        # One function per macro: gcc names the function of every error it reports.
        # headers only: a .c of the unit would need the rest of its library to link
        lines = [f"#include {_spell(h)}" for h in profile.sources if not h.endswith(".c")]
        lines.append("#include <stdio.h>")
        for i, name in enumerate(names):
            lines.append(
                f"static void f_{i}(void) {{ "
                f"switch (0) {{ case ({name}): case ({name}) + 1: break; }} "
                f'if (({name}) < 0) printf("{name} %lld\\n", (long long)({name})); '
                f'else printf("{name} %llu\\n", (unsigned long long)({name})); }}'
            )
        lines.append("int main(void) {")
        lines += [f"f_{i}();" for i in range(len(names))]
        lines += ["return 0;", "}"]
        program.write_text("\n".join(lines) + "\n")
        done = subprocess.run(
            [
                compiler,
                "-w",
                "-fmax-errors=0",
                "-include",
                str(work / "config.h"),
                *(f"-I{p}" for p in profile.includes),
                "-o",
                str(binary),
                str(program),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            break
        bad = {int(m.group(1)) for m in re.finditer(r"function .(?:void )?f_(\d+)\b", done.stderr)}
        if not bad:
            sys.stderr.write(done.stderr[-4000:])
            raise SystemExit("c_layout_oracle: cannot evaluate the defines")
        names = [n for i, n in enumerate(names) if i not in bad]
    else:
        raise SystemExit("c_layout_oracle: too many rounds evaluating the defines")
    run = _run([str(binary)])
    values: dict[str, int] = {}
    for line in run.stdout.splitlines():
        name, value = line.split()
        values[name] = int(value)
    return dict(sorted(values.items()))


# ----------------------------------------------------------------------------- main


def build(profile: Profile, work: Path) -> dict[str, Any]:
    obj, unit = compile_unit(profile, work, profile.sources)
    objects = [obj]
    for number, sources in enumerate(profile.more_units):
        objects.append(compile_unit(profile, work, sources, stem=f"unit{number + 1}")[0])
    doc = collect(profile, objects)
    doc["defines"] = define_values(profile, unit, work)
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=0, sort_keys=False) + "\n"


def fetch_debian_tree() -> Path:
    done = _run(["bash", str(REPO / "scripts" / "fetch-lttng-source.sh")], cwd=REPO)
    return Path(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--v2139-tree", type=Path, help="lttng-tools 2.13.9 tree (default: fetch)")
    parser.add_argument(
        "--seed-tree",
        type=Path,
        default=Path(
            os.environ.get("USTREF_SEED_TREE", REPO / "build/upstream/src/lttng-tools-97535efaa")
        ),
    )
    parser.add_argument(
        "--ust-tree",
        type=Path,
        default=Path(os.environ.get("USTREF_UST_TREE", REPO / "build/upstream/src/ust-2.13.5")),
    )
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--write-to", type=Path, help="write the documents into this directory")
    parser.add_argument(
        "--only", choices=("v2.13.9", "97535efaa", "ring"), action="append", default=None
    )
    args = parser.parse_args(argv)
    wanted = args.only or ["v2.13.9", "97535efaa", "ring"]
    profiles: dict[str, Profile] = {}
    if "v2.13.9" in wanted:
        tree = (args.v2139_tree or fetch_debian_tree()).resolve()
        profiles["v2.13.9"] = tools_profile(
            tree, REPO / "tests/protocol/c_layout/v2.13.9.json", "c"
        )
    if "97535efaa" in wanted:
        profiles["97535efaa"] = tools_profile(
            args.seed_tree.resolve(), REPO / "tests/protocol/c_layout/97535efaa.json", "c++"
        )
    if "ring" in wanted:
        profiles["ring"] = ring_profile(
            args.ust_tree.resolve(), REPO / "tests/ring/c_layout/ust-v2.13.5.json"
        )
    changed = []
    if True:
        for name, profile in profiles.items():
            text = render(build(profile, WORK / name))
            old = profile.out.read_text() if profile.out.exists() else ""
            if args.write_to is not None:
                args.write_to.mkdir(parents=True, exist_ok=True)
                (args.write_to / profile.out.name).write_text(text)
                continue
            if text != old:
                changed.append(profile.out)
                if not args.check:
                    profile.out.write_text(text)
            state = "changed" if text != old else "unchanged"
            print(f"{name}: {profile.out.relative_to(REPO)} {state}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
