"""``spec/ust-ctl-calls.md``: the 41 liblttng-ust-ctl names the consumer uses, and ustref's
pure counterpart of each.

The seed consumer (lttng-tools src/common/ust-consumer/ust-consumer.c @ v2.13.9 and the
seed ``ust-consumer.cpp``) names 38 ``lttng_ust_ctl_*`` functions and 3 types. For each,
:data:`CALLS` gives the pure implementation (a dotted path that must resolve), the test
that holds it against the library (``file::function``, which must exist), and where
ustref-consumerd calls it: the pure backend's method behind the one seam
(:mod:`ustref.consumerd.ring_backend`) and the test that runs it in the consumer;
``tests/specgen/test_ustctl_calls.py`` checks all of them and that the list equals what
the C source names; ``ustref spec render`` writes the page (``--check`` keeps it current).
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
_SEAM = "ustref.consumerd.ring_backend"
_SEAM_TEST = "tests/consumerd/test_ring_backend.py"
_HANDOVER = f"{_SEAM_TEST}::test_both_backends_hand_over_the_same_channel"
_MAPS = f"{_SEAM_TEST}::test_the_pure_consumer_never_maps_liblttng_ust_ctl"
_CORE = (
    "tests/consumerd/test_channels.py::test_metadata_goes_through_the_ring_into_the_metadata_file"
)
_READS = "ustref.consumerd.registry.Stream.reader"


@dataclass(frozen=True, slots=True)
class Call:
    """One liblttng-ust-ctl name and its pure counterpart."""

    name: str
    pure: tuple[str, ...]
    test: str
    note: str = ""
    #: the pure backend's code ustref-consumerd calls for it (behind the seam)
    seam: tuple[str, ...] = ()
    #: a test that runs that code in the consumer
    seam_test: str = ""


def _getter(name: str, test: str = "test_data_channel_flushed_packets") -> Call:
    """A reading call: the consumer calls the pure reader directly, whatever the backend."""
    return Call(
        f"lttng_ust_ctl_{name}",
        (f"{_READER}.{name}",),
        f"{_DIFF}::{test}",
        seam=(_READS,),
        seam_test=_CORE,
    )


CALLS: tuple[Call, ...] = (
    # types
    Call(
        "lttng_ust_ctl_consumer_channel",
        (_CHAN,),
        f"{_CREATE}::test_create_matches_library",
        "type: the consumer's channel (channel object, wait pipe, stream objects)",
        (f"{_SEAM}.PureChannelHandle",),
        _HANDOVER,
    ),
    Call(
        "lttng_ust_ctl_consumer_channel_attr",
        ("ustref.ring.create.ChannelAttr",),
        f"{_CREATE}::test_create_matches_library",
        "type",
        ("ustref.consumerd.handlers.ask_channel_creation",),
        _HANDOVER,
    ),
    Call(
        "lttng_ust_ctl_consumer_stream",
        (_STREAM, _READER),
        f"{_CREATE}::test_create_matches_library",
        "type: shm fd and pipe ends (StreamObject), reading state (StreamReader)",
        (f"{_SEAM}.PureStream",),
        _HANDOVER,
    ),
    # channel life cycle and hand-over
    Call(
        "lttng_ust_ctl_get_nr_stream_per_channel",
        ("ustref.ring.create.possible_cpus_array_len",),
        f"{_CREATE}::test_nr_stream_per_channel",
        seam=(f"{_SEAM}.PureBackend.nr_stream_per_channel",),
        seam_test=_HANDOVER,
    ),
    Call(
        "lttng_ust_ctl_create_channel",
        (f"{_CHAN}.create", "ustref.consumerd.effects.open_stream_fds"),
        f"{_CREATE}::test_create_matches_library",
        "46 configurations; stream fds opened like lttng-tools' open_ust_stream_fd",
        (f"{_SEAM}.PureBackend.create_channel",),
        _HANDOVER,
    ),
    Call(
        "lttng_ust_ctl_destroy_channel",
        (f"{_CHAN}.destroy",),
        f"{_CREATE}::test_destroy_closes_pipes_not_stream_fds",
        seam=(f"{_SEAM}.PureChannelHandle.destroy",),
        seam_test=_MAPS,
    ),
    Call(
        "lttng_ust_ctl_send_channel_to_sessiond",
        (f"{_CHAN}.handover", "ustref.ring.create.channel_handover"),
        f"{_CREATE}::test_create_matches_library",
        "bytes compared with the library's, in the daemon too (one send, then the fd)",
        (f"{_SEAM}.PureChannelHandle.handover",),
        _HANDOVER,
    ),
    Call(
        "lttng_ust_ctl_send_stream_to_sessiond",
        (f"{_CHAN}.stream_handover", "ustref.ring.create.END_OF_STREAMS"),
        f"{_CREATE}::test_end_of_streams_marker",
        "bytes and fd kinds compared with the library's, in the daemon too",
        (f"{_SEAM}.PureStream.handover", f"{_SEAM}.PureBackend.end_of_streams"),
        _HANDOVER,
    ),
    Call(
        "lttng_ust_ctl_channel_get_wait_fd",
        (f"{_CHAN}.wait_fd",),
        f"{_CREATE}::test_create_matches_library",
        seam=(f"{_SEAM}.PureChannelHandle.wait_fd",),
        seam_test="tests/consumerd/test_channels.py::test_data_channel_handover_and_monitor_timer",
    ),
    Call(
        "lttng_ust_ctl_channel_close_wakeup_fd",
        (f"{_CHAN}.close_wakeup_fd",),
        f"{_CREATE}::test_destroy_closes_pipes_not_stream_fds",
        seam=(f"{_SEAM}.PureChannelHandle.close_wakeup_fd",),
        seam_test=_HANDOVER,
    ),
    # streams
    Call(
        "lttng_ust_ctl_create_stream",
        (f"{_CHAN}.stream", f"{_READER}.open_read"),
        f"{_DIFF}::test_put_without_get_and_second_reader",
        seam=(f"{_SEAM}.PureChannelHandle.create_stream",),
        seam_test=_HANDOVER,
    ),
    Call(
        "lttng_ust_ctl_destroy_stream",
        (f"{_READER}.close", f"{_STREAM}.release"),
        f"{_WRITER}::test_metadata_writes_agree",
        seam=(f"{_SEAM}.PureStream.destroy",),
        seam_test=_MAPS,
    ),
    Call(
        "lttng_ust_ctl_stream_get_wait_fd",
        (f"{_STREAM}.wait_fd",),
        f"{_CREATE}::test_create_matches_library",
        seam=(f"{_SEAM}.PureStream.wait_fd",),
        seam_test=f"{_SEAM_TEST}::test_pure_switch_timer_flushes_and_wakes_the_consumer",
    ),
    Call(
        "lttng_ust_ctl_stream_get_wakeup_fd",
        (f"{_STREAM}.wakeup_fd",),
        f"{_CREATE}::test_create_matches_library",
        "the consumer only hands it over and wakes it (flushes, read timer)",
        (f"{_SEAM}.PureStream.handover", f"{_SEAM}.PureChannelHandle.run_timers"),
        f"{_SEAM_TEST}::test_pure_read_timer_wakes_rt_streams",
    ),
    Call(
        "lttng_ust_ctl_stream_close_wakeup_fd",
        (f"{_STREAM}.close_wakeup_fd",),
        f"{_CREATE}::test_destroy_closes_pipes_not_stream_fds",
        seam=(f"{_SEAM}.PureStream.close_wakeup_fd", "ustref.consumerd.core.Core.channel_hangup"),
        seam_test=f"{_SEAM_TEST}::test_channel_hangup_closes_the_stream_wakeup_fds",
    ),
    # writers
    Call(
        "lttng_ust_ctl_write_one_packet_to_channel",
        ("ustref.ring.writer.MetadataWriter.write_one_packet",),
        f"{_WRITER}::test_metadata_writes_agree",
        seam=(f"{_SEAM}.PureChannelHandle.write_one_packet",),
        seam_test=_CORE,
    ),
    Call(
        "lttng_ust_ctl_flush_buffer",
        (f"{_READER}.flush_buffer",),
        f"{_DIFF}::test_pure_flush_matches_library_flush",
        seam=(f"{_SEAM}.PureStream.flush", f"{_SEAM}.PureChannelHandle.run_timers"),
        seam_test=f"{_SEAM_TEST}::test_pure_switch_timer_flushes_and_wakes_the_consumer",
    ),
    Call(
        "lttng_ust_ctl_clear_buffer",
        (f"{_READER}.clear_buffer",),
        f"{_DIFF}::test_pure_clear_matches_library_clear",
        "data and metadata streams, timestamps masked; also tests/ring/test_writer.py",
        (f"{_SEAM}.PureStream.clear",),
        f"{_SEAM_TEST}::test_clear_channel_empties_data_streams_and_spares_metadata",
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
        (_READS,),
        _CORE,
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
        seam=("ustref.ring.shm.ShmMapping",),
        seam_test=_CORE,
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
        "against the library (liblttng-ust-ctl.so.5, lttng-ust 2.13.5), then the code "
        "ustref-consumerd runs for it and a test that runs it in the consumer.",
        "",
        "ustref-consumerd reaches ring buffers through one seam, "
        "`ustref.consumerd.ring_backend`, whose backend is chosen at start-up: "
        "`--ust-ctl pure|lib`, or `USTREF_UST_CTL=pure|lib` in the environment (the way "
        "to choose when lttng-sessiond launches the consumer with its fixed argv). `pure` "
        "is the default: the process never loads liblttng-ust-ctl or its TLS shim "
        "(`/proc/PID/maps` checked by `tests/consumerd/test_ring_backend.py` and, under "
        "a real session, `tests/consumerd/test_side_by_side.py`). `lib` calls the library "
        "through ctypes (`ustref.ring.libustctl`). Reading (`get`/`put`, snapshots, the "
        "packet getters) is pure with both backends.",
        "",
        "Timers: `lttng_ust_ctl_create_channel()` runs `channel_create()` "
        "(ring_buffer_frontend.c) in the consumer, which arms the channel's switch timer "
        "and, for the `-rt` clients (read timer set), its read timer as POSIX timers of "
        "the *consumer* process; the application maps the channel "
        "(`channel_handle_create()`) and runs no ring-buffer timer. lttng-tools zeroes a "
        "metadata channel's `switch_timer_interval` only after creating it "
        "(ust-consumer.c 1600-1601), so the library's switch timer runs for metadata too. "
        "The pure backend runs both timers as deadlines of the core "
        "(`PureChannelHandle.next_deadline`/`run_timers`, `ustref.ring.timers`); the "
        "consumer's own timers of consumer-timer.c are the core's (monitor, metadata "
        "switch timer) or not yet implemented (live timer).",
        "",
        "| call | pure implementation | proved by | consumer (pure backend) | run by | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]

    def code(paths: tuple[str, ...]) -> str:
        return "<br>".join(f"`{p}`" for p in paths) if paths else "**missing**"

    for call in CALLS:
        test = f"`{call.test}`" if call.test else "**missing**"
        seam_test = f"`{call.seam_test}`" if call.seam_test else "**missing**"
        lines.append(
            f"| `{call.name}` | {code(call.pure)} | {test} | {code(call.seam)} | {seam_test} "
            f"| {call.note} |"
        )
    missing = [c.name for c in CALLS if not (c.pure and c.test and c.seam and c.seam_test)]
    lines += ["", f"Missing: {', '.join(missing) if missing else 'none'}.", ""]
    return "\n".join(lines)
