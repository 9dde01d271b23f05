"""``spec/ust-ctl-calls.md``: the 41 liblttng-ust-ctl names the consumer uses, and ustref's
pure counterpart of each.

The seed consumer (lttng-tools src/common/ust-consumer/ust-consumer.c @ v2.13.9 and the
seed ``ust-consumer.cpp``) names 38 ``lttng_ust_ctl_*`` functions and 3 types. For each,
:data:`CALLS` gives the pure implementation (a dotted path that must resolve) and the test
that holds it against the library (``file::function``, which must exist);
``tests/specgen/test_ustctl_calls.py`` checks both and that the list equals what the C
source names; ``ustref spec render`` writes the page (``--check`` keeps it current).
"""

from __future__ import annotations

from dataclasses import dataclass

PAGE = "ust-ctl-calls.md"

_DIFF = "tests/ring/test_differential.py"
_CREATE = "tests/ring/test_create.py"
_WRITER = "tests/ring/test_writer.py"
_ROBUST = "tests/ring/test_robustness.py"
_READER = "ustref.ring.reader.StreamReader"
_CHAN = "ustref.ring.channel.PureChannel"
_STREAM = "ustref.ring.channel.StreamObject"


@dataclass(frozen=True, slots=True)
class Call:
    """One liblttng-ust-ctl name and its pure counterpart."""

    name: str
    pure: tuple[str, ...]
    test: str
    note: str = ""


def _getter(name: str, test: str = "test_data_channel_flushed_packets") -> Call:
    return Call(f"lttng_ust_ctl_{name}", (f"{_READER}.{name}",), f"{_DIFF}::{test}")


CALLS: tuple[Call, ...] = (
    # types
    Call(
        "lttng_ust_ctl_consumer_channel",
        (_CHAN,),
        f"{_CREATE}::test_create_matches_library",
        "type: the consumer's channel (channel object, wait pipe, stream objects)",
    ),
    Call(
        "lttng_ust_ctl_consumer_channel_attr",
        ("ustref.ring.create.ChannelAttr",),
        f"{_CREATE}::test_create_matches_library",
        "type",
    ),
    Call(
        "lttng_ust_ctl_consumer_stream",
        (_STREAM, _READER),
        f"{_CREATE}::test_create_matches_library",
        "type: shm fd and pipe ends (StreamObject), reading state (StreamReader)",
    ),
    # channel life cycle and hand-over
    Call(
        "lttng_ust_ctl_get_nr_stream_per_channel",
        ("ustref.ring.create.possible_cpus_array_len",),
        f"{_CREATE}::test_nr_stream_per_channel",
    ),
    Call(
        "lttng_ust_ctl_create_channel",
        (f"{_CHAN}.create", "ustref.ring.channel.open_stream_fds"),
        f"{_CREATE}::test_create_matches_library",
        "46 configurations; stream fds opened like lttng-tools' open_ust_stream_fd",
    ),
    Call(
        "lttng_ust_ctl_destroy_channel",
        (f"{_CHAN}.destroy",),
        f"{_CREATE}::test_destroy_closes_pipes_not_stream_fds",
    ),
    Call(
        "lttng_ust_ctl_send_channel_to_sessiond",
        (f"{_CHAN}.handover", "ustref.ring.create.channel_handover"),
        f"{_CREATE}::test_create_matches_library",
        "bytes compared; socket I/O is the daemon's (not yet wired)",
    ),
    Call(
        "lttng_ust_ctl_send_stream_to_sessiond",
        (f"{_CHAN}.stream_handover", "ustref.ring.create.END_OF_STREAMS"),
        f"{_CREATE}::test_end_of_streams_marker",
        "bytes compared; socket I/O is the daemon's (not yet wired)",
    ),
    Call(
        "lttng_ust_ctl_channel_get_wait_fd",
        (f"{_CHAN}.wait_fd",),
        f"{_CREATE}::test_create_matches_library",
    ),
    Call(
        "lttng_ust_ctl_channel_close_wakeup_fd",
        (f"{_CHAN}.close_wakeup_fd",),
        f"{_CREATE}::test_destroy_closes_pipes_not_stream_fds",
    ),
    # streams
    Call(
        "lttng_ust_ctl_create_stream",
        (f"{_CHAN}.stream", f"{_READER}.open_read"),
        f"{_DIFF}::test_put_without_get_and_second_reader",
    ),
    Call(
        "lttng_ust_ctl_destroy_stream",
        (f"{_READER}.close", f"{_STREAM}.release"),
        f"{_WRITER}::test_metadata_writes_agree",
    ),
    Call(
        "lttng_ust_ctl_stream_get_wait_fd",
        (f"{_STREAM}.wait_fd",),
        f"{_CREATE}::test_create_matches_library",
    ),
    Call(
        "lttng_ust_ctl_stream_get_wakeup_fd",
        (f"{_STREAM}.wakeup_fd",),
        f"{_CREATE}::test_create_matches_library",
    ),
    Call(
        "lttng_ust_ctl_stream_close_wakeup_fd",
        (f"{_STREAM}.close_wakeup_fd",),
        f"{_CREATE}::test_destroy_closes_pipes_not_stream_fds",
    ),
    # writers
    Call(
        "lttng_ust_ctl_write_one_packet_to_channel",
        ("ustref.ring.writer.MetadataWriter.write_one_packet",),
        f"{_WRITER}::test_metadata_writes_agree",
    ),
    Call(
        "lttng_ust_ctl_flush_buffer",
        (f"{_READER}.flush_buffer",),
        f"{_DIFF}::test_pure_flush_matches_library_flush",
    ),
    Call(
        "lttng_ust_ctl_clear_buffer",
        ("ustref.ring.writer.MetadataWriter.clear_buffer",),
        f"{_WRITER}::test_clear_buffer_agrees",
        "proved on metadata streams (a data stream's clear also stamps the clock)",
    ),
    # positions and sub-buffers
    _getter("snapshot", "test_snapshot_statuses_agree"),
    _getter("snapshot_sample_positions", "test_snapshot_iteration_without_consuming"),
    _getter("snapshot_get_consumed", "test_snapshot_iteration_without_consuming"),
    _getter("snapshot_get_produced", "test_snapshot_iteration_without_consuming"),
    _getter("get_subbuf", "test_snapshot_iteration_without_consuming"),
    _getter("put_subbuf", "test_snapshot_iteration_without_consuming"),
    _getter("get_next_subbuf", "test_metadata_channel"),
    _getter("put_next_subbuf", "test_metadata_channel"),
    Call(
        "lttng_ust_ctl_get_mmap_base",
        ("ustref.ring.shm.ShmMapping", f"{_READER}.read_subbuf"),
        f"{_DIFF}::test_metadata_channel",
        "no raw address: the mapping and its bounds-checked reads",
    ),
    _getter("get_mmap_read_offset"),
    _getter("get_subbuf_size"),
    _getter("get_padded_subbuf_size"),
    _getter("get_max_subbuf_size"),
    # packet getters
    _getter("get_timestamp_begin"),
    _getter("get_timestamp_end"),
    _getter("get_events_discarded"),
    _getter("get_content_size"),
    _getter("get_packet_size"),
    _getter("get_stream_id"),
    _getter("get_sequence_number"),
    _getter("get_instance_id"),
    _getter("get_current_timestamp", "test_current_timestamp_is_the_trace_clock"),
    # SIGBUS
    Call(
        "lttng_ust_ctl_sigbus_handle",
        ("ustref.ring.shm.SigbusGuard",),
        f"{_ROBUST}::test_truncate_under_the_reader",
    ),
)


def page() -> str:
    """The Markdown of ``spec/ust-ctl-calls.md``."""
    lines = [
        "# liblttng-ust-ctl calls of the consumer, and their pure counterparts",
        "",
        f"The seed consumer names {len(CALLS)} `lttng_ust_ctl_*` functions and types "
        "(src/common/ust-consumer/ust-consumer.c @ v2.13.9). Each row gives the ustref "
        "code that does the same without liblttng-ust-ctl and the test that holds it "
        "against the library (liblttng-ust-ctl.so.5, lttng-ust 2.13.5).",
        "",
        "| call | pure implementation | proved by | note |",
        "| --- | --- | --- | --- |",
    ]
    for call in CALLS:
        pure = "<br>".join(f"`{p}`" for p in call.pure) if call.pure else "**missing**"
        test = f"`{call.test}`" if call.test else "**missing**"
        lines.append(f"| `{call.name}` | {pure} | {test} | {call.note} |")
    missing = [c.name for c in CALLS if not c.pure or not c.test]
    lines += ["", f"Missing: {', '.join(missing) if missing else 'none'}.", ""]
    return "\n".join(lines)
