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
        "`ERROR_RECV_CMD` on the error socket; the request fails (the caller goes on)",
    ),
    (
        "command socket: ADD_RELAYD_SOCKET whose fd is not an AF_INET/AF_INET6 socket",
        "`lttcomm_populate_sock_from_open_socket` (sessiond-comm.c:486–528, called at "
        "consumer.c:3650) meets another address family, e.g. an AF_UNIX socket",
        "`abort()` (sessiond-comm.c:528): SIGABRT (reproducer crash-4ab31acc7a91, which "
        "sends an AF_UNIX socket)",
    ),
    (
        "command socket: CREATE_TRACE_CHUNK of a local chunk without credentials",
        "`credentials.is_set` = 0 with a directory fd: `lttng_consumer_create_trace_chunk` "
        "passes NULL credentials to `lttng_trace_chunk_set_credentials` (consumer.c:4794)",
        "NULL dereference (trace-chunk.c:988): SIGSEGV (reproducer crash-ebf50ad5f1a4, "
        "which sends a directory fd)",
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
        "real `lttng-consumerd`.\n\n"
        "| reproducer | signature | what it sends | explained by |\n"
        "| --- | --- | --- | --- |\n"
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
            f"| {sends} | {cause} |\n"
        )
    return "".join(out)


def _link_findings(text: str) -> str:
    return re.sub(r"(crash-[0-9a-f]{12})", r"[\1](#\1)", text)
