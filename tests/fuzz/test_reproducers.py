"""Every C crash reproducer (``spec/findings/crash-*.json``) against ustref-consumerd.

The C consumer dies of each one: ``tests/fuzz/test_consumerd.py::
test_committed_finding_replays`` replays them against it and checks the signal and,
where there is one, the assertion line. ustref-consumerd, started the same way, must
answer with an error status (or nothing, where C's protocol has no reply:
:data:`SILENT_IN_C`), stay up,
and serve a well-formed DATA_PENDING sent next; what it answered is the file's
``ustref`` record, which spec/aborts.md shows. ``test_reproducers_live.py`` splices
each one into the command socket of a consumer serving a real session.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ustref.fuzz.launch import ustref_consumerd
from ustref.fuzz.replay import load
from ustref.fuzz.reproducers import REPRODUCERS, Survival, against, document, file_name
from ustref.fuzz.session import Action, Outcome
from ustref.protocol.consumer import CONSUMER_MSG_SIZE, LttngConsumerCommand
from ustref.protocol.conversation.rules import REPLY_AFTER, ReplyKind

FINDINGS = Path(__file__).resolve().parents[2] / "spec" / "findings"
CRASHES = sorted(FINDINGS.glob("crash-*.json"))


def test_every_abort_read_from_the_sources_has_its_file() -> None:
    """The hand-written reproducers are the committed files (names follow the actions)."""
    for name in REPRODUCERS:
        doc = document(name, Outcome("crash", "", -6))
        path = FINDINGS / file_name(doc)
        assert path.exists(), name
        saved = json.loads(path.read_text())
        assert saved["actions"] == doc["actions"] and saved["source"] == doc["source"]
        assert saved["outcome"]["kind"] == "crash"


@pytest.mark.parametrize("finding", CRASHES, ids=lambda p: p.stem)
def test_no_crash_reproducer_is_answered_success(finding: Path) -> None:
    """Where the C consumer dies, ustref refuses: the recorded answer to the last action
    (checked live by the ``lttng`` test below) is never SUCCESS. The two
    ADD_RELAYD_SOCKET reproducers with an AF_UNIX socket (C's ``abort()``) answer FATAL."""
    record = json.loads(finding.read_text())["ustref"]
    assert not record["answer"].startswith("LTTCOMM_CONSUMERD_SUCCESS"), record
    if finding.stem in ("crash-4ab31acc7a91", "crash-98ded0f6edc3"):
        assert record["answer"] == "LTTCOMM_CONSUMERD_FATAL"


#: What C's protocol answers nothing to (``REPLY_AFTER``): the commands the UST consumer
#: leaves to ``lttng_ustconsumer_recv_cmd``'s ``default:`` (ADD_CHANNEL, ADD_STREAM,
#: SNAPSHOT_METADATA, STREAMS_SENT), UPDATE_STREAM (``-ENOSYS``) and STOP (asserted away,
#: and with no case past the assert); an unknown ``cmd_type`` falls to ``default:`` too.
SILENT_IN_C = (ReplyKind.NONE, ReplyKind.CONSUMER_STOPS)


def last_command(actions: list[Action]) -> int:
    """The ``cmd_type`` of the last whole ``lttcomm_consumer_msg`` the actions send on
    the command socket (each action's data starts at a message boundary; raw bytes
    shorter than a message — an fd's byte, metadata — belong to the command before)."""
    sends = [a for a in actions if a.socket == "command" and len(a.data) >= CONSUMER_MSG_SIZE]
    data = sends[-1].data
    last = (len(data) // CONSUMER_MSG_SIZE - 1) * CONSUMER_MSG_SIZE
    return int.from_bytes(data[last : last + 4], "little")


@pytest.mark.parametrize("finding", CRASHES, ids=lambda p: p.stem)
def test_nothing_is_answered_only_where_c_has_no_reply(finding: Path) -> None:
    """A recorded answer of *nothing* is allowed only for a command C's protocol answers
    nothing (:data:`SILENT_IN_C`; today crash-42d7474beb42, a STOP) or an unknown
    ``cmd_type``: a command the strict decode refuses gets its failure reply."""
    doc, abi, actions = load(finding)
    if doc["ustref"]["answer"] != "nothing":
        return
    cmd_type = last_command(actions)
    if cmd_type in LttngConsumerCommand._value2member_map_:
        assert REPLY_AFTER[abi][LttngConsumerCommand(cmd_type)] in SILENT_IN_C, finding.stem


def test_the_stop_reproducer_is_the_silent_one() -> None:
    _doc, abi, actions = load(FINDINGS / "crash-42d7474beb42.json")
    assert last_command(actions) == LttngConsumerCommand.LTTNG_CONSUMER_STOP
    assert REPLY_AFTER[abi][LttngConsumerCommand.LTTNG_CONSUMER_STOP] in SILENT_IN_C
    for name in ("crash-283a072f4fa1", "crash-798ab06c3bc2"):
        record = json.loads((FINDINGS / f"{name}.json").read_text())["ustref"]
        assert record["answer"] == "LTTCOMM_CONSUMERD_CHANNEL_FAIL (16 bytes)", name


def test_a_survival_record_reads_the_last_answer() -> None:
    from ustref.fuzz.session import Heard

    heard = (Heard(0, "command", bytes(4)), Heard(1, "command", (123).to_bytes(4, "little")))
    s = Survival(Outcome("ok"), heard, True, b"")
    assert s.answer(2) == "LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED"
    assert s.answer(3) == "nothing"
    longer = Survival(
        Outcome("ok"), (Heard(0, "command", (128).to_bytes(4, "little") + bytes(5)),), True, b""
    )
    assert longer.answer(1) == "LTTCOMM_CONSUMERD_UNKNOWN_TRACE_CHUNK (9 bytes)"
    assert s.record(2)["next_command_served"] is False


@pytest.mark.lttng
@pytest.mark.parametrize("finding", CRASHES, ids=lambda p: p.stem)
def test_ustref_answers_stays_up_and_serves_the_next_command(finding: Path, tmp_path: Path) -> None:
    doc, _abi, actions = load(finding)
    assert doc["outcome"]["kind"] == "crash"  # what the C consumer did
    survival = against(ustref_consumerd(), actions, tmp_path / "u")
    assert survival.outcome.kind == "ok", survival.outcome
    assert survival.alive
    assert survival.record(len(actions)) == doc["ustref"]
    assert doc["ustref"]["next_command_served"]
