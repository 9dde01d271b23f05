"""The "where the C consumer aborts" page.

Two sources, both data: the preconditions of the behaviour table
(:data:`~ustref.consumerd.behaviour.BEHAVIOUR`, ``aborts=True``) — every assert
or fatal ending of ``lttng_ustconsumer_recv_cmd`` and its helpers that a
peer's bytes reach — and the reproducers the consumer fuzzer saved under
``spec/findings/`` (``ustref fuzz consumerd``), each listed with the commands
it sends and the C signature it produced, linked to the precondition that
explains it when the table names it.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from ustref.consumerd.behaviour import BEHAVIOUR, COMMON_PRECONDITIONS
from ustref.protocol.consumer import LttngConsumerCommand
from ustref.specgen.links import heading_anchor
from ustref.specgen.prose import slot

CONSUMER_PAGE = "v2.13.9/sessiond-consumerd.md"

#: Fatal paths a peer reaches that no single command's precondition covers:
#: (where, what triggers it, outcome).
OTHER_PATHS: tuple[tuple[str, str, str], ...] = (
    (
        "metadata socket: `lttng_ustconsumer_request_metadata` (ust-consumer.c:3402)",
        "a PUSH_METADATA reply whose `key` is not the requesting channel's (the metadata "
        "switch timer, `metadata_switch_timer`, consumer-timer.c:111; SNAPSHOT_CHANNEL's "
        "`snapshot_metadata`, ust-consumer.c:988; or a live data stream's post-consume hook "
        "`consumer_stream_sync_metadata_index`, consumer-stream.c:418–432, through "
        "`lttng_ustconsumer_sync_metadata`, ust-consumer.c:2665)",
        "`assert(key == channel->key)`: SIGABRT",
    ),
    (
        "metadata socket: `lttng_ustconsumer_request_metadata` (ust-consumer.c:3370–3380)",
        "a reply cut short by EOF or a receive error (otherwise the whole "
        "`lttcomm_consumer_msg` arrives: `lttcomm_recv_unix_sock`, unix.c:195–209, loops)",
        "`ERROR_RECV_CMD` on the error socket; at EOF the receive returns 0 and so does "
        "the request, as if done (a receive error, −1, fails it); the caller goes on. "
        "ustref-consumerd does the same at EOF (its shell reads a receive error as EOF)",
    ),
    (
        "command socket: CREATE_TRACE_CHUNK of a local chunk without credentials",
        "`credentials.is_set` = 0 with a directory fd: `lttng_consumer_create_trace_chunk` "
        "passes NULL credentials to `lttng_trace_chunk_set_credentials` (consumer.c:4794)",
        "NULL dereference (trace-chunk.c:988): SIGSEGV (reproducers crash-ebf50ad5f1a4, "
        "found by the fuzzer, and crash-9377cf1e7f4c, a well-formed chunk)",
    ),
    (
        "command socket: PUSH_METADATA with a data channel's key and `len` > 0",
        "after the ready status and the bytes, `lttng_ustconsumer_recv_metadata` locks the "
        "data channel's metadata cache, which is NULL (ust-consumer.c:1305)",
        "NULL dereference: SIGSEGV (reproducer crash-08f575349096)",
    ),
    (
        "command socket: SETUP_METADATA with a monitored data channel's key before GET_CHANNEL",
        "the channel's streams are still in its list, so `setup_metadata` passes the "
        "empty-list check and reads the NULL `metadata_stream` (ust-consumer.c:910)",
        "NULL dereference: SIGSEGV (reproducer crash-ec20ff82a0fd)",
    ),
    (
        "command socket: SNAPSHOT_CHANNEL with `metadata` = 1 and an unmonitored data "
        "channel's key",
        "`snapshot_metadata` (its `assert(!channel->monitor)`, ust-consumer.c:980, holds) "
        "asks for metadata: `lttng_ustconsumer_request_metadata` asserts "
        "`channel->metadata_cache`",
        "`assert` (ust-consumer.c:3324): SIGABRT (reproducer crash-19cf58c9f06c)",
    ),
    (
        "command socket: CLOSE_TRACE_CHUNK whose `close_command` is set to a value out of "
        "`enum lttng_trace_chunk_command_type`",
        "`lttng_consumer_close_trace_chunk` names the command for its log "
        "(consumer.c:4933), before it looks the chunk up: "
        "`lttng_trace_chunk_command_type_get_name` has no case for it",
        "`abort()` (trace-chunk.c:1826): SIGABRT (reproducer crash-39840437ce75, found by "
        "the differential fuzzer)",
    ),
    (
        "command socket: ASK_CHANNEL_CREATION with buffer credentials",
        "a `uid` unknown to the system: the run-as worker exits",
        "`assert(sock)` in `lttcomm_recv_unix_sock` (unix.c:184): SIGABRT "
        "(reproducer crash-f3116154ca40)",
    ),
)


def _loaded(value: Any) -> Any:
    """Finding fields are JSON, or the repr of a Python literal for older files."""
    return ast.literal_eval(value) if isinstance(value, str) else value


def _commands(actions: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for action in actions:
        data = bytes.fromhex(action.get("data_hex", ""))
        if action.get("socket") == "command" and len(data) >= 4096:
            value = int.from_bytes(data[:4], "little")
            try:
                names.append(LttngConsumerCommand(value).name.removeprefix("LTTNG_CONSUMER_"))
            except ValueError:
                names.append(f"cmd_type {value}")
        elif action.get("op") == "send":
            names.append(f"{len(data)} raw byte{'s' * (len(data) != 1)}")
    return names


def finding_ids(text: str) -> set[str]:
    return set(re.findall(r"crash-[0-9a-f]{12}", text))


def _explained_by() -> dict[str, str]:
    """Reproducer id → the command whose precondition names it."""
    found: dict[str, str] = {}
    for command, behaviour in BEHAVIOUR.items():
        for p in behaviour.preconditions:
            for rid in finding_ids(p.otherwise):
                found[rid] = command.name
    return found


def aborts_page(spec_root: Path, kept: dict[str, str], header: str) -> str:
    out = [
        header,
        "# Where the C consumer aborts (lttng-tools v2.13.9)\n\n",
        "Every assert or fatal ending of the C UST consumer that a peer's bytes can reach, "
        "from the behaviour table (`ustref/consumerd/behaviour.py`), and every reproducer "
        "the consumer fuzzer saved in `spec/findings/`. ustref's consumer answers these "
        "inputs with an error status or a typed `RemoteProtocolError` instead.\n\n",
        slot("aborts:intro", kept),
        "\n## Every command\n\n| must hold | otherwise |\n| --- | --- |\n",
    ]
    out += [f"| {p.what} | {p.otherwise} |\n" for p in COMMON_PRECONDITIONS if p.aborts]
    out.append("\n## Per command\n\n| command | must hold | otherwise |\n| --- | --- | --- |\n")
    for command, behaviour in BEHAVIOUR.items():
        link = f"[{command.name}]({CONSUMER_PAGE}#{heading_anchor(command.name)})"
        for p in behaviour.preconditions:
            if p.aborts:
                out.append(f"| {link} | {p.what} | {_link_findings(p.otherwise)} |\n")
    out.append("\n## Other fatal paths\n\n| where | trigger | outcome |\n| --- | --- | --- |\n")
    out += [f"| {w} | {t} | {_link_findings(o)} |\n" for w, t, o in OTHER_PATHS]
    out.append(
        "\n## Reproducers\n\nEach file replays with `ustref fuzz replay FILE` against the "
        "real `lttng-consumerd` (`--target ustref`: against ustref-consumerd; `--target "
        "both`: the two side by side). `tests/fuzz/test_consumerd.py` checks that each "
        "still kills the C consumer with its signature; `tests/fuzz/test_reproducers.py` "
        "that ustref-consumerd answers what the last column says (to the last action; "
        "*nothing* only where C's protocol has no reply for the command: STOP and the "
        "commands the UST consumer leaves to its `default:` branch, an unknown `cmd_type` "
        "among them; a command refused for a value out of its enum gets its failure "
        "reply), "
        "stays up, and answers a well-formed DATA_PENDING sent next.\n\n"
        "| reproducer | C signature | what it sends | explained by | ustref-consumerd |\n"
        "| --- | --- | --- | --- | --- |\n"
    )
    explained = _explained_by()
    for path in sorted((spec_root / "findings").glob("crash-*.json")):
        doc = json.loads(path.read_text())
        rid = path.stem
        sends = " → ".join(_commands(_loaded(doc["actions"])))
        by = explained.get(rid)
        cause = (
            f"[{by}]({CONSUMER_PAGE}#{heading_anchor(by)})" if by else "[other](#other-fatal-paths)"
        )
        out.append(
            f'| <a id="{rid}"></a>[`{rid}`](findings/{path.name}) | `{doc["signature"]}` '
            f"| {sends} | {cause} | {_ustref(doc.get('ustref'))} |\n"
        )
    return "".join(out)


def _ustref(record: dict[str, Any] | None) -> str:
    """What ustref-consumerd did with a reproducer (its file's ``ustref`` record)."""
    if record is None:
        return "not run"
    answer = record["answer"]
    said = "answers nothing" if answer == "nothing" else f"answers `{answer}`"
    up = "stays up" if record["alive"] and record["ending"] == "ok" else record["ending"]
    served = ", serves the next command" if record["next_command_served"] else ""
    return f"{said}, {up}{served}"


def _link_findings(text: str) -> str:
    return re.sub(r"(crash-[0-9a-f]{12})", r"[\1](#\1)", text)
