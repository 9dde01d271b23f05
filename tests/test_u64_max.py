"""The all-ones ``uint64_t`` is written once, as :data:`ustref.ids.U64_MAX`.

Every Python spelling of it in code (``2**64 - 1``, ``(1 << 64) - 1``,
``0xFFFFFFFFFFFFFFFF`` and any other integer literal of that value) is looked
for in ``ustref/``, ``tests/`` and ``scripts/``; strings and comments are not
code and may quote C's ``-1ULL``.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from ustref.ids import U64_MAX

ROOT = Path(__file__).resolve().parent.parent
HOME = "ustref/ids.py"

#: Files that still hold a copy, with why.
ALLOWED: dict[str, str] = {
    # Standalone DWARF oracle: imports nothing of ustref on purpose; the value
    # is g++'s array bound, not ours.
    "scripts/c_layout_oracle.py": "standalone",
}

_SPELLED = re.compile(r"2\*\*64-1|\(1<<64\)-1")


def copies_in(source: str) -> list[int]:
    """Line numbers of ``source`` where code spells the all-ones u64."""
    lines: list[int] = []
    code: list[tuple[int, str]] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NUMBER:
            try:
                if int(tok.string, 0) == U64_MAX:
                    lines.append(tok.start[0])
            except ValueError:
                pass  # a float or complex literal
        if tok.type in (tokenize.NAME, tokenize.NUMBER, tokenize.OP):
            code.append((tok.start[0], tok.string))
    # Expressions, with the tokens' own spacing removed.
    text = ""
    starts: list[int] = []
    for line, string in code:
        starts.extend([line] * len(string))
        text += string
    lines.extend(starts[m.start()] for m in _SPELLED.finditer(text))
    return sorted(set(lines))


def test_finder_sees_each_spelling() -> None:
    source = "a = 2**64 - 1\nb = (1 << 64) - 1\nc = 0xFFFF_FFFF_FFFF_FFFF\n"
    source += "d = '2**64 - 1'  # 2**64 - 1\n"
    assert copies_in(source) == [1, 2, 3]


def test_all_ones_u64_has_one_home() -> None:
    found: dict[str, list[int]] = {}
    for top in ("ustref", "tests", "scripts"):
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel == HOME or rel in ALLOWED:
                continue
            lines = copies_in(path.read_text(encoding="utf-8"))
            if lines:
                found[rel] = lines
    assert not found, f"use ustref.ids.U64_MAX instead of a copy at: {found}"


def test_allowed_copies_still_exist() -> None:
    """A file that no longer holds a copy leaves :data:`ALLOWED`."""
    stale = [rel for rel in ALLOWED if not copies_in((ROOT / rel).read_text(encoding="utf-8"))]
    assert not stale, f"remove from ALLOWED: {stale}"
