"""README.md's Performance tables are generated from the committed results
(``benchmarks/report.py``): a hand edit, or a result file changed without
regenerating, fails here. No benchmark runs."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _report() -> ModuleType:
    path = ROOT / "benchmarks" / "report.py"
    spec = importlib.util.spec_from_file_location("benchmarks_report", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


report = _report()


def test_readme_tables_are_what_the_results_give() -> None:
    assert report.main(["--check"]) == 0


def test_every_kind_of_table_is_in_the_readme() -> None:
    kinds = {match["kind"] for match in report.MARKER.finditer(report.README.read_text())}
    assert kinds == {"consumerd", "ring", "scale", "startup"}


def _copy(tmp_path: Path) -> Path:
    readme = tmp_path / "README.md"
    shutil.copy(report.README, readme)
    return readme


def test_a_hand_edited_cell_fails_the_check(tmp_path: Path) -> None:
    readme = _copy(tmp_path)
    text = readme.read_text()
    edited = text.replace("| 1 MiB | C | 5,000,000 |", "| 1 MiB | C | 5,000,001 |", 1)
    assert edited != text
    readme.write_text(edited)
    assert report.main(["--check", "--readme", str(readme)]) == 1


def test_regenerating_restores_the_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = _copy(tmp_path)
    text = readme.read_text()
    match = next(report.MARKER.finditer(text))
    readme.write_text(text.replace(match["body"], "stale\n", 1))
    assert report.main(["--check", "--readme", str(readme)]) == 1
    wanted = report.regenerate(text)
    assert report.regenerate(readme.read_text()) == wanted == text


def test_a_run_without_a_backend_field_says_so() -> None:
    assert report.consumer_label({"consumer": "ustref"}) == report.NO_BACKEND
    assert report.consumer_label({"consumer": "ustref", "backend": "pure"}) == "ustref/pure"
    assert report.consumer_label({"consumer": "C", "backend": ""}) == "C"


def test_a_scale_table_has_a_row_per_consumer_with_ratios_against_c() -> None:
    document = {
        "parameters": {"app_seconds": 3.0, "rounds": 3},
        "runs": [{"load_1min": 0.5}, {"load_1min": 1.5}],
        "summary": [
            {"mode": "per-pid", "apps": 128, "subbuf_size": 65536, "consumer": "C",
             "streams": 234, "recorded": 29782092, "cpu_ms_per_mib": 1.18,
             "cpu_us_per_wakeup": 56.0, "unreadable": 2},
            {"mode": "per-pid", "apps": 128, "subbuf_size": 65536, "consumer": "ustref/pure",
             "streams": 255, "recorded": 34229541, "cpu_ms_per_mib": 1.48,
             "cpu_us_per_wakeup": 123.2, "recorded/C": 1.149, "cpu_ms_per_mib/C": 1.254,
             "unreadable": 3},
        ],
    }  # fmt: skip
    rows = report.scale_table(document).splitlines()
    assert rows[2] == "| 128 per-PID apps | 64 KiB | C | 234 | 29,782,092 | 1.18 | 56.0 |  |  | 2 |"
    assert rows[3].endswith("| 34,229,541 | 1.48 | 123.2 | 1.15× | 1.25× | 3 |")
    assert rows[-1].startswith("Apps at full rate for 3 s, 3 rounds, medians;")
    assert rows[-1].endswith("machine load (1 min) 0.50–1.50.")


def test_ring_sections_are_parsed() -> None:
    text = (
        "sub-buffer 4096 B x 1024; best of 5 (MB/s):\n"
        "  pure 1.0\n  drain 2.0\n  liblttng-ust-ctl 3.0\n  memcpy 4.0\n  writev 5.0\n"
        "ratios:\n  drain / memcpy 0.5\n"
    )
    best, sections = report.parse_ring(text)
    assert best == 5
    assert sections == [
        (
            4096,
            1024,
            {"pure": 1.0, "drain": 2.0, "liblttng-ust-ctl": 3.0, "memcpy": 4.0, "writev": 5.0},
        )
    ]


def test_without_matplotlib_the_tables_are_still_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = _copy(tmp_path)
    text = readme.read_text()
    match = next(report.MARKER.finditer(text))
    readme.write_text(text.replace(match["body"], "stale\n", 1))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib fails
    assert report.main(["--readme", str(readme)]) == 0
    assert "matplotlib is not installed" in capsys.readouterr().out
    assert readme.read_text() == text
