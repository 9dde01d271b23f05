"""Anchors and cross-references of the generated pages.

One place decides how a C name becomes an HTML anchor (:func:`anchor`), which
registered enums a page names and must therefore define (:func:`named_enums`),
and which links of a set of pages do not resolve (:func:`broken_links`) — the
last one is what the suite runs over ``spec/``.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

from ustref.protocol.fields import enum_c_name

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def anchor(name: str, kind: str = "") -> str:
    """The id of ``name``'s anchor: ``enum-lttng_error_code``, ``field-u.key`` …"""
    slug = _UNSAFE.sub("-", name).strip("-")
    return f"{kind}-{slug}" if kind else slug


def enum_anchor(enum_type: type[enum.IntEnum]) -> str:
    return anchor(enum_c_name(enum_type), "enum")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))


def _starred_prefixes(text: str) -> set[str]:
    """``LTTNG_VIEWER_FLAG_*`` → ``LTTNG_VIEWER_FLAG_``."""
    return set(re.findall(r"\b([A-Z][A-Z0-9_]*_)\*", text))


def names_enum(enum_type: type[enum.IntEnum], words: set[str], prefixes: set[str]) -> bool:
    """Whether a text with these words names ``enum_type``.

    By its C name, its Python class name, one of its members, or a
    ``PREFIX_*`` pattern that one of its members matches.
    """
    if enum_c_name(enum_type) in words or enum_type.__name__ in words:
        return True
    members = enum_type.__members__
    if any(member in words for member in members):
        return True
    return any(member.startswith(p) for p in prefixes for member in members)


def named_enums(text: str, registered: Iterable[type[enum.IntEnum]]) -> list[type[enum.IntEnum]]:
    """The registered enums ``text`` names, in registration order."""
    words, prefixes = _words(text), _starred_prefixes(text)
    return [e for e in registered if names_enum(e, words, prefixes)]


_LINK = re.compile(r"\]\(([^)\s]+)\)")
_ID = re.compile(r'<a id="([^"]+)"')
_HEADING = re.compile(r"^#{1,6} (.+)$", re.MULTILINE)


def heading_anchor(title: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[`*_]{2,}|`", "", title.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors_of(text: str) -> set[str]:
    """Explicit ``<a id>`` anchors and heading anchors of one page."""
    return set(_ID.findall(text)) | {heading_anchor(h) for h in _HEADING.findall(text)}


def broken_links(pages: Mapping[str, str], existing: Iterable[str] = ()) -> list[str]:
    """``page: link`` for every relative link whose file or anchor is missing.

    ``pages`` maps paths relative to the spec root to their text; ``existing``
    lists other files that exist there (golden captures, findings).
    """
    files = set(pages) | set(existing)
    ids = {path: anchors_of(text) for path, text in pages.items()}
    broken: list[str] = []
    for path, text in sorted(pages.items()):
        for link in _LINK.findall(text):
            if re.match(r"[a-z]+:", link):
                continue
            target, _, fragment = link.partition("#")
            resolved = _normalise(PurePosixPath(path).parent / target) if target else path
            if target and resolved not in files:
                broken.append(f"{path}: {link} (no such file)")
            elif fragment and resolved in ids and fragment not in ids[resolved]:
                broken.append(f"{path}: {link} (no such anchor)")
    return broken


def _normalise(path: PurePosixPath) -> str:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)
