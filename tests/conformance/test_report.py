"""The verdicts, consumer check and table of a conformance run (no daemons)."""

from __future__ import annotations

from ustref.conformance.lists import Script
from ustref.conformance.report import ConsumerSighting, ExpectedConsumer, RunReport, ScriptResult
from ustref.conformance.tap import TapCounts, TapParser

C_EXE = "/usr/lib/x86_64-linux-gnu/lttng/libexec/lttng-consumerd"
C_CONSUMER = ExpectedConsumer("c", C_EXE, frozenset({C_EXE}))
C_SIGHTING = ConsumerSighting(10, C_EXE, ("lttng-consumerd", "", "-u"), 0, "regression/ust/a")


def _result(
    tap: str, *, returncode: int | None = 0, consumers: tuple[ConsumerSighting, ...] = ()
) -> ScriptResult:
    parser = TapParser()
    parser.feed_bytes(tap.encode())
    parser.close()
    return ScriptResult(
        Script("regression/ust/a"),
        parser.counts,
        1.5,
        returncode,
        "root",
        "a.tap",
        "a.log",
        list(consumers),
    )


def test_a_clean_script_with_the_requested_consumer_passes() -> None:
    report = RunReport(
        C_CONSUMER, [_result("1..2\nok 1\nok 2 # skip x\n", consumers=(C_SIGHTING,))]
    )
    assert report.passed
    assert report.summary_lines()[-1] == "conformance: 1 passed, 0 failed, 1 skipped"


def test_each_kind_of_script_failure_is_reported() -> None:
    cases = {
        "1..2\nok 1\nnot ok 2 - boom\n": "1 not ok",
        "1..2\nok 1\nBail out! gone\n": "bail out: gone",
        "ok 1\n": "no plan",
        "1..3\nok 1\n": "2 planned points never ran",
    }
    for tap, problem in cases.items():
        result = _result(tap, consumers=(C_SIGHTING,))
        assert problem in result.problems
        report = RunReport(C_CONSUMER, [result])
        assert not report.passed
        assert report.failed_points >= 1
        assert any(line.startswith("FAILED regression/ust/a") for line in report.summary_lines())
    assert "timed out" in _result("1..1\nok 1\n", returncode=None).problems
    assert "exit status 3" in _result("1..1\nok 1\n", returncode=3).problems
    assert RunReport(C_CONSUMER, [_result("1..1\nok 1\n", returncode=3)]).failed_points == 1


def test_a_run_where_the_requested_consumer_never_started_fails() -> None:
    report = RunReport(C_CONSUMER, [_result("1..1\nok 1\n")])
    assert not report.passed
    assert "never started" in report.consumer_problems[0]
    assert report.summary_lines()[-1] == "conformance: 1 passed, 1 failed, 0 skipped"


def test_another_consumer_than_the_requested_one_fails_the_run() -> None:
    ustref = ExpectedConsumer(
        "ustref",
        "/venv/bin/ustref-consumerd",
        frozenset({"/usr/bin/python3.11"}),
        frozenset({"/venv/bin/ustref-consumerd"}),
    )
    python = ConsumerSighting(11, "/usr/bin/python3.11", ("lttng-consumerd", "-u"), 0, "s")
    assert ustref.matches(python)
    assert not ustref.matches(C_SIGHTING)
    report = RunReport(ustref, [_result("1..1\nok 1\n", consumers=(python, C_SIGHTING))])
    problems = report.consumer_problems
    assert len(problems) == 1
    assert C_EXE in problems[0]


def test_a_script_path_on_the_command_line_identifies_a_not_yet_renamed_script() -> None:
    launcher = ExpectedConsumer(
        "path", "/tmp/launcher", frozenset({"/usr/bin/dash"}), frozenset({"/tmp/launcher"})
    )
    seen = ConsumerSighting(12, "/usr/bin/bash", ("/bin/bash", "/tmp/launcher", "-u"), 0, "s")
    assert launcher.matches(seen)


def test_table_has_a_row_per_script_and_totals() -> None:
    report = RunReport(
        C_CONSUMER,
        [
            _result("1..2\nok 1\nnot ok 2\n", consumers=(C_SIGHTING,)),
            _result("1..3\nok 1\nok 2\nok 3 # skip r\n"),
        ],
    )
    lines = report.table().splitlines()
    assert lines[0].split() == [
        "script",
        "plan",
        "ok",
        "not",
        "ok",
        "skip",
        "bail-out",
        "seconds",
        "as",
    ]
    assert lines[-1].split()[:7] == ["total", "(2", "scripts)", "5", "3", "1", "1"]
    assert report.markdown_table().count("\n| ust/a |") == 2
    section = report.markdown_section("ust-local")
    assert section.startswith("### c consumer — ust-local\n")
    assert "FAILED, 2 scripts, 3 points passed, 1 failed, 1 skipped" in section
    doc = report.to_json()
    assert doc["points"] == {"passed": 3, "failed": 1, "skipped": 1}
    assert [s["passed"] for s in doc["scripts"]] == [False, True]


def test_counts_default_to_nothing_seen() -> None:
    counts = TapCounts()
    assert (counts.points, counts.missing, counts.plan) == (0, 0, None)
