"""The relay-daemon and live-viewer protocols as sequences (rendered into their pages).

Each sequence is data: arrows ``(from, to, what)`` whose ``what`` names the
structs of the page in backquotes, so the page links each one to its field
table. Read from src/common/relayd/relayd.c (the consumer's and session
daemon's side), src/bin/lttng-relayd/main.c (``relay_process_control``,
``relay_process_data``) and live.c (``process_control``) @ v2.13.9; the same
at 97535efaa except the version numbers (see abi-diff.md, wire constants).
"""

from __future__ import annotations

import dataclasses
import re

from ustref.protocol.abi import Abi
from ustref.protocol.grammars import schema
from ustref.protocol.registry import Protocol
from ustref.specgen.prose import slot


@dataclasses.dataclass(frozen=True)
class Sequence:
    title: str
    actors: tuple[tuple[str, str], ...]
    arrows: tuple[tuple[str, str, str], ...]
    note: str = ""


SESSIOND = ("S", "lttng-sessiond")
CONSUMERD = ("C", "lttng-consumerd")
RELAYD = ("R", "lttng-relayd")
LIVE_VIEWER = ("V", "live viewer (babeltrace2)")

_CMD = "`lttcomm_relayd_hdr` (cmd = {cmd}, data_size) + `{payload}`"

RELAYD_SEQUENCES: tuple[Sequence, ...] = (
    Sequence(
        "Handshake and session (session daemon, control socket)",
        (SESSIOND, RELAYD, CONSUMERD),
        (
            ("S", "R", _CMD.format(cmd="RELAYD_VERSION", payload="lttcomm_relayd_version")),
            ("R", "S", "`lttcomm_relayd_version` (its own major/minor; the lower minor is used)"),
            (
                "S",
                "R",
                _CMD.format(
                    cmd="RELAYD_GET_CONFIGURATION", payload="lttcomm_relayd_get_configuration"
                )
                + " (minor ≥ 12: is clear allowed?)",
            ),
            (
                "R",
                "S",
                "`lttcomm_relayd_get_configuration_reply` "
                "(flags LTTCOMM_RELAYD_CONFIGURATION_FLAG_*)",
            ),
            (
                "S",
                "R",
                _CMD.format(
                    cmd="RELAYD_CREATE_SESSION", payload="lttcomm_relayd_create_session_2_11"
                )
                + " + session name, hostname, base path",
            ),
            ("R", "S", "`lttcomm_relayd_create_session_reply_2_11` + output path"),
            (
                "S",
                "R",
                "data socket: connected, nothing sent (no RELAYD_VERSION: "
                "`create_connect_relayd` handshakes the control socket only)",
            ),
            ("S", "C", "ADD_RELAYD_SOCKET (control), then ADD_RELAYD_SOCKET (data): the fds"),
        ),
        "All of this is the session daemon's, before the hand-over (lttng-sessiond's "
        "cmd.c and consumer.c; .cpp at 97535efaa): `create_connect_relayd` sends "
        "RELAYD_VERSION then RELAYD_GET_CONFIGURATION (skipped below minor 12, "
        "`relayd_supports_get_configuration`), and `consumer_send_relayd_socket` sends "
        "RELAYD_CREATE_SESSION, then the ADD_RELAYD_SOCKET message and the fd: "
        "GET_CONFIGURATION comes before CREATE_SESSION. The consumer's first byte on the "
        "control socket is therefore its own first command, and on the data socket its "
        "first `lttcomm_relayd_data_hdr` (the golden captures `streaming`, `live`, "
        "`snapshot-remote` and `rotation-remote` show both). Minor < 11 peers use "
        "`lttcomm_relayd_create_session_2_4` and get `lttcomm_relayd_status_session`.",
    ),
    Sequence(
        "Streams and data (consumer daemon)",
        (CONSUMERD, RELAYD),
        (
            (
                "C",
                "R",
                _CMD.format(cmd="RELAYD_ADD_STREAM", payload="lttcomm_relayd_add_stream_2_11")
                + " + channel name, path (GET_CHANNEL, SETUP_METADATA, snapshots)",
            ),
            ("R", "C", "`lttcomm_relayd_status_stream` (relayd stream id, ret_code)"),
            ("C", "R", _CMD.format(cmd="RELAYD_STREAMS_SENT", payload="(none)")),
            ("R", "C", "`lttcomm_relayd_generic_reply`"),
            (
                "C",
                "R",
                "data socket: `lttcomm_relayd_data_hdr` (stream id, net_seq_num, data_size, "
                "padding_size) + packet bytes, per packet; no reply",
            ),
            (
                "C",
                "R",
                _CMD.format(cmd="RELAYD_SEND_INDEX", payload="lttcomm_relayd_index")
                + " per data packet",
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply`"),
            (
                "C",
                "R",
                _CMD.format(cmd="RELAYD_SEND_METADATA", payload="lttcomm_relayd_metadata_payload")
                + " + metadata bytes, per metadata packet; no reply",
            ),
            (
                "C",
                "R",
                _CMD.format(cmd="RELAYD_CLOSE_STREAM", payload="lttcomm_relayd_close_stream"),
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply`"),
        ),
        "Every control command is a 24-byte big-endian `lttcomm_relayd_hdr` (`circuit_id`, "
        "`data_size`, `cmd`, `cmd_version`) followed by `data_size` bytes of payload, sent in "
        "one `sendmsg` (`send_command`, relayd.c); the relay daemon answers each one except "
        "SEND_METADATA. The data socket carries only 32-byte `lttcomm_relayd_data_hdr` "
        "headers, each followed by `data_size` bytes of packet content (the padding is not "
        "sent: `write_relayd_stream_header`, consumer.c), and nothing ever comes back on it.",
    ),
    Sequence(
        "Data pending (DATA_PENDING from the session daemon)",
        (CONSUMERD, RELAYD),
        (
            (
                "C",
                "R",
                _CMD.format(
                    cmd="RELAYD_BEGIN_DATA_PENDING", payload="lttcomm_relayd_begin_data_pending"
                ),
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply`"),
            (
                "C",
                "R",
                _CMD.format(cmd="RELAYD_DATA_PENDING", payload="lttcomm_relayd_data_pending")
                + ", per stream",
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply` (ret_code 1: data pending)"),
            (
                "C",
                "R",
                _CMD.format(
                    cmd="RELAYD_QUIESCENT_CONTROL", payload="lttcomm_relayd_quiescent_control"
                )
                + ", per stream",
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply`"),
            (
                "C",
                "R",
                _CMD.format(
                    cmd="RELAYD_END_DATA_PENDING", payload="lttcomm_relayd_end_data_pending"
                ),
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply` (ret_code: is data pending)"),
        ),
    ),
    Sequence(
        "Rotation and trace chunks",
        (CONSUMERD, RELAYD),
        (
            (
                "C",
                "R",
                _CMD.format(
                    cmd="RELAYD_CREATE_TRACE_CHUNK", payload="lttcomm_relayd_create_trace_chunk"
                )
                + " + override name (CREATE_TRACE_CHUNK)",
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply`"),
            (
                "C",
                "R",
                _CMD.format(cmd="RELAYD_ROTATE_STREAMS", payload="lttcomm_relayd_rotate_streams")
                + " + `lttcomm_relayd_stream_rotation_position` per stream (ROTATE_CHANNEL)",
            ),
            ("R", "C", "`lttcomm_relayd_generic_reply`"),
            (
                "C",
                "R",
                _CMD.format(
                    cmd="RELAYD_CLOSE_TRACE_CHUNK", payload="lttcomm_relayd_close_trace_chunk"
                )
                + " (CLOSE_TRACE_CHUNK)",
            ),
            ("R", "C", "`lttcomm_relayd_close_trace_chunk_reply` + path"),
            (
                "C",
                "R",
                _CMD.format(
                    cmd="RELAYD_TRACE_CHUNK_EXISTS", payload="lttcomm_relayd_trace_chunk_exists"
                )
                + " (TRACE_CHUNK_EXISTS, polled)",
            ),
            ("R", "C", "`lttcomm_relayd_trace_chunk_exists_reply`"),
        ),
        "RELAYD_RESET_METADATA (`lttcomm_relayd_reset_metadata`) announces a new metadata "
        "version after `lttng regenerate metadata`.",
    ),
)

_VCMD = "`lttng_viewer_cmd` (cmd = {cmd}) + `{payload}`"

VIEWER_SEQUENCES: tuple[Sequence, ...] = (
    Sequence(
        "Live viewer session",
        (LIVE_VIEWER, RELAYD),
        (
            (
                "V",
                "R",
                _VCMD.format(cmd="LTTNG_VIEWER_CONNECT", payload="lttng_viewer_connect")
                + " (type LTTNG_VIEWER_CLIENT_COMMAND)",
            ),
            ("R", "V", "`lttng_viewer_connect` (relayd version, viewer_session_id)"),
            ("V", "R", "`lttng_viewer_cmd` (cmd = LTTNG_VIEWER_CREATE_SESSION)"),
            ("R", "V", "`lttng_viewer_create_session_response`"),
            ("V", "R", "`lttng_viewer_cmd` (cmd = LTTNG_VIEWER_LIST_SESSIONS)"),
            ("R", "V", "`lttng_viewer_list_sessions` + `lttng_viewer_session` × sessions_count"),
            (
                "V",
                "R",
                _VCMD.format(
                    cmd="LTTNG_VIEWER_ATTACH_SESSION", payload="lttng_viewer_attach_session_request"
                )
                + " (seek LTTNG_VIEWER_SEEK_*)",
            ),
            (
                "R",
                "V",
                "`lttng_viewer_attach_session_response` (LTTNG_VIEWER_ATTACH_*) + "
                "`lttng_viewer_stream` × streams_count",
            ),
            (
                "V",
                "R",
                _VCMD.format(cmd="LTTNG_VIEWER_GET_METADATA", payload="lttng_viewer_get_metadata"),
            ),
            (
                "R",
                "V",
                "`lttng_viewer_metadata_packet` (LTTNG_VIEWER_METADATA_OK / "
                "NO_NEW_METADATA) + len bytes",
            ),
            (
                "V",
                "R",
                _VCMD.format(
                    cmd="LTTNG_VIEWER_GET_NEXT_INDEX", payload="lttng_viewer_get_next_index"
                ),
            ),
            (
                "R",
                "V",
                "`lttng_viewer_index` (LTTNG_VIEWER_INDEX_*, flags LTTNG_VIEWER_FLAG_* : new "
                "metadata / new streams to fetch first)",
            ),
            (
                "V",
                "R",
                _VCMD.format(cmd="LTTNG_VIEWER_GET_PACKET", payload="lttng_viewer_get_packet"),
            ),
            ("R", "V", "`lttng_viewer_trace_packet` (LTTNG_VIEWER_GET_PACKET_*) + len bytes"),
            (
                "V",
                "R",
                _VCMD.format(
                    cmd="LTTNG_VIEWER_GET_NEW_STREAMS", payload="lttng_viewer_new_streams_request"
                ),
            ),
            (
                "R",
                "V",
                "`lttng_viewer_new_streams_response` (LTTNG_VIEWER_NEW_STREAMS_*) + "
                "`lttng_viewer_stream` × streams_count",
            ),
            (
                "V",
                "R",
                _VCMD.format(
                    cmd="LTTNG_VIEWER_DETACH_SESSION", payload="lttng_viewer_detach_session_request"
                ),
            ),
            ("R", "V", "`lttng_viewer_detach_session_response`"),
        ),
        "All integers big-endian. GET_NEXT_INDEX answers RETRY while the live timer has not "
        "yet flushed a packet, and HUP/EOF when the stream is gone; a flag in its reply "
        "makes the viewer fetch metadata or new streams before the next packet.",
    ),
)


def _linked(text: str, names: set[str]) -> str:
    """Backquoted struct names become links to their sections on the page."""
    return re.sub(
        r"`([a-z0-9_]+)`",
        lambda m: f"[`{m[1]}`](#{m[1]})" if m[1] in names else m[0],
        text,
    )


def _render(sequence: Sequence, names: set[str], kept: dict[str, str], key: str) -> str:
    lines = ["```mermaid", "sequenceDiagram"]
    lines += [f"    participant {a} as {label}" for a, label in sequence.actors]
    for src, dst, what in sequence.arrows:
        lines.append(f"    {src}->>{dst}: {what.replace('`', '').replace(';', ',')}")
    lines.append("```\n")
    listed = [
        f"{i}. {src}→{dst}: {_linked(what, names)}"
        for i, (src, dst, what) in enumerate(sequence.arrows, 1)
    ]
    note = f"\n{_linked(sequence.note, names)}\n" if sequence.note else ""
    return (
        f"\n### {sequence.title}\n\n"
        + "\n".join(lines)
        + "\n"
        + "\n".join(listed)
        + "\n"
        + note
        + "\n"
        + slot(key, kept)
    )


def _page_sequences(
    abi: Abi, kept: dict[str, str], protocol: Protocol, sequences: tuple[Sequence, ...]
) -> str:
    names = {s.c_name for s in schema(abi).structs.values() if s.protocol is protocol}
    out = [
        "\n## Sequences\n\nWho sends what, in order (the field tables follow below; the "
        "consumer-side causes are on the [consumer page](sessiond-consumerd.md)).\n"
    ]
    for i, sequence in enumerate(sequences):
        out.append(_render(sequence, names, kept, f"{protocol.value}:seq{i}"))
    return "".join(out)


def relayd_sequences(abi: Abi, kept: dict[str, str]) -> str:
    return _page_sequences(abi, kept, Protocol.RELAYD, RELAYD_SEQUENCES)


def viewer_sequences(abi: Abi, kept: dict[str, str]) -> str:
    return _page_sequences(abi, kept, Protocol.VIEWER, VIEWER_SEQUENCES)
