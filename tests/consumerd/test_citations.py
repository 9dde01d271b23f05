"""The daemon cites lttng-tools' C by name; the behaviour table holds the lines.

Every docstring of ``ustref/consumerd/`` (the handlers first, then the core,
the stream and lifetime rules, the shell) may name the C function it mirrors
(````flush_channel````) but writes no v2.13.9 line number of lttng-tools'
consumer files (``ust-consumer.c``, ``consumer.c``, ``consumer-stream.c``,
``consumer-timer.c``, ...): those live once, as the :class:`Source` s of
:mod:`ustref.consumerd.behaviour` (:data:`~ustref.consumerd.behaviour.BEHAVIOUR`'s
sources and :data:`~ustref.consumerd.behaviour.MIRRORED`), where
:func:`ustref.specgen.sources.check_sources` checks them against the tree.
Line numbers of lttng-ust files (``template.h``, ``ring_buffer_frontend.c``)
are another project's and stay allowed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import ustref.consumerd
from tests.c_sources import LTTNG_TOOLS_2_13_9, needs_lttng_tools_2_13_9
from ustref.consumerd import handlers
from ustref.consumerd.behaviour import CONSUMER, CONSUMER_STREAM, CONSUMER_TIMER, UST_CONSUMER
from ustref.specgen.sources import all_sources, function_extent

PACKAGE = Path(ustref.consumerd.__file__).resolve().parent

#: A C or C++ file name, as docstrings write it.
_FILE = re.compile(r"\b[\w-]+\.(?:c|h|cpp|hpp)\b")
#: lttng-tools' consumer files: the ones whose lines belong to the behaviour table.
_TOOLS_FILE = re.compile(r"^(?:ust-consumer|consumer(?:-[\w-]+)?)\.(?:c|cpp|h|hpp)$")
#: A line number or a range of them (three digits or more: smaller numbers are counts).
_LINES = re.compile(r"(?<![\w.*/])\d{2,5}\s*[-–]\s*\d{2,5}(?![\w.])|(?<![\w.*/])\d{3,5}(?![\w.%])")
#: A name in double back-quotes: a C function when lttng-tools defines it.
_NAME = re.compile(r"``([A-Za-z_]\w*)(?:\(\))?``")

#: Modules whose docstrings may still write tools line numbers, with why.

#: The lttng-tools files whose functions the daemon mirrors.
_MIRRORED_FILES = (UST_CONSUMER, CONSUMER, CONSUMER_STREAM, CONSUMER_TIMER)


def docstrings() -> Iterator[tuple[str, str]]:
    """``(where, docstring)`` for every module, class and function of the daemon but the
    behaviour table itself."""
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "behaviour.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                text = ast.get_docstring(node, clean=False)
                if text:
                    where = f"{path.name}:{getattr(node, 'name', '<module>')}"
                    yield where, text


def tools_line_numbers(text: str) -> list[str]:
    """The line numbers in ``text`` that belong to an lttng-tools consumer file: those
    after a mention of one (up to the next file mention), and every range that follows
    no file mention at all."""
    found: list[str] = []
    mentions = [(m.start(), m.group(0)) for m in _FILE.finditer(text)]
    for match in _LINES.finditer(text):
        before = [name for start, name in mentions if start < match.start()]
        is_range = "-" in match.group(0) or "–" in match.group(0)
        if (before and _TOOLS_FILE.match(before[-1])) or (not before and is_range):
            found.append(match.group(0))
    return found


def test_the_finder_sees_tools_lines_and_leaves_lttng_ust_ones() -> None:
    text = (
        "DESTROY (ust-consumer.c 1443-1472, ``consumer_flag_relayd_for_destroy``); "
        "template.h 400-426 and ring_buffer_frontend.c 2035-2041, 2318; 4096 bytes"
    )
    assert tools_line_numbers(text) == ["1443-1472"]
    assert tools_line_numbers("runs 3566-3724 lines") == ["3566-3724"]
    assert tools_line_numbers("consumer-stream.c: 512 and 2**64 - 1") == ["512"]
    assert tools_line_numbers("one 64 KiB sub-buffer, 1 MiB, 100 ms") == []


def test_every_command_has_a_documented_handler() -> None:
    for command, handler in handlers.HANDLERS.items():
        assert handler.__doc__, f"{command.name}: {handler.__name__} has no docstring"


def test_no_docstring_writes_a_tools_line_number() -> None:
    found = {where: lines for where, text in docstrings() if (lines := tools_line_numbers(text))}
    assert not found, (
        "cite the C function by name; its v2.13.9 lines belong in "
        f"ustref.consumerd.behaviour (a Source): {found}"
    )


@needs_lttng_tools_2_13_9
def test_every_cited_tools_function_is_a_source_of_the_table() -> None:
    files = {
        name: (LTTNG_TOOLS_2_13_9 / name).read_text(encoding="utf-8", errors="replace").splitlines()
        for name in _MIRRORED_FILES
    }
    held = {source.function.split()[0] for source in all_sources()}
    missing: dict[str, list[str]] = {}
    for where, text in docstrings():
        for name in _NAME.findall(text):
            if name in held:
                continue
            if any(function_extent(lines, name) for lines in files.values()):
                missing.setdefault(name, []).append(where)
    assert not missing, f"C functions cited but not in the behaviour table: {missing}"


@pytest.mark.parametrize("name", ["flush_channel", "consumer_thread_data_poll"])
def test_the_table_holds_known_names(name: str) -> None:
    assert name in {source.function.split()[0] for source in all_sources()}
