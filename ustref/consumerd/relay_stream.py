"""A stream's output to a relay daemon: the relay branch of the consumer's read path.

Mirrors, for one stream sent to a relay daemon (``stream->net_seq_idx`` set), the
relay half of ``lttng_consumer_on_read_subbuffer_mmap`` (consumer.c:
``write_relayd_stream_header`` — a ``lttcomm_relayd_data_hdr`` on the data socket for
a data packet, RELAYD_SEND_METADATA on the control socket for metadata —
``write_relayd_metadata_id`` and the packet content, padding left out),
``consumer_stream_send_index`` (RELAYD_SEND_INDEX after every data packet) and
``consumer_stream_relayd_close`` (RELAYD_CLOSE_STREAM). It sits where a local stream
has its :class:`~ustref.output.stream.StreamOutput`.

Control-socket traffic runs as exchanges of the consumer's own that queue for the
relay's slot (``run_exchange``: C takes ``relayd->ctrl_sock_mutex``), in order; a data
packet is a :class:`~ustref.consumerd.exchange.SendRelaydData` action the shell
queues on the relay's data socket. A relay error (an I/O error or a failing reply)
fails that exchange and calls ``on_error``: the relay is cleaned up
(``lttng_consumer_cleanup_relayd``, :mod:`ustref.consumerd.relay_cleanup`) and the
output becomes :attr:`RelayOutput.inactive`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Sequence
from typing import TYPE_CHECKING, Protocol

from ustref._lazy import lazy_module
from ustref.consumerd.exchange import (
    Acquire,
    Action,
    HandlerGen,
    Peer,
    Received,
    SendRelaydData,
    Wait,
)
from ustref.errors import UstrefError
from ustref.ids import U64_MAX
from ustref.output.index import PacketIndex
from ustref.ring.reader import Subbuffer

if TYPE_CHECKING:
    from ustref.consumerd import relayd as client
else:
    # The relay daemon client and its grammar: executed when a session streams.
    client = lazy_module("ustref.consumerd.relayd")

log = logging.getLogger("ustref.consumerd")


class RelayCore(Protocol):
    """What a relay output needs of the consumer (the core, or a test double)."""

    def send(self, data: bytes, fds: tuple[int, ...] = (), sock: Peer = ...) -> None: ...

    def act(self, action: Action) -> None: ...

    def run_exchange(self, gen: HandlerGen, label: str) -> None: ...


def on_control(
    core: RelayCore,
    relayd: client.Relayd,
    body: Generator[Wait, Received, object],
    label: str,
    on_error: Callable[[], None] | None = None,
) -> None:
    """Run ``body`` as an exchange holding ``relayd``'s control socket slot;
    ``on_error`` runs when the relay fails it (not when the slot is already gone)."""

    def gen() -> HandlerGen:
        yield Acquire(relayd.sock)
        try:
            yield from body
        except (UstrefError, OSError):
            if on_error is not None:
                on_error()
            raise

    core.run_exchange(gen(), label)


class RelayOutput:
    """The output of one stream announced to a relay daemon (RELAYD_ADD_STREAM gave
    ``relay_stream_id``); ``next_net_seq_num`` is ``stream->next_net_seq_num``."""

    def __init__(
        self,
        core: RelayCore,
        relayd: client.Relayd,
        *,
        name: str,
        relay_stream_id: int,
        metadata: bool,
        on_closed: Callable[[], None] = lambda: None,
        on_error: Callable[[], None] = lambda: None,
    ) -> None:
        self.core = core
        self.relayd = relayd
        self.name = name
        self.relay_stream_id = relay_stream_id
        self.metadata = metadata
        self.next_net_seq_num = 0
        self.reset_metadata_version: int | None = None
        """``stream->reset_metadata_flag``: RELAYD_RESET_METADATA before the next packet."""
        self._on_closed = on_closed
        self.on_error = on_error
        """The relay failed (``lttng_consumer_cleanup_relayd`` of its pair)."""
        self.closed = False
        self.inactive = False
        """``stream->endpoint_status`` is ``CONSUMER_ENDPOINT_INACTIVE``: the relay
        daemon is gone; nothing more is sent (``consumer_find_relayd`` finds nothing)."""
        self.in_thread = False
        """The stream went to the data or metadata thread (``send_stream_to_thread``):
        an inactive one is then deleted (``validate_endpoint_status_data_stream``)."""

    @property
    def last_net_seq_num(self) -> int:
        """``stream->next_net_seq_num - 1`` (all ones before the first data packet)."""
        return (self.next_net_seq_num - 1) & U64_MAX

    def write_subbuffers(
        self,
        batch: Sequence[Subbuffer],
        indexes: Sequence[PacketIndex] | None = None,
        *,
        metadata_version: int = 0,
    ) -> None:
        """Send each sub-buffer's content (its padding is only counted): a data packet
        on the data socket then its index on the control socket, or a metadata packet
        on the control socket."""
        if self.inactive:
            return  # the relay is gone: the stream is deleted when this entry point ends
        if self.closed:
            raise UstrefError(f"{self.name}: relay stream closed")
        for i, subbuf in enumerate(batch):
            content = bytes(subbuf.view[: subbuf.subbuf_size])
            padding = subbuf.padded_subbuf_size - subbuf.subbuf_size
            if self.metadata:
                on_control(
                    self.core,
                    self.relayd,
                    self._metadata(content, padding, metadata_version),
                    f"{self.name}: metadata packet to the relay",
                    self.on_error,
                )
                continue
            seq = self.next_net_seq_num
            header = client.data_header(self.relay_stream_id, seq, len(content), padding)
            self.core.act(SendRelaydData(self.relayd.sock.net_index, (header + content,)))
            self.next_net_seq_num += 1
            if indexes is not None:
                on_control(
                    self.core,
                    self.relayd,
                    client.send_index(
                        self.core, self.relayd, self.relay_stream_id, seq, indexes[i]
                    ),
                    f"{self.name}: index to the relay",
                    self.on_error,
                )

    def _metadata(
        self, content: bytes, padding: int, version: int
    ) -> Generator[Wait, Received, None]:
        if self.reset_metadata_version is not None:
            reset, self.reset_metadata_version = self.reset_metadata_version, None
            yield from client.reset_metadata(self.core, self.relayd, self.relay_stream_id, reset)
        self.core.send(
            client.metadata_command(self.relay_stream_id, content, padding),
            sock=self.relayd.sock,
        )

    def send_beacon(self, timestamp: int, stream_id: int) -> None:
        """``send_empty_index`` (consumer-timer.c) through ``consumer_stream_write_index``:
        an index with only ``stream_id`` and ``timestamp_end`` set, for the last
        sequence number sent — the live viewer's sign that the stream is idle."""
        beacon = PacketIndex(
            offset=0,
            packet_size=0,
            content_size=0,
            timestamp_begin=0,
            timestamp_end=timestamp,
            events_discarded=0,
            stream_id=stream_id,
            stream_instance_id=0,
            packet_seq_num=0,
        )
        if self.inactive:
            return
        on_control(
            self.core,
            self.relayd,
            client.send_index(
                self.core, self.relayd, self.relay_stream_id, self.last_net_seq_num, beacon
            ),
            f"{self.name}: beacon to the relay",
            self.on_error,
        )

    def reset_metadata_file(self, version: int = 0) -> None:
        """``lttng regenerate metadata``: the relay truncates its metadata file first."""
        self.reset_metadata_version = version

    def switch_chunk(self, chunk: object) -> None:
        """A relay stream changes chunks on the relay's side (RELAYD_ROTATE_STREAMS)."""

    def close(self) -> None:
        """``consumer_stream_relayd_close``: RELAYD_CLOSE_STREAM with the last sequence
        number sent; then ``on_closed`` (the pair loses this stream's reference, and
        goes if it was flagged for destruction), whatever the relay answered; a failure
        cleans the relay up. An inactive stream's relay is gone: nothing is sent."""
        if self.closed:
            return
        self.closed = True
        if self.inactive:
            return

        def gen() -> HandlerGen:
            try:
                yield Acquire(self.relayd.sock)
                try:
                    yield from client.close_stream(
                        self.core, self.relayd, self.relay_stream_id, self.last_net_seq_num
                    )
                except (UstrefError, OSError):
                    self.on_error()
                    raise
            finally:
                self._on_closed()

        self.core.run_exchange(gen(), f"{self.name}: close stream on the relay")
