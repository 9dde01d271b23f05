"""Every struct, field and enum value that differs between two ABI profiles."""

from __future__ import annotations

from typing import Any

from ustref.protocol.abi import Abi
from ustref.protocol.layout import layout_json
from ustref.protocol.versions import WIRE_CONSTANTS


def _fields(struct: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {f["name"]: (f["offset"], f["size"]) for f in struct["fields"]}


def _where(entry: tuple[int, int] | None) -> str:
    return "—" if entry is None else f"@{entry[0]} / {entry[1]} B"


def _order(entry: tuple[int, int] | None, path: str) -> tuple[int, int, str]:
    """By offset, the whole before its members, then by name: a stable order."""
    offset, size = entry or (0, 0)
    return offset, -size, path


def abi_diff_rows(old: Abi, new: Abi) -> tuple[list[str], list[str]]:
    """Markdown rows: (struct and field differences, enum differences)."""
    a, b = layout_json(old), layout_json(new)
    struct_rows: list[str] = []
    for name in sorted(set(a["structs"]) | set(b["structs"])):
        sa, sb = a["structs"].get(name), b["structs"].get(name)
        if sa is None or sb is None:
            present = old.value if sb is None else new.value
            size = (sa or sb or {}).get("size")
            struct_rows.append(f"| `{name}` | (whole struct) | only in {present} ({size} B) | |")
            continue
        if sa["size"] != sb["size"]:
            struct_rows.append(f"| `{name}` | sizeof | {sa['size']} B | {sb['size']} B |")
        fa, fb = _fields(sa), _fields(sb)
        for path in sorted(set(fa) | set(fb), key=lambda p: _order(fa.get(p) or fb.get(p), p)):
            if fa.get(path) != fb.get(path):
                struct_rows.append(
                    f"| `{name}` | `{path}` | {_where(fa.get(path))} | {_where(fb.get(path))} |"
                )
    enum_rows: list[str] = []
    for name in sorted(set(a["enums"]) | set(b["enums"])):
        ea, eb = a["enums"].get(name, {}), b["enums"].get(name, {})
        for member in sorted(set(ea) | set(eb)):
            if ea.get(member) != eb.get(member):
                va = "—" if member not in ea else str(ea[member])
                vb = "—" if member not in eb else str(eb[member])
                enum_rows.append(f"| `{name}` | `{member}` | {va} | {vb} |")
    return struct_rows, enum_rows


def constant_rows(old: Abi, new: Abi) -> list[str]:
    """Markdown rows: every wire-visible ``#define``, marked where the ABIs differ."""
    a, b = WIRE_CONSTANTS[old], WIRE_CONSTANTS[new]
    rows: list[str] = []
    for name in sorted(set(a) | set(b)):
        va, vb = a.get(name), b.get(name)
        shown_a = "—" if va is None else str(va.value)
        shown_b = "—" if vb is None else str(vb.value)
        differs = "**differs**" if shown_a != shown_b else ""
        where = next(c for c in (va, vb) if c is not None)
        rows.append(
            f"| `{name}` | {shown_a} | {shown_b} | {differs} "
            f"| {where.carried_by} | `{where.header}` |"
        )
    return rows


def abi_diff_page(old: Abi, new: Abi) -> str:
    """The Markdown body of the ABI diff page."""
    struct_rows, enum_rows = abi_diff_rows(old, new)
    head = f"| struct | member | {old.value} | {new.value} |\n| --- | --- | --- | --- |\n"
    enum_head = f"| enum | member | {old.value} | {new.value} |\n| --- | --- | ---: | ---: |\n"
    return (
        f"## Structs and fields\n\n{len(struct_rows)} differences "
        f"(offset / size in bytes; — = absent).\n\n"
        + head
        + "".join(r + "\n" for r in struct_rows)
        + f"\n## Enum values\n\n{len(enum_rows)} differences.\n\n"
        + enum_head
        + "".join(r + "\n" for r in enum_rows)
        + "\n## Wire constants\n\n"
        + "Version `#define`s a peer receives (not structs or enums, so not in "
        + "`ustref spec layout`).\n\n"
        + f"| constant | {old.value} | {new.value} | | carried by | header |\n"
        + "| --- | ---: | ---: | --- | --- | --- |\n"
        + "".join(r + "\n" for r in constant_rows(old, new))
    )
