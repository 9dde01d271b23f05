"""Pure-Python ring-buffer creation: what ``lttng_ust_ctl_create_channel()`` lays out.

Mirrors, for lttng-ust v2.13.5 (x86_64):

* ``lttng_ust_ctl_create_channel()`` (src/lib/lttng-ust-ctl/ustctl.c): the choice
  of ring-buffer client (transport) from the channel attributes;
* the client's ``_channel_create()`` (src/common/ringbuffer-clients/template.h and
  metadata-template.h): the ``lttng_ust_abi_channel_config`` private data;
* ``channel_create()`` (src/common/ringbuffer/ring_buffer_frontend.c): the channel
  object (shm object 0, process memory: ``SHM_OBJECT_MEM``) — the blob the
  consumer sends to the session daemon in the GET_CHANNEL hand-over;
* ``channel_backend_init()``, ``lib_ring_buffer_backend_allocate()``
  (ring_buffer_backend.c) and ``lib_ring_buffer_create()`` / ``init_crash_abi()``
  (ring_buffer_frontend.c): each stream's shm object (``SHM_OBJECT_SHM``) over a
  caller-given fd, in the order and with the alignments the C allocator uses;
* ``_shm_object_table_alloc_shm()`` / ``_alloc_mem()`` (ring_buffer/shm.c): one
  wait pipe per object (``pipe2(O_CLOEXEC)``, write end ``O_NONBLOCK``), the
  stream file sized by ``ftruncate`` and then written in full (``zero_file``).

The layout is computed by pure functions (:func:`plan_stream`,
:func:`stream_image`, :func:`channel_image`) over the ctypes mirrors of
:mod:`ustref.ring.layout`; :mod:`ustref.ring.channel` is the I/O shell.

Fields that only have meaning in the creating process are left zero here,
where the library stores its own values: the client callback pointers and
``cb_ptr`` in ``backend.config``, ``handle``, ``u.s.priv`` and the POSIX timer
ids ``switch_timer``/``read_timer``. Timestamps (``backend.start_tsc`` and the
data packet header's ``timestamp_begin``) are the clock at creation. See
:data:`RUN_SPECIFIC_CHANNEL_FIELDS`.
"""

from __future__ import annotations

import ctypes
import enum
import functools
import os
import time
from dataclasses import dataclass

from ustref.errors import LocalProtocolError
from ustref.ids import U64_MAX
from ustref.protocol import handover
from ustref.protocol.ust_abi import LttngUstAbiChanType
from ustref.ring import layout
from ustref.ring.shm import PAGE_SIZE

#: ``LTTNG_UST_ABI_MMAP`` (``enum lttng_ust_abi_output``, include/lttng/ust-abi.h).
OUTPUT_MMAP = 0
#: ``LTTNG_UST_UUID_LEN``.
UUID_LEN = layout.UUID_LEN


class ChanType(enum.IntEnum):
    """``enum lttng_ust_abi_chan_type`` (include/lttng/ust-abi.h @ v2.13.5)."""

    PER_CPU = 0
    METADATA = 1


class ClientType(enum.IntEnum):
    """``enum lttng_client_types``, src/common/tracer.h @ v2.13.5."""

    METADATA = 0
    DISCARD = 1
    OVERWRITE = 2
    DISCARD_RT = 3
    OVERWRITE_RT = 4


# ``enum lttng_ust_ring_buffer_*_types`` values, src/common/ringbuffer/ringbuffer-config.h
ALLOC_PER_CPU, ALLOC_GLOBAL = 0, 1
SYNC_GLOBAL = 1
OUTPUT_RB_MMAP = 1
BACKEND_PAGE = 0
OOPS_CONSISTENCY = 1
NO_IPI_BARRIER = 1
WAKEUP_BY_TIMER, WAKEUP_BY_WRITER = 0, 1


@dataclass(frozen=True, slots=True)
class Client:
    """One ring-buffer client's ``static const struct lttng_ust_ring_buffer_config
    client_config`` (template.h / metadata-template.h @ v2.13.5) and its transport name."""

    transport: str
    client_type: ClientType
    mode: int
    alloc: int
    wakeup: int
    tsc_bits: int
    #: ``cb.content_size_field``/``cb.packet_size_field`` are set (data clients only).
    size_fields: bool

    @property
    def metadata(self) -> bool:
        return self.client_type is ClientType.METADATA

    @property
    def header_size(self) -> int:
        """``client_packet_header_size()``."""
        return (
            layout.METADATA_SUBBUF_HEADER_SIZE if self.metadata else layout.DATA_SUBBUF_HEADER_SIZE
        )


def _data_client(name: str, ctype: ClientType, mode: int, wakeup: int) -> Client:
    return Client(name, ctype, mode, ALLOC_PER_CPU, wakeup, layout.DATA_CLIENT_TSC_BITS, True)


CLIENTS: dict[str, Client] = {
    c.transport: c
    for c in (
        _data_client(
            "relay-discard-mmap", ClientType.DISCARD, layout.RING_BUFFER_DISCARD, WAKEUP_BY_WRITER
        ),
        _data_client(
            "relay-discard-rt-mmap",
            ClientType.DISCARD_RT,
            layout.RING_BUFFER_DISCARD,
            WAKEUP_BY_TIMER,
        ),
        _data_client(
            "relay-overwrite-mmap",
            ClientType.OVERWRITE,
            layout.RING_BUFFER_OVERWRITE,
            WAKEUP_BY_WRITER,
        ),
        _data_client(
            "relay-overwrite-rt-mmap",
            ClientType.OVERWRITE_RT,
            layout.RING_BUFFER_OVERWRITE,
            WAKEUP_BY_TIMER,
        ),
        Client(
            "relay-metadata-mmap",
            ClientType.METADATA,
            layout.RING_BUFFER_DISCARD,
            ALLOC_GLOBAL,
            WAKEUP_BY_WRITER,
            0,
            False,
        ),
    )
}


@dataclass(frozen=True, slots=True)
class ChannelAttr:
    """Mirrors ``struct lttng_ust_ctl_consumer_channel_attr``, include/lttng/ust-ctl.h @ v2.13.5.

    Timer intervals are in microseconds, ``blocking_timeout`` too (-1: forever).
    """

    type: ChanType
    subbuf_size: int
    num_subbuf: int
    overwrite: bool = False
    switch_timer_interval: int = 0
    read_timer_interval: int = 0
    output: int = OUTPUT_MMAP
    chan_id: int = 0
    uuid: bytes = bytes(UUID_LEN)
    blocking_timeout: int = 0


def select_client(attr: ChannelAttr) -> Client:
    """The transport ``lttng_ust_ctl_create_channel()`` picks for ``attr``."""
    if attr.output != OUTPUT_MMAP:
        raise LocalProtocolError(f"channel output {attr.output} is not LTTNG_UST_ABI_MMAP")
    if attr.type is ChanType.METADATA:
        return CLIENTS["relay-metadata-mmap"]
    mode = "overwrite" if attr.overwrite else "discard"
    rt = "-rt" if attr.read_timer_interval else ""
    return CLIENTS[f"relay-{mode}{rt}-mmap"]


@functools.cache
def possible_cpus_array_len() -> int:
    """``get_possible_cpus_array_len()`` (src/common/smp.c @ v2.13.5): the highest CPU id in
    ``/sys/devices/system/cpu/possible`` plus one, else ``sysconf(_SC_NPROCESSORS_CONF)``.
    Read once: the possible CPUs are fixed at boot."""
    try:
        with open("/sys/devices/system/cpu/possible", encoding="ascii") as f:
            mask = f.read().strip()
        last = mask.replace("-", ",").split(",")[-1]
        return int(last) + 1
    except (OSError, ValueError):
        return max(os.sysconf("SC_NPROCESSORS_CONF"), 1)


def nr_streams(client: Client) -> int:
    """Streams per channel: one per possible CPU, or one for the (global) metadata client."""
    return possible_cpus_array_len() if client.alloc == ALLOC_PER_CPU else 1


def _is_pow2(value: int) -> bool:
    return value > 0 and not value & (value - 1)


def _order(value: int) -> int:
    """``get_count_order()`` of a power of two."""
    return value.bit_length() - 1


def _align(offset: int, alignment: int) -> int:
    """``offset + lttng_ust_offset_align(offset, alignment)``."""
    return (offset + alignment - 1) & ~(alignment - 1)


def check_attr(attr: ChannelAttr, client: Client, *, page_size: int = PAGE_SIZE) -> int:
    """The checks of ``channel_create()`` and ``channel_backend_init()``; returns the
    blocking timeout in milliseconds as stored in ``u.s.blocking_timeout_ms``."""
    if attr.blocking_timeout < -1:
        raise LocalProtocolError(f"blocking timeout {attr.blocking_timeout} < -1")
    timeout_ms = -1 if attr.blocking_timeout == -1 else attr.blocking_timeout // 1000
    if not -(2**31) <= timeout_ms < 2**31:
        raise LocalProtocolError(f"blocking timeout {attr.blocking_timeout} us overflows int32 ms")
    if attr.subbuf_size < page_size or not _is_pow2(attr.subbuf_size):
        raise LocalProtocolError(
            f"sub-buffer size {attr.subbuf_size} is not a power of two >= {page_size}"
        )
    if not _is_pow2(attr.num_subbuf):
        raise LocalProtocolError(f"sub-buffer count {attr.num_subbuf} is not a power of two")
    if client.mode == layout.RING_BUFFER_OVERWRITE and attr.num_subbuf < 2:
        raise LocalProtocolError("overwrite mode needs at least 2 sub-buffers")
    if (
        client.mode == layout.RING_BUFFER_OVERWRITE
        and attr.num_subbuf > 1 << layout.HALF_ULONG_BITS
    ):
        raise LocalProtocolError(f"{attr.num_subbuf} sub-buffers overflow the sub-buffer id")
    for what, value in (
        ("switch", attr.switch_timer_interval),
        ("read", attr.read_timer_interval),
    ):
        if not 0 <= value < 2**32:
            raise LocalProtocolError(f"{what} timer interval {value} is not an unsigned int")
    if len(attr.uuid) != UUID_LEN:
        raise LocalProtocolError(f"uuid is {len(attr.uuid)} bytes, expected {UUID_LEN}")
    return timeout_ms


# --- stream shm object ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """Where ``channel_backend_init()`` + ``lib_ring_buffer_create()`` place everything in a
    stream's shm object (offsets from its start; the ``struct lttng_ust_ring_buffer`` is at 0)."""

    memory_map_size: int
    num_subbuf: int
    num_subbuf_alloc: int
    subbuf_size: int
    commit_hot: int
    commit_cold: int
    ts_end: int
    array: int
    memory_map: int
    pages: tuple[int, ...]
    buf_wsb: int
    buf_cnt: int


def stream_object_size(subbuf_size: int, num_subbuf: int, *, page_size: int = PAGE_SIZE) -> int:
    """``shmsize`` of ``channel_backend_init()``: sized for ``num_subbuf + 1`` sub-buffers
    (the worst case) whatever the mode."""
    n, n_alloc = num_subbuf, num_subbuf + 1
    size = layout.c_sizeof(layout.RingBuffer)
    steps: tuple[tuple[int, int], ...] = (
        (layout.c_alignof(layout.CommitCountersHot), layout.c_sizeof(layout.CommitCountersHot) * n),
        (
            layout.c_alignof(layout.CommitCountersCold),
            layout.c_sizeof(layout.CommitCountersCold) * n,
        ),
        (8, 8 * n),  # ts_end
        (
            layout.c_alignof(layout.BackendPagesShmp),
            layout.c_sizeof(layout.BackendPagesShmp) * n_alloc,
        ),
        (page_size, subbuf_size * n_alloc),
        (layout.c_alignof(layout.BackendPages), layout.c_sizeof(layout.BackendPages) * n_alloc),
        (layout.c_alignof(layout.BackendSubbuffer), layout.c_sizeof(layout.BackendSubbuffer) * n),
        (layout.c_alignof(layout.BackendCounts), layout.c_sizeof(layout.BackendCounts) * n),
    )
    for alignment, length in steps:
        size = _align(size, alignment) + length
    return size


def plan_stream(
    subbuf_size: int, num_subbuf: int, overwrite: bool, *, page_size: int = PAGE_SIZE
) -> StreamPlan:
    """Replay the ``align_shm``/``zalloc_shm`` sequence of stream creation."""
    size = stream_object_size(subbuf_size, num_subbuf, page_size=page_size)
    n_alloc = num_subbuf + (1 if overwrite else 0)
    cursor = 0

    def alloc(alignment: int, length: int) -> int:
        nonlocal cursor
        cursor = _align(cursor, alignment)
        start = cursor
        cursor += length
        if cursor > size:  # pragma: no cover - the size formula covers the worst case
            raise LocalProtocolError("stream shm object too small")
        return start

    alloc(layout.c_alignof(layout.RingBuffer), layout.c_sizeof(layout.RingBuffer))
    hot = alloc(
        layout.c_alignof(layout.CommitCountersHot),
        layout.c_sizeof(layout.CommitCountersHot) * num_subbuf,
    )
    cold = alloc(
        layout.c_alignof(layout.CommitCountersCold),
        layout.c_sizeof(layout.CommitCountersCold) * num_subbuf,
    )
    ts_end = alloc(8, 8 * num_subbuf)
    array = alloc(
        layout.c_alignof(layout.BackendPagesShmp),
        layout.c_sizeof(layout.BackendPagesShmp) * n_alloc,
    )
    memory_map = alloc(page_size, subbuf_size * n_alloc)
    pages = tuple(
        alloc(layout.c_alignof(layout.BackendPages), layout.c_sizeof(layout.BackendPages))
        for _ in range(n_alloc)
    )
    wsb = alloc(
        layout.c_alignof(layout.BackendSubbuffer),
        layout.c_sizeof(layout.BackendSubbuffer) * num_subbuf,
    )
    cnt = alloc(
        layout.c_alignof(layout.BackendCounts), layout.c_sizeof(layout.BackendCounts) * num_subbuf
    )
    return StreamPlan(
        memory_map_size=size,
        num_subbuf=num_subbuf,
        num_subbuf_alloc=n_alloc,
        subbuf_size=subbuf_size,
        commit_hot=hot,
        commit_cold=cold,
        ts_end=ts_end,
        array=array,
        memory_map=memory_map,
        pages=pages,
        buf_wsb=wsb,
        buf_cnt=cnt,
    )


def _set_ref(shmp: layout.Shmp, index: int, offset: int) -> None:
    shmp._ref.index = index
    shmp._ref.offset = offset


def subbuffer_id(client: Client, offset: int, noref: bool, index: int) -> int:
    """``subbuffer_id()`` (backend_internal.h): offset and noref only in overwrite mode."""
    if client.mode != layout.RING_BUFFER_OVERWRITE:
        return index
    return (offset << layout.SB_ID_OFFSET_SHIFT) | (int(noref) << layout.SB_ID_NOREF_SHIFT) | index


def clock_read(client: Client) -> int:
    """``client_ring_buffer_clock_read()``: the trace clock (``CLOCK_MONOTONIC`` ns) for the
    data clients, 0 for the metadata client."""
    return 0 if client.metadata else time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def stream_image(
    attr: ChannelAttr,
    client: Client,
    *,
    object_index: int,
    cpu: int,
    tsc: int,
    page_size: int = PAGE_SIZE,
) -> bytearray:
    """The bytes of a freshly created stream shm object (``lib_ring_buffer_create()``).

    ``object_index`` is the stream's index in the shm object table (``1 + cpu``, or 1 for
    the metadata stream), ``cpu`` is -1 for the global metadata buffer, ``tsc`` the clock
    read for the first packet header.
    """
    overwrite = client.mode == layout.RING_BUFFER_OVERWRITE
    plan = plan_stream(attr.subbuf_size, attr.num_subbuf, overwrite, page_size=page_size)
    image = bytearray(plan.memory_map_size)
    buf = layout.RingBuffer.from_buffer(image, 0)
    _set_ref(buf.self, object_index, 0)
    _set_ref(buf.commit_hot, object_index, plan.commit_hot)
    _set_ref(buf.commit_cold, object_index, plan.commit_cold)
    _set_ref(buf.ts_end, object_index, plan.ts_end)
    # lib_ring_buffer_backend_create() / _allocate()
    backend = buf.backend
    _set_ref(backend.chan, 0, 0)
    backend.cpu = cpu
    _set_ref(backend.array, object_index, plan.array)
    _set_ref(backend.memory_map, object_index, plan.memory_map)
    _set_ref(backend.buf_wsb, object_index, plan.buf_wsb)
    _set_ref(backend.buf_cnt, object_index, plan.buf_cnt)
    ref_size = layout.c_sizeof(layout.BackendPagesShmp)
    for i, page_offset in enumerate(plan.pages):
        slot = layout.BackendPagesShmp.from_buffer(image, plan.array + i * ref_size)
        _set_ref(slot.shmp, object_index, page_offset)
        pages = layout.BackendPages.from_buffer(image, page_offset)
        _set_ref(pages.p, object_index, plan.memory_map + i * plan.subbuf_size)
        pages.mmap_offset = i * plan.subbuf_size
    wsb_size = layout.c_sizeof(layout.BackendSubbuffer)
    for i in range(plan.num_subbuf):
        sb = layout.BackendSubbuffer.from_buffer(image, plan.buf_wsb + i * wsb_size)
        sb.id = subbuffer_id(client, 0, True, i)
    backend.buf_rsb.id = subbuffer_id(
        client, 0, True, plan.num_subbuf_alloc - 1 if overwrite else 0
    )
    # lib_ring_buffer_create(): first packet
    header = client.header_size
    buf.offset.v = header
    wsb0 = layout.BackendSubbuffer.from_buffer(image, plan.buf_wsb)
    wsb0.id = subbuffer_id(client, 0, False, 0)  # subbuffer_id_clear_noref()
    _buffer_begin(image, attr, client, plan.memory_map, cpu=cpu, tsc=tsc)
    hot = layout.CommitCountersHot.from_buffer(image, plan.commit_hot)
    hot.cc.v = header
    hot.seq.v = header
    _init_crash_abi(buf.crash_abi, client, plan)
    backend.allocated = 1
    del buf, backend, hot, wsb0, sb, slot, pages  # release the exported buffer
    return image


def _buffer_begin(
    image: bytearray, attr: ChannelAttr, client: Client, packet: int, *, cpu: int, tsc: int
) -> None:
    """``client_buffer_begin()`` for sub-buffer 0 (sequence number 0)."""
    if client.metadata:
        mh = layout.MetadataPacketHeader.from_buffer(image, packet)
        mh.magic = layout.TSDL_MAGIC_NUMBER
        mh.uuid[:] = list(attr.uuid)
        mh.checksum = 0
        mh.content_size = 0xFFFF_FFFF
        mh.packet_size = 0xFFFF_FFFF
        mh.compression_scheme = mh.encryption_scheme = mh.checksum_scheme = 0
        mh.major, mh.minor = layout.CTF_SPEC_MAJOR, layout.CTF_SPEC_MINOR
        del mh
        return
    ph = layout.PacketHeader.from_buffer(image, packet)
    ph.magic = layout.CTF_MAGIC_NUMBER
    ph.uuid[:] = list(attr.uuid)
    ph.stream_id = attr.chan_id
    ph.stream_instance_id = cpu & U64_MAX
    ctx = ph.ctx
    ctx.timestamp_begin = tsc
    ctx.timestamp_end = 0
    ctx.content_size = ctx.packet_size = U64_MAX
    ctx.packet_seq_num = 0
    ctx.events_discarded = 0
    ctx.cpu_id = cpu
    del ph, ctx


def _init_crash_abi(crash: layout.CrashAbi, client: Client, plan: StreamPlan) -> None:
    """``init_crash_abi()`` (ring_buffer_frontend.c @ v2.13.5)."""
    rb = layout.RingBuffer
    crash.magic[:] = list(layout.CRASH_DUMP_ABI_MAGIC)
    crash.mmap_length = plan.memory_map_size
    crash.endian = layout.CRASH_ENDIAN
    crash.major = layout.CRASH_DUMP_ABI_MAJOR
    crash.minor = layout.CRASH_DUMP_ABI_MINOR
    crash.word_size = ctypes.sizeof(ctypes.c_ulong)
    crash.layout_type = layout.LTTNG_CRASH_TYPE_UST
    off, length, stride = crash.offset, crash.length, crash.stride
    off.prod_offset = rb.offset.offset
    off.consumed_offset = rb.consumed.offset
    off.commit_hot_array = plan.commit_hot
    off.commit_hot_seq = layout.CommitCountersHot.seq.offset
    off.buf_wsb_array = plan.buf_wsb
    off.buf_wsb_id = layout.BackendSubbuffer.id.offset
    off.sb_array = plan.array
    off.sb_array_shmp_offset = layout.field_offset(layout.BackendPagesShmp, "shmp._ref.offset")
    off.sb_backend_p_offset = layout.field_offset(layout.BackendPages, "p._ref.offset")
    word = ctypes.sizeof(ctypes.c_ulong)
    length.prod_offset = length.consumed_offset = word
    length.commit_hot_seq = length.buf_wsb_id = word
    length.sb_array_shmp_offset = length.sb_backend_p_offset = ctypes.sizeof(ctypes.c_ssize_t)
    if client.size_fields:
        off.content_size = layout.field_offset(layout.PacketHeader, "ctx.content_size")
        off.packet_size = layout.field_offset(layout.PacketHeader, "ctx.packet_size")
        length.content_size = length.packet_size = 8
    stride.commit_hot_array = layout.c_sizeof(layout.CommitCountersHot)
    stride.buf_wsb_array = layout.c_sizeof(layout.BackendSubbuffer)
    stride.sb_array = layout.c_sizeof(layout.BackendPagesShmp)
    crash.buf_size = plan.subbuf_size * plan.num_subbuf
    crash.subbuf_size = plan.subbuf_size
    crash.num_subbuf = plan.num_subbuf
    crash.mode = client.mode


# --- channel object (the GET_CHANNEL blob) -------------------------------------------------


#: ``sizeof``/``__alignof__(struct lttng_ust_channel_buffer)`` (include/lttng/ust-events.h):
#: what the metadata client's ``_channel_create()`` asks as private data size and alignment
#: (metadata-template.h @ v2.13.5), filled from the first bytes of its zeroed
#: ``lttng_ust_abi_channel_config`` — so the metadata channel's private data is all zero.
METADATA_PRIV_SIZE = 32
METADATA_PRIV_ALIGN = 8


def channel_layout(client: Client, nr: int) -> tuple[int, int, int]:
    """``(buf_array_offset, priv_data_offset, memory_map_size)`` of the channel object."""
    size = layout.c_sizeof(layout.Channel)
    buf_array = _align(size, layout.c_alignof(layout.RingBufferShmp))
    chansize = buf_array + layout.c_sizeof(layout.RingBufferShmp) * nr
    if client.metadata:
        priv_size, priv_align = METADATA_PRIV_SIZE, METADATA_PRIV_ALIGN
    else:
        priv_size, priv_align = (
            layout.c_sizeof(layout.AbiChannelConfig),
            layout.c_alignof(layout.AbiChannelConfig),
        )
    priv = _align(chansize, priv_align)
    return buf_array, priv, priv + priv_size


def channel_image(
    attr: ChannelAttr, client: Client, *, nr: int, start_tsc: int, blocking_timeout_ms: int
) -> bytearray:
    """The channel object as ``channel_create()`` leaves it (before any stream is opened)."""
    _buf_array, priv, size = channel_layout(client, nr)
    image = bytearray(size)
    chan = layout.Channel.from_buffer(image, 0)
    chan.nr_streams = nr
    chan.priv_data_offset = priv
    chan.u.s.blocking_timeout_ms = blocking_timeout_ms
    cb = chan.backend
    cb.buf_size = attr.num_subbuf * attr.subbuf_size
    cb.subbuf_size = attr.subbuf_size
    cb.buf_size_order = _order(cb.buf_size)
    cb.subbuf_size_order = _order(attr.subbuf_size)
    cb.num_subbuf_order = _order(attr.num_subbuf)
    cb.extra_reader_sb = int(client.mode == layout.RING_BUFFER_OVERWRITE)
    cb.num_subbuf = attr.num_subbuf
    cfg = cb.config
    cfg.alloc, cfg.sync, cfg.mode = client.alloc, SYNC_GLOBAL, client.mode
    cfg.output, cfg.backend, cfg.oops = OUTPUT_RB_MMAP, BACKEND_PAGE, OOPS_CONSISTENCY
    cfg.ipi, cfg.wakeup, cfg.tsc_bits = NO_IPI_BARRIER, client.wakeup, client.tsc_bits
    cfg.client_type = client.client_type
    cb.name = client.transport.encode()[: layout.NAME_MAX - 1]
    cb.start_tsc = start_tsc
    # chanb->buf[] is the flexible array member of struct channel_backend: it starts inside
    # the channel struct's tail padding; the room channel_create() reserves after the struct
    # (at ``buf_array``) only makes sure it fits.
    first = layout.field_offset(layout.Channel, "backend.buf")
    for i in range(nr):
        slot = layout.RingBufferShmp.from_buffer(
            image, first + i * layout.c_sizeof(layout.RingBufferShmp)
        )
        _set_ref(slot.shmp, 1 + i, 0)
        del slot
    chan.commit_count_mask = U64_MAX >> cb.num_subbuf_order
    chan.switch_timer_interval = attr.switch_timer_interval
    chan.read_timer_interval = attr.read_timer_interval
    # lib_ring_buffer_channel_{switch,read}_timer_start(): the library arms a POSIX timer
    # in the creating process and marks it enabled; the timer ids are process-private.
    chan.switch_timer_enabled = int(bool(attr.switch_timer_interval))
    chan.read_timer_enabled = int(
        client.wakeup == WAKEUP_BY_TIMER and bool(attr.read_timer_interval)
    )
    del chan, cb, cfg
    if not client.metadata:
        config = layout.AbiChannelConfig.from_buffer(image, priv)
        config.uuid[:] = list(attr.uuid)
        config.id = attr.chan_id
        del config
    return image


#: Channel-object fields whose bytes are private to the creating process (offset, size,
#: why); the differential test masks exactly these.
RUN_SPECIFIC_CHANNEL_FIELDS: tuple[tuple[str, str], ...] = (
    ("switch_timer", "POSIX timer id returned by timer_create() in the creating process"),
    ("read_timer", "POSIX timer id returned by timer_create() in the creating process"),
    ("handle", "address of the creator's struct lttng_ust_shm_handle (malloc)"),
    ("u.s.priv", "address of the creator's struct lttng_ust_channel_buffer (malloc)"),
    ("backend.start_tsc", "trace clock at creation (0 for the metadata client)"),
    ("backend.config.cb", "addresses of the client callbacks in the creator's text (ASLR)"),
    ("backend.config.cb_ptr", "address of the client's callback table in the creator (ASLR)"),
)


def run_specific_channel_ranges() -> list[tuple[int, int, str]]:
    """``(offset, size, field)`` of :data:`RUN_SPECIFIC_CHANNEL_FIELDS` in the channel object."""
    out = []
    for name, _why in RUN_SPECIFIC_CHANNEL_FIELDS:
        offset = layout.field_offset(layout.Channel, name)
        size = layout.c_sizeof(layout.ClientCb) if name.endswith(".cb") else 8
        if name == "u.s.priv":
            size = 8
        out.append((offset, size, name))
    return out


#: Offset of ``ctx.timestamp_begin`` in a data packet header: the clock at creation.
DATA_TIMESTAMP_BEGIN = layout.field_offset(layout.PacketHeader, "ctx.timestamp_begin")


#: The one byte ``ustcomm_send_fds_unix_sock()`` sends with the fds (``char dummy = 0``):
#: :data:`ustref.protocol.handover.FD_BYTE`.
FD_CARRIER = handover.FD_BYTE.build(handover.UstcommFdByte())


def channel_handover(chan_type: ChanType, blob: bytes | bytearray) -> bytes:
    """The bytes ``lttng_ust_ctl_send_channel()`` sends before the wakeup fd: ``u64`` size,
    ``int`` type (``enum lttng_ust_abi_chan_type``), then the channel object
    (:data:`~ustref.protocol.handover.CHANNEL_SIZE`, ``CHANNEL_TYPE``, ``CHANNEL_DATA``).
    The fd itself travels with :data:`FD_CARRIER`."""
    return (
        handover.CHANNEL_SIZE.build(handover.UstctlChannelSize(size=len(blob)))
        + handover.CHANNEL_TYPE.build(
            handover.UstctlChannelType(type=LttngUstAbiChanType(int(chan_type)))
        )
        + handover.CHANNEL_DATA.build(handover.UstctlChannelData(data=bytes(blob)))
    )


def stream_handover(memory_map_size: int, stream_nr: int) -> bytes:
    """The bytes ``lttng_ust_ctl_send_stream()`` sends before ``[shm_fd, wakeup_fd]`` (which
    travel with :data:`FD_CARRIER`): ``u64`` memory map size, ``u32`` stream number
    (:data:`~ustref.protocol.handover.STREAM_MEMORY_MAP_SIZE`, ``STREAM_NR``)."""
    return handover.STREAM_MEMORY_MAP_SIZE.build(
        handover.UstctlStreamMemoryMapSize(memory_map_size=memory_map_size)
    ) + handover.STREAM_NR.build(handover.UstctlStreamNr(stream_nr=stream_nr & 0xFFFF_FFFF))


#: What ``lttng_ust_ctl_send_stream_to_sessiond(sock, NULL)`` sends: the end of the streams
#: (:data:`ustref.protocol.handover.STREAM_LIST_END`).
END_OF_STREAMS = handover.STREAM_LIST_END.build(handover.UstctlStreamListEndMarker())
