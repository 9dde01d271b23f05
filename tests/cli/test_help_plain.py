"""``--help`` reads as plain text: no reStructuredText markup from the docstrings."""

from __future__ import annotations

import pytest

from ustref.cli import main
from ustref.helptext import plain

COMMANDS = [
    [],
    ["spec"],
    ["spec", "wireshark"],
    ["decode"],
    ["capture"],
    ["capture", "export"],
    ["fuzz"],
    ["conformance"],
    ["conformance", "upstream"],
    ["ring", "dump"],
]


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "ustref")
def test_help_has_no_rst_markup(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*words, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage:")
    for markup in ("``", ":class:", ":func:", ":mod:", ":data:", ":meth:"):
        assert markup not in text


def test_plain() -> None:
    assert plain("The ``ustref`` command line.") == "The ustref command line."
    assert plain("see :class:`~ustref.capture.format.Capture`") == "see Capture"
    assert plain("wired by :mod:`ustref.cli`") == "wired by ustref.cli"
    assert plain("**bold** and *emphasis*, a*b*c stays") == "bold and emphasis, a*b*c stays"
