"""Hand-written prose kept inside generated Markdown.

Generated pages contain prose slots::

    <!-- prose: lttcomm_consumer_msg -->
    anything a person writes here survives regeneration
    <!-- /prose -->

:func:`extract` reads the slots of an existing page; :func:`slot` emits one
(with the preserved text, or empty), so ``ustref spec render`` never loses
what a person wrote, and ``--check`` compares pages with their prose in place.
"""

from __future__ import annotations

import re

_SLOT = re.compile(r"<!-- prose: (?P<key>[^>]+?) -->\n(?P<body>.*?)<!-- /prose -->", re.DOTALL)


def extract(text: str) -> dict[str, str]:
    """The prose slots of a page, by key."""
    return {m["key"]: m["body"] for m in _SLOT.finditer(text)}


def slot(key: str, kept: dict[str, str]) -> str:
    """A prose slot holding the text kept for ``key`` (empty for a new slot)."""
    return f"<!-- prose: {key} -->\n{kept.get(key, '')}<!-- /prose -->\n"
