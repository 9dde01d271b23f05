"""The named lists of regression scripts kept in the repository.

A list is package data, ``ustref/conformance/lists/<name>.list``: one script a
line as LTTng's own lists write it (``regression/ust/test_event_basic``,
relative to the tree's ``tests/``), ``#`` comments, and

* a trailing word ``user`` for a script that must run as an unprivileged user
  when the harness runs as root (it mixes UST and kernel parts and skips the
  kernel half only when not root, or it aborts as root on this machine);
* ``@other`` on a line of its own to include the list ``other``.

Parsing is pure; only :func:`load_list` reads package data.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from ustref.errors import UstrefError

__all__ = [
    "ListError",
    "Script",
    "available_lists",
    "load_list",
    "parse_list",
    "script_from_argument",
]

_USER_FLAG = "user"


class ListError(UstrefError):
    """A script list is unknown, malformed, or includes itself."""


@dataclass(frozen=True)
class Script:
    """One regression script: its path under ``tests/`` and whether it runs unprivileged."""

    path: str
    as_user: bool = False

    @property
    def slug(self) -> str:
        """A file-name-safe name for its logs: ``regression/ust/x`` → ``ust.x``."""
        return self.path.removeprefix("regression/").replace("/", ".")


def script_from_argument(path: str, *, known: dict[str, Script] | None = None) -> Script:
    """A script given on the command line; known scripts keep their list's ``user`` flag."""
    path = path.strip().removeprefix("tests/").removeprefix("./")
    if not path.startswith("regression/"):
        path = f"regression/{path}"
    if known is not None and path in known:
        return known[path]
    return Script(path)


def parse_list(
    name: str, text: str, *, include: dict[str, str] | None = None, _seen: tuple[str, ...] = ()
) -> list[Script]:
    """Parse the text of list ``name``; ``include`` maps other list names to their text.

    Scripts keep their first position; a duplicate is an error, as is an
    unknown word after the path or an include cycle.
    """
    if name in _seen:
        raise ListError(f"script list {name!r} includes itself ({' → '.join((*_seen, name))})")
    scripts: list[Script] = []
    seen_paths: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("@"):
            other = line[1:].strip()
            if include is None or other not in include:
                raise ListError(f"{name}.list:{number}: unknown list @{other}")
            found = parse_list(other, include[other], include=include, _seen=(*_seen, name))
        else:
            words = line.split()
            if len(words) > 2 or (len(words) == 2 and words[1] != _USER_FLAG):
                raise ListError(f"{name}.list:{number}: expected 'PATH [user]', got {raw!r}")
            if not words[0].startswith("regression/"):
                raise ListError(f"{name}.list:{number}: {words[0]!r} is not under regression/")
            found = [Script(words[0], as_user=len(words) == 2)]
        for script in found:
            if script.path in seen_paths:
                raise ListError(f"{name}.list:{number}: {script.path} is listed twice")
            seen_paths.add(script.path)
            scripts.append(script)
    return scripts


def _list_texts() -> dict[str, str]:
    folder = resources.files("ustref.conformance").joinpath("lists")
    return {
        entry.name.removesuffix(".list"): entry.read_text(encoding="utf-8")
        for entry in folder.iterdir()
        if entry.name.endswith(".list")
    }


def available_lists() -> list[str]:
    """The names of the lists kept in the repository, sorted."""
    return sorted(_list_texts())


def load_list(name: str) -> list[Script]:
    """The scripts of the named list, includes expanded."""
    texts = _list_texts()
    if name not in texts:
        raise ListError(f"no script list {name!r}; known: {', '.join(sorted(texts))}")
    return parse_list(name, texts[name], include=texts)
