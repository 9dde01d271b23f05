"""The README's main job: a real traced session through ustref-consumerd beside the C
consumer, compared, summarised and decoded."""

from __future__ import annotations

import re

import pytest

from ustref.demo import run_demo


@pytest.mark.lttng
def test_demo_traces_and_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(events=120) == 0
    out = capsys.readouterr().out
    assert (
        "OK: 120 events emitted; read back 120 (C consumer), 120 (ustref-consumerd); "
        "listings equal" in out
    )
    assert "CTF files written by the c consumer" in out
    assert "CTF files written by the ustref consumer" in out
    assert "lttng_ust_tracef:event" in out
    # ustref-consumerd ran behind the capture wrapper and every message was decoded.
    heading = "ustref-consumerd conversation, decoded by ustref"
    summary = next(line for line in out.splitlines() if heading in line)
    found = re.search(r"\((\d+) messages, (\d+) rebuilt", summary)
    assert found is not None
    total, rebuilt = int(found[1]), int(found[2])
    assert total > 20 and rebuilt == total
    assert "LTTNG_CONSUMER_GET_CHANNEL" in out
