"""The named script lists kept in the repository, and their parser."""

from __future__ import annotations

import re

import pytest

from tests.c_sources import LTTNG_TOOLS_2_13_9, NOT_FETCHED
from ustref.conformance.lists import (
    ListError,
    Script,
    available_lists,
    load_list,
    parse_list,
    script_from_argument,
)

ISSUE_13_LOCAL = 36  # the local scripts issue 13's "Done when" names
ISSUE_12_RELAYD = 9


def test_repository_lists_exist() -> None:
    assert {"ust-local", "relayd", "all-ust"} <= set(available_lists())


def test_ust_local_and_relayd_sizes() -> None:
    assert len(load_list("ust-local")) == ISSUE_13_LOCAL
    assert len(load_list("relayd")) == ISSUE_12_RELAYD


def test_all_ust_contains_the_other_lists() -> None:
    every = {s.path: s for s in load_list("all-ust")}
    for name in ("ust-local", "relayd"):
        for script in load_list(name):
            assert every[script.path] == script


def test_the_mixed_kernel_scripts_run_as_user() -> None:
    users = {s.path for s in load_list("ust-local") if s.as_user}
    for mixed in (
        "regression/tools/wildcard/test_event_wildcard",
        "regression/tools/tracker/test_event_tracker",
        "regression/tools/health/test_thread_ok",
        "regression/tools/filtering/test_valid_filter",
    ):
        assert mixed in users


def test_listed_scripts_exist_in_the_upstream_makefile() -> None:
    """Every listed script is one of lttng-tools 2.13.9's regression TESTS."""
    makefile = LTTNG_TOOLS_2_13_9 / "tests/regression/Makefile.am"
    if not makefile.is_file():
        pytest.skip(NOT_FETCHED)
    tests = set(re.findall(r"((?:tools|ust|kernel)/[\w./-]+)", makefile.read_text()))
    for script in load_list("all-ust"):
        assert script.path.removeprefix("regression/") in tests, script.path


def test_parse_flags_comments_and_includes() -> None:
    texts = {"a": "regression/x/one  # first\n\n@b\n", "b": "regression/y/two user\n"}
    assert parse_list("a", texts["a"], include=texts) == [
        Script("regression/x/one"),
        Script("regression/y/two", as_user=True),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("regression/x root\n", "expected 'PATH [user]'"),
        ("tools/x\n", "not under regression/"),
        ("regression/x\nregression/x\n", "listed twice"),
        ("@nowhere\n", "unknown list"),
        ("@a\n", "includes itself"),
    ],
)
def test_parse_errors(text: str, message: str) -> None:
    with pytest.raises(ListError, match=re.escape(message)):
        parse_list("a", text, include={"a": text})


def test_unknown_list_names_the_known_ones() -> None:
    with pytest.raises(ListError, match="ust-local"):
        load_list("no-such-list")


def test_script_arguments_are_normalised_and_keep_their_flag() -> None:
    known = {s.path: s for s in load_list("ust-local")}
    assert script_from_argument("tests/regression/ust/test_event_basic").path == (
        "regression/ust/test_event_basic"
    )
    assert script_from_argument("tools/wildcard/test_event_wildcard", known=known).as_user
    assert Script("regression/ust/test_event_basic").slug == "ust.test_event_basic"
