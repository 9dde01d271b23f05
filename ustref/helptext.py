"""Command-line help from docstrings, without their reStructuredText markup.

The CLI modules' docstrings double as ``--help`` descriptions; Sphinx-style
roles (``:class:`~ustref.cli```), inline literals (````ustref````) and
emphasis read badly on a terminal. :func:`plain` turns them into plain text.
"""

from __future__ import annotations

import re

__all__ = ["plain"]

_ROLE = re.compile(r":[a-z]+:`~?([^`<]*?)(?:\s*<[^>]*>)?`")
_LITERAL = re.compile(r"``(.+?)``")
_STRONG = re.compile(r"\*\*(\S(?:.*?\S)?)\*\*")
_EMPHASIS = re.compile(r"(?<![\w*])\*(\S(?:.*?\S)?)\*(?![\w*])")


def plain(text: str) -> str:
    """``text`` with reST roles, inline literals and emphasis reduced to their words."""

    def role(match: re.Match[str]) -> str:
        target = match.group(1)
        # :class:`~a.b.C` shows C; :mod:`a.b` shows a.b.
        return target.rsplit(".", 1)[-1] if match.group(0).split("`")[1].startswith("~") else target

    text = _ROLE.sub(role, text)
    text = _LITERAL.sub(r"\1", text)
    text = _STRONG.sub(r"\1", text)
    return _EMPHASIS.sub(r"\1", text)
