"""The ust-ctl call table: complete and resolvable, each row with a test that exists
(``tests/specgen/test_render.py`` keeps the rendered page current)."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

from tests.c_sources import LTTNG_TOOLS_2_13_9, needs_lttng_tools_2_13_9
from ustref.specgen.ustctl_calls import CALLS, Call

ROOT = Path(__file__).resolve().parents[2]
CONSUMER_C = LTTNG_TOOLS_2_13_9 / "src/common/ust-consumer/ust-consumer.c"


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attr in parts[cut:]:
            fields = getattr(obj, "__dataclass_fields__", {})
            field_only = attr in fields and not hasattr(obj, attr)
            obj = fields[attr] if field_only else getattr(obj, attr)
        return obj
    raise AssertionError(f"{dotted}: no such module")


def _test_exists(test: str) -> None:
    path, func = test.split("::")
    tree = ast.parse((ROOT / path).read_text())
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    assert func in names, f"{path} has no {func}"


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
def test_pure_counterpart_resolves_and_test_exists(call: Call) -> None:
    for dotted in call.pure:
        _resolve(dotted)
    _test_exists(call.test)


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
def test_consumer_code_resolves_and_test_exists(call: Call) -> None:
    """The consumer's side of each call: ustref-consumerd's code behind the seam, and a
    test that runs it."""
    assert call.seam and call.seam_test, call.name
    for dotted in call.seam:
        _resolve(dotted)
    _test_exists(call.seam_test)


def test_forty_one_distinct_names() -> None:
    names = [c.name for c in CALLS]
    assert len(names) == len(set(names)) == 41


@needs_lttng_tools_2_13_9
def test_names_are_those_of_the_consumer_source() -> None:
    found = set(re.findall(r"\blttng_ust_ctl_[a-z0-9_]+", CONSUMER_C.read_text()))
    assert found == {c.name for c in CALLS}
