"""Differential mode of the consumer fuzzer (``ustref fuzz consumerd --target both``).

Unit tests of the comparison (planted transcripts), regression tests of the real
divergences it found (each fixed in ``ustref/consumerd/handlers.py``, driven
through the sans-IO core), and, with the real C consumer (``-m lttng``), a planted
divergence end to end (a deliberately wrong consumer) and a short campaign on a
fixed seed.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest

from tests.consumerd.drive import Driver
from tests.consumerd.fakes import bare_channel
from ustref.capture.wrapper import find_consumerd
from ustref.consumerd.exchange import Send
from ustref.consumerd.registry import ChannelType
from ustref.fuzz.differential import (
    Transcript,
    compare,
    describe,
    differential_main,
    normalise,
    run_both,
)
from ustref.fuzz.launch import ustref_consumerd
from ustref.fuzz.replay import replay_main
from ustref.fuzz.reproducers import (
    ABI,
    KEY,
    add_relayd_socket_unix,
    ask_data_channel,
    message,
    relayd_control,
)
from ustref.fuzz.session import Action, Heard, Outcome
from ustref.ids import U64_MAX, ChannelKey, ChunkId
from ustref.output.chunk import TraceChunk
from ustref.protocol.consumer import (
    CONSUMER_MSG,
    METADATA_REQUEST_MSG,
    STATUS_CHANNEL,
    AskChannelMember,
    CreateTraceChunkMember,
    Credentials,
    InitMember,
    KeyArgs,
    LttngConsumerCommand,
    OptionalCredentials,
    OptionalU64,
    PushMetadataMember,
    SnapshotChannelMember,
)
from ustref.protocol.layout import walk
from ustref.protocol.lttng_error import LttcommReturnCode, LttngErrorCode

Cmd = LttngConsumerCommand
OK = LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS
INIT = message(Cmd.LTTNG_CONSUMER_INIT, InitMember(sessiond_uuid=bytes(range(16))))


def _status(code: LttcommReturnCode) -> bytes:
    return int(code).to_bytes(4, "little", signed=True)


def _ask_member() -> AskChannelMember:
    msg = CONSUMER_MSG[ABI].parse(ask_data_channel(monitor=True).data)
    assert isinstance(msg.u, AskChannelMember)
    return msg.u


def _t(*heard: Heard, outcome: Outcome | None = None) -> Transcript:
    return Transcript(outcome or Outcome("ok"), heard)


# -- the comparison ------------------------------------------------------------------------


def test_the_same_answers_split_differently_are_no_divergence() -> None:
    """Reads split differently, and a metadata request repeated by a timer, are normalised."""
    request = bytes(range(METADATA_REQUEST_MSG.size))
    c = _t(Heard(0, "command", _status(OK) + _status(OK)), Heard(0, "metadata", request * 3))
    u = _t(
        Heard(0, "command", _status(OK)),
        Heard(1, "command", _status(OK)),
        Heard(1, "metadata", request),
    )
    assert normalise(c) == normalise(u)
    assert compare(c, u).kind == "same"


def test_a_planted_wrong_status_is_a_real_divergence() -> None:
    c = _t(Heard(0, "command", _status(OK)))
    u = _t(Heard(0, "command", _status(LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET)))
    verdict = compare(c, u)
    assert (verdict.kind, verdict.aspects) == ("divergence", ("command",))
    assert verdict.label == "real divergence" and "offset 0" in verdict.detail


def test_fds_error_socket_and_ending_are_compared() -> None:
    c = _t(Heard(0, "command", b"\0" * 16, fds=2))
    u = _t(Heard(0, "command", b"\0" * 16, fds=1), Heard(0, "error", _status(OK)),
           outcome=Outcome("exit", "exited", 1))  # fmt: skip
    verdict = compare(c, u)
    assert verdict.kind == "divergence"
    assert set(verdict.aspects) == {"command-fds", "error", "ending"}


def test_c_crashing_where_ustref_answers_is_classified() -> None:
    c = _t(outcome=Outcome("crash", "signal 6", -6))
    u = _t(Heard(0, "command", _status(OK)))
    verdict = compare(c, u)
    assert (verdict.kind, verdict.label) == ("c-dies", "C crashes, ustref answers")
    assert verdict.signature() == "diff:c-dies:command,ending"


def test_how_fast_each_exits_after_our_hang_up_is_timing() -> None:
    hang_up = [Action("send", data=INIT[:100]), Action("close")]
    c = _t(outcome=Outcome("closed", "still up 2 s later"))
    u = _t(outcome=Outcome("exit", "exited", 0))
    assert compare(c, u, hang_up).kind == "same"
    assert compare(u, c, hang_up).kind == "same"
    assert compare(c, u).kind == "divergence"  # without our hang-up, it is compared


def test_ustref_crashing_is_always_a_real_divergence() -> None:
    c = _t(outcome=Outcome("crash", "signal 6", -6))
    u = _t(outcome=Outcome("crash", "signal 11", -11))
    assert compare(c, u).kind == "divergence"
    hang = _t(outcome=Outcome("hang", "no reply"))
    assert compare(_t(), hang).kind == "divergence"


def test_a_transcript_round_trips_and_describes() -> None:
    t = _t(Heard(0, "command", _status(OK), 1), Heard(0, "command", b""),
           outcome=Outcome("exit", "closed", 0))  # fmt: skip
    assert Transcript.from_json(json.loads(json.dumps(t.to_json()))) == t
    lines = describe(t, [Action("send", data=INIT, note="INIT")])
    assert lines[1].endswith("+1 fd: 00000000") and lines[2].endswith("closed")


# -- divergences found and fixed -----------------------------------------------------------


def test_add_relayd_socket_with_the_all_ones_index_answers_enomem() -> None:
    """``consumer_allocate_relayd_sock_pair`` refuses ``net_index`` -1: a single ENOMEM, no
    fd read (found by the differential fuzzer, seed 1; ustref answered SUCCESS and waited
    for an fd)."""
    driver = Driver()
    replies = driver.command(relayd_control(U64_MAX))
    assert driver.statuses(replies) == [LttcommReturnCode.LTTCOMM_CONSUMERD_ENOMEM]
    assert driver.statuses(driver.command(INIT)) == [OK]


def test_push_metadata_to_a_data_channel_reads_the_bytes_then_fails() -> None:
    """C answers the ready status, reads the bytes and dies on the NULL cache; ustref
    answers the ready status, reads the bytes and answers ERROR_METADATA (it answered
    CHANNEL_FAIL first, and its peer's bytes became the next command). ``len`` 0 is a
    lookup only: SUCCESS, as in C."""
    driver = Driver()
    driver.core.registry.channels[bare_channel(3, ChannelType.DATA).key] = bare_channel(
        3, ChannelType.DATA
    )
    lookup = PushMetadataMember(key=3, target_offset=0, len=0, version=0)
    assert driver.statuses(driver.command(message(Cmd.LTTNG_CONSUMER_PUSH_METADATA, lookup))) == [
        OK
    ]
    push = PushMetadataMember(key=3, target_offset=0, len=4, version=0)
    first = driver.command(message(Cmd.LTTNG_CONSUMER_PUSH_METADATA, push))
    second = driver.command(b"/* C")
    assert driver.statuses(first + second) == [
        OK,
        LttcommReturnCode.LTTCOMM_CONSUMERD_ERROR_METADATA,
    ]
    assert driver.statuses(driver.command(INIT)) == [OK]


def test_snapshot_metadata_of_a_data_channel_fails(caplog: pytest.LogCaptureFixture) -> None:
    """C asserts the metadata cache (ust-consumer.c:3324); ustref refuses a data channel
    before touching its streams: SNAPSHOT_FAILED, for that reason."""
    driver = Driver()
    channel = bare_channel(4, ChannelType.DATA, monitor=False)
    channel.trace_chunk = TraceChunk(chunk_id=ChunkId(1), creation_time=1_700_000_000)
    driver.core.registry.channels[channel.key] = channel
    snap = SnapshotChannelMember(
        pathname="s", use_relayd=0, metadata=1, relayd_id=U64_MAX, key=4, nb_packets_per_stream=0
    )
    replies = driver.command(message(Cmd.LTTNG_CONSUMER_SNAPSHOT_CHANNEL, snap))
    assert driver.statuses(replies) == [LttcommReturnCode.LTTCOMM_CONSUMERD_SNAPSHOT_FAILED]
    assert "not a metadata channel" in caplog.text
    assert channel.metadata_stream is None


def test_close_metadata_of_a_data_channel_answers_not_found_and_keeps_it() -> None:
    """C asserts the metadata type (ust-consumer.c:3233, crash-026b44a01cd5); ustref
    answered SUCCESS and destroyed the data channel."""
    driver = Driver()
    channel = bare_channel(5, ChannelType.DATA)
    driver.core.registry.channels[channel.key] = channel
    replies = driver.command(message(Cmd.LTTNG_CONSUMER_CLOSE_METADATA, KeyArgs(key=5)))
    assert driver.statuses(replies) == [LttngErrorCode.LTTNG_ERR_UST_CHAN_NOT_FOUND]
    assert driver.core.registry.find(channel.key) is channel


def test_ask_channel_creation_naming_an_unknown_chunk_fails_the_channel() -> None:
    """``consumer_allocate_channel`` finds no such chunk: the error status channel (found
    by the differential fuzzer, seed 3; ustref created the channel without a chunk)."""
    driver = Driver()
    member = dataclasses.replace(_ask_member(), chunk_id=OptionalU64(is_set=1, value=7))
    (reply,) = driver.command(message(Cmd.LTTNG_CONSUMER_ASK_CHANNEL_CREATION, member))
    assert isinstance(reply, Send)
    status = STATUS_CHANNEL.parse(reply.data)
    assert status.ret_code == LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL
    assert (status.key, status.stream_count) == (0, 0)
    assert driver.core.registry.find(ChannelKey(KEY)) is None
    assert driver.statuses(driver.command(INIT)) == [OK]


def test_create_trace_chunk_with_a_non_utf8_override_name_answers() -> None:
    """Found by the differential fuzzer (seed 4): an override name whose bytes are not
    UTF-8 made the chunk-name check raise ``UnicodeEncodeError`` and ustref-consumerd
    exit; C counts the bytes. A remote chunk with no such relay daemon: C's answer, a
    status, and the next command is served."""
    driver = Driver()
    member = CreateTraceChunkMember(
        relayd_id=OptionalU64(is_set=1, value=5),
        override_name=b"U\xe7\r\x9c".decode(errors="surrogateescape"),
        session_id=1,
        chunk_id=1,
        creation_timestamp=1_700_000_000,
        credentials=OptionalCredentials(is_set=1, value=Credentials(uid=0, gid=0)),
    )
    replies = driver.command(message(Cmd.LTTNG_CONSUMER_CREATE_TRACE_CHUNK, member))
    assert driver.statuses(replies) == [
        LttcommReturnCode.LTTCOMM_CONSUMERD_CREATE_TRACE_CHUNK_FAILED
    ]
    assert driver.statuses(driver.command(INIT)) == [OK]


# -- against the real C consumer -----------------------------------------------------------

WRONG = [sys.executable, str(Path(__file__).with_name("wrong_consumerd.py"))]


@pytest.mark.lttng
def test_a_planted_divergence_is_detected_and_replays(tmp_path: Path) -> None:
    """A consumer whose INIT answers ALREADY_SET: a real divergence on the command bytes;
    saved as a reproducer, ``replay --target both`` shows it again."""
    from ustref.fuzz.differential import reproducer, save

    actions = [Action("send", data=INIT, note="INIT")]
    c, u, verdict = run_both(find_consumerd(), WRONG, ABI, actions, tmp_path / "w", timeout=3.0)
    assert normalise(c)["command"] == _status(OK)
    assert normalise(u)["command"] == _status(LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET)
    assert (verdict.kind, verdict.aspects) == ("divergence", ("command",))
    path = save(tmp_path, reproducer(ABI, actions, c, u, verdict))
    assert replay_main(path, find_consumerd(), 3.0, ustref=WRONG) == 0  # the file says "both"
    # The real ustref-consumerd answers INIT as C does: the same file no longer reproduces.
    assert replay_main(path, find_consumerd(), 3.0, target="both", ustref=ustref_consumerd()) == 1


@pytest.mark.lttng
def test_a_c_abort_is_classified_c_crashes_ustref_answers(tmp_path: Path) -> None:
    c, u, verdict = run_both(
        find_consumerd(), ustref_consumerd(), ABI, add_relayd_socket_unix(), tmp_path, timeout=3.0
    )
    assert c.outcome.kind == "crash" and c.outcome.status == -6
    assert verdict.kind == "c-dies" and u.outcome.kind == "ok"


@pytest.mark.lttng
def test_a_short_differential_run_finds_no_real_divergence(tmp_path: Path) -> None:
    """Seed 1 found ADD_RELAYD_SOCKET's all-ones index (fixed above); 30 s of it now
    finds no real divergence."""
    status = differential_main(
        find_consumerd(),
        ustref_consumerd(),
        30.0,
        seed=1,
        out=tmp_path,
        timeout=3.0,
        abi=ABI,
        minimise_budget=2,
    )
    doc = json.loads((tmp_path / "summary.json").read_text())
    assert doc["sequences"] >= 2 and doc["commands"] > 0
    assert doc["verdicts"]["divergence"] == 0, doc["divergences"]
    assert status == 0


def _unterminated(action: Action, field: str, fill: bytes) -> Action:
    """``action`` (one command) with its char array ``field`` filled: no NUL left."""
    (array,) = [f for f in walk(CONSUMER_MSG[ABI].grammar) if f.name == field]
    body = (fill * array.size)[: array.size]
    data = action.data[: array.offset] + body + action.data[array.offset + array.size :]
    return dataclasses.replace(action, data=data, note=f"{action.note}, {field} without NUL")


@pytest.mark.lttng
@pytest.mark.parametrize(
    "actions",
    [
        pytest.param(
            [_unterminated(ask_data_channel(monitor=True), "u.ask_channel.name", b"n")],
            id="ask-channel-name-without-nul",
        ),
        pytest.param(
            [_unterminated(ask_data_channel(monitor=True), "u.ask_channel.pathname", b"p")],
            id="ask-channel-pathname-without-nul",
        ),
        pytest.param(
            [
                Action("send", data=relayd_control(0), note="ADD_RELAYD_SOCKET control"),
                Action("send", data=b"\0", fds=("devnull",), note="/dev/null as the socket"),
            ],
            id="add-relayd-socket-dev-null",
        ),
    ],
)
def test_the_two_open_divergences_are_now_the_same(actions: list[Action], tmp_path: Path) -> None:
    """The two real divergences spec/fuzzing.md left open (seeds 3, 5 and 7), each as
    the shortest sequence: ASK_CHANNEL_CREATION whose ``name`` or ``pathname`` has no
    NUL (C answered, ustref was silent) and ADD_RELAYD_SOCKET with ``/dev/null`` (C
    answers FATAL, ustref answered SUCCESS). Against the real C consumer both are now
    answered the same."""
    c, u, verdict = run_both(
        find_consumerd(), ustref_consumerd(), ABI, actions, tmp_path, timeout=3.0
    )
    assert normalise(c)["command"], "C answered nothing: the sequence tests nothing"
    assert verdict.kind == "same", (verdict, describe(c, actions), describe(u, actions))
