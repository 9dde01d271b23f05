"""Consumer → session daemon hand-over of a UST channel and its streams.

What the consumer daemon sends on its command socket when it answers
``LTTNG_CONSUMER_GET_CHANNEL`` (sent by the session daemon after a successful
``ASK_CHANNEL_CREATION``): the channel and its streams, framed by
liblttng-ust-ctl 2.13.5. Sources: lttng-ust v2.13.5
``src/lib/lttng-ust-ctl/ustctl.c`` (``lttng_ust_ctl_send_channel_to_sessiond`` →
static ``lttng_ust_ctl_send_channel``; ``lttng_ust_ctl_send_stream_to_sessiond`` →
static ``lttng_ust_ctl_send_stream``; receivers
``lttng_ust_ctl_recv_channel_from_consumer`` / ``_stream_from_consumer``) and
``src/common/ustcomm.c`` (``ustcomm_send_unix_sock``,
``ustcomm_send_fds_unix_sock``, ``ustcomm_recv_fds_unix_sock``); lttng-tools
``src/common/ust-consumer/ust-consumer.c`` (``send_channel_to_sessiond_and_relayd``,
the ``LTTNG_CONSUMER_GET_CHANNEL`` case) and
``src/bin/lttng-sessiond/ust-consumer.c`` (``ust_consumer_get_channel``). The
sequence is the same at lttng-tools v2.13.9 and 97535efaa (the functions differ
only in their assertions), so every grammar here serves both ABI profiles.

None of these pieces is a C struct: each is one scalar (or a byte blob) written
by its own ``sendmsg``; they are registered with ``abis=()`` under descriptive
names and stay out of the layout JSON.

The exact sequence (every step is one ``sendmsg`` by the consumer daemon;
little-endian x86_64; "fd message" = 1 payload byte ``0x00`` plus one
``SCM_RIGHTS`` control message, ``cmsg_len = CMSG_LEN(4 * n)``, carrying ``n``
descriptors), for one channel with N streams::

    sessiond → consumerd  lttcomm_consumer_msg {cmd_type = LTTNG_CONSUMER_GET_CHANNEL,
                                                u.get_channel.key}
    consumerd → sessiond:
      step               bytes            fds  C (consumer side)
      status.before      4                0    consumer_send_status_msg(SUCCESS)
      channel.size       8  (u64)         0    send &size   (shm object 0's memory_map_size)
      channel.type       4  (s32 enum)    0    send &type   (enum lttng_ust_abi_chan_type)
      channel.data       size             0    send the shm object 0 mapping, size bytes
      channel.wakeup_fd  1  (0x00)        1    ustcomm_send_fds_unix_sock(&wakeup_fd, 1)
      for each stream, in the consumer's channel stream list order:
      stream.memory_map_size  8  (u64)    0    send &memory_map_size
      stream.stream_nr        4  (u32)    0    send &stream_nr   (the stream's cpu)
      stream.fds              1  (0x00)   2    ustcomm_send_fds_unix_sock({shm_fd, wakeup_fd}, 2)
      streams.end        8  (ff × 8)      0    lttng_ust_ctl_send_stream_to_sessiond(sock, NULL)
      status.after       4                0    end_msg_sessiond: consumer_send_status_msg(SUCCESS)

Totals: hand-over alone ``21 + size + 13·N`` bytes and ``1 + 2·N`` fds; with
the two status messages ``29 + size + 13·N`` bytes. The conversation table
(:data:`ustref.protocol.conversation.rules.HANDOVER`) holds this sequence as
data; the decoder runs it.

Receive-side facts the state machine must respect:

* The session daemon reads each piece with its exact length
  (``ustcomm_recv_unix_sock`` loops until it has ``len`` bytes), then the fd
  message with ``recvmsg`` and a control buffer for exactly ``n`` fds; it
  rejects a read that does not return exactly 1 byte, a truncated control
  message (``MSG_CTRUNC``), a control message that is not
  ``SOL_SOCKET``/``SCM_RIGHTS`` and a ``cmsg_len`` other than ``CMSG_LEN(4 * n)``.
  It never checks the value of the payload byte (the sender always writes 0).
  On a Linux stream socket, descriptors attached to a byte that is read
  without a control buffer are lost: never read past the byte counts above.
* The end marker is ``uint64_t v = -1`` written where a stream's
  ``memory_map_size`` would be: the receiver reads 8 bytes, and the value
  ``UINT64_MAX`` means "no more streams" (``-LTTNG_UST_ERR_NOENT``); no
  ``stream_nr`` or fds follow it.
* The session daemon asserts that the number of streams received equals the
  ``stream_count`` of the ASK_CHANNEL reply (``lttcomm_consumer_status_channel``).
* The channel data is the first shm object of the channel (the ring buffer's
  ``struct lttng_ust_ring_buffer_channel``, its stream shmp array and, at
  ``priv_data_offset``, a :class:`~ustref.protocol.ust_abi.LttngUstAbiChannelConfig`).
  The session daemon accepts any size; an application rejects more than
  ``LTTNG_UST_ABI_CHANNEL_DATA_MAX_LEN`` (1 MiB) when the session daemon
  forwards it. The consumer closes its copy of the channel wakeup fd once sent.
* The channel type is always ``LTTNG_UST_ABI_CHAN_PER_CPU`` in practice:
  metadata channels are never handed over (no GET_CHANNEL for them).
* The object type (``enum lttng_ust_abi_object_type``) is not transmitted: the
  session daemon sets it locally in ``lttng_ust_abi_object_data``.

Other outcomes of GET_CHANNEL: unknown key → a single status message
``LTTCOMM_CONSUMERD_CHAN_NOT_FOUND`` and nothing else; a relay daemon failure
→ a single status message ``LTTCOMM_CONSUMERD_RELAYD_FAIL`` (``status.before``)
and nothing else; a failed send mid-way stops the consumer daemon.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import TypeVar

from construct_typed import csfield, csfield_default

from ustref.ids import U64_MAX
from ustref.protocol.fields import FlexArray, StrictEnum, WireStruct, c_enum, s32, u8, u32, u64
from ustref.protocol.registry import Protocol, StructSpec, struct
from ustref.protocol.ust_abi import LttngUstAbiChanType

W = TypeVar("W", bound=WireStruct)

#: Where the hand-over is framed (lttng-ust repository, tag v2.13.5).
USTCTL_SOURCE = "src/lib/lttng-ust-ctl/ustctl.c"
#: ``USTCOMM_MAX_SEND_FDS`` (src/common/ustcomm.c): most fds in one fd message.
USTCOMM_MAX_SEND_FDS = 4
#: The ``uint64_t`` value ``-1`` that closes the stream list.
END_OF_STREAMS = U64_MAX


@c_enum("ustctl end-of-streams marker")
class UstctlStreamListEnd(enum.IntEnum):
    """The only value of the end-of-streams marker (``uint64_t v = -1``); not a C enum."""

    END_OF_STREAMS = END_OF_STREAMS


@dataclasses.dataclass(frozen=True, kw_only=True)
class UstctlChannelSize(WireStruct):
    """``channel.size``: the channel data size, ``uint64_t`` (8 B).

    Sent by ``lttng_ust_ctl_send_channel`` (``&size``), read by
    ``lttng_ust_ctl_recv_channel_from_consumer`` into ``channel_data->size``.
    """

    size: int = csfield(u64, doc="Size in bytes of the channel data (its shm object 0).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class UstctlChannelType(WireStruct):
    """``channel.type``: ``enum lttng_ust_abi_chan_type`` (4 B).

    Read into ``int32_t u.channel.type`` of ``lttng_ust_abi_object_data``.
    """

    type: LttngUstAbiChanType = csfield(
        StrictEnum(s32, LttngUstAbiChanType),
        doc="Per-CPU stream or metadata (lttng_ust_abi_chan_type).",
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class UstctlChannelData(WireStruct):
    """``channel.data``: the channel's shm object 0, exactly ``channel.size`` bytes."""

    data: bytes = csfield(
        FlexArray(), doc="The channel's shm object 0, exactly the announced size in bytes."
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class UstcommFdByte(WireStruct):
    """The 1-byte payload of an fd message (``char dummy = 0``, ustcomm.c).

    The descriptors travel beside it in one ``SCM_RIGHTS`` control message.
    The receiver does not check the value; every sender writes 0.
    """

    dummy: int = csfield_default(
        u8, doc="Payload byte carrying the descriptors; always 0, never checked.", default=0
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class UstctlStreamMemoryMapSize(WireStruct):
    """``stream.memory_map_size``: the stream's shm size, ``uint64_t`` (8 B).

    Read by ``lttng_ust_ctl_recv_stream_from_consumer`` into ``stream_data->size``;
    the value ``UINT64_MAX`` there is the end marker (:data:`END_OF_STREAMS`).
    """

    memory_map_size: int = csfield(u64, doc="Size in bytes of the stream's shared memory.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class UstctlStreamNr(WireStruct):
    """``stream.stream_nr``: ``uint32_t`` (4 B), the stream's CPU number."""

    stream_nr: int = csfield(u32, doc="Stream number (the stream's CPU).")


@dataclasses.dataclass(frozen=True, kw_only=True)
class UstctlStreamListEndMarker(WireStruct):
    """``streams.end``: ``uint64_t v = -1`` (8 B), sent instead of a stream.

    ``lttng_ust_ctl_send_stream_to_sessiond(sock, NULL)`` → ``lttng_ust_ctl_send_stream``
    with ``shm_fd = -1``.
    """

    marker: UstctlStreamListEnd = csfield_default(
        StrictEnum(u64, UstctlStreamListEnd),
        doc="End of the stream list: all ones, where a stream's size would be.",
        default=UstctlStreamListEnd.END_OF_STREAMS,
    )


def _spec(name: str, dc_type: type[W]) -> StructSpec[W]:
    return struct(name, dc_type, header=USTCTL_SOURCE, protocol=Protocol.USTCTL, abis=())


CHANNEL_SIZE = _spec("ustctl channel size", UstctlChannelSize)
CHANNEL_TYPE = _spec("ustctl channel type", UstctlChannelType)
CHANNEL_DATA = _spec("ustctl channel data", UstctlChannelData)
FD_BYTE = _spec("ustcomm fd message byte", UstcommFdByte)
STREAM_MEMORY_MAP_SIZE = _spec("ustctl stream memory_map_size", UstctlStreamMemoryMapSize)
STREAM_NR = _spec("ustctl stream number", UstctlStreamNr)
STREAM_LIST_END = _spec("ustctl end-of-streams marker", UstctlStreamListEndMarker)
