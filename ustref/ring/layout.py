"""ctypes mirrors of lttng-ust v2.13.5's ring-buffer shared-memory layout (x86_64).

Each class mirrors one C struct of lttng-ust at tag v2.13.5 and names it, with
its header, in its docstring. Offsets are read from these mirrors by the pure
reader (:mod:`ustref.ring.reader`), never typed in by hand, and
:func:`ring_layout_json` renders them for ``ustref spec ring-layout --json``.

ctypes has no ``__attribute__((aligned(N)))`` before Python 3.13 and lays out
bit-fields its own way, so two class attributes carry what ctypes cannot say:

* ``_c_align_``: the C alignment when an attribute raises it above the
  natural one (``CAA_CACHE_LINE_SIZE`` is 128 on x86 in liburcu); the mirror
  then ends with a hidden ``_tail_pad`` field so that ``ctypes.sizeof`` equals
  the C ``sizeof``.
* ``_c_bitfields_``: ``{name: (storage_size, bit_size)}`` for the one-bit
  ``unsigned int x:1`` members; the mirror holds the byte that carries the
  bit, so that the next member lands where GCC puts it (on the next byte).

The JSON follows the shape of the project's DWARF probe: every member, and
recursively every member of a struct or union member by dotted path;
anonymous unions reached by their members' own names; arrays as a whole;
flexible array members with size 0; bit-fields with ``bit_offset`` and
``bit_size``.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any, ClassVar

from ustref.ids import U64_MAX
from ustref.protocol.ust_abi import LTTNG_UST_UUID_LEN

# --- constants (facts from the v2.13.5 headers) -----------------------------

#: ``CAA_CACHE_LINE_SIZE`` of liburcu on x86 (urcu/arch/x86.h).
CACHE_LINE_SIZE = 128
#: ``NAME_MAX`` (linux/limits.h), the size of ``channel_backend.name``.
NAME_MAX = 255
#: ``LTTNG_UST_UUID_LEN`` (from the ust-abi grammar).
UUID_LEN = LTTNG_UST_UUID_LEN
#: ``RB_CRASH_DUMP_ABI_MAGIC_LEN`` (frontend_types.h).
CRASH_DUMP_ABI_MAGIC_LEN = 16
#: ``RB_CRASH_DUMP_ABI_LEN``: bytes reserved for the crash record (frontend_types.h).
CRASH_DUMP_ABI_LEN = 256
#: The crash-ABI magic, stored xor'ed with 0xFF in the producer's own data
#: (``RB_CRASH_DUMP_ABI_MAGIC_XOR``) so that scanning memory for it does not
#: hit the constant itself.
CRASH_DUMP_ABI_MAGIC = bytes(
    b ^ 0xFF
    for b in (
        0x17 ^ 0xFF, 0x7B ^ 0xFF, 0xF1 ^ 0xFF, 0x77 ^ 0xFF,
        0xBF ^ 0xFF, 0x17 ^ 0xFF, 0x7B ^ 0xFF, 0xF1 ^ 0xFF,
        0x77 ^ 0xFF, 0xBF ^ 0xFF, 0x17 ^ 0xFF, 0x7B ^ 0xFF,
        0xF1 ^ 0xFF, 0x77 ^ 0xFF, 0xBF ^ 0xFF, 0x17 ^ 0xFF,
    )
)  # fmt: skip
#: ``RB_CRASH_ENDIAN``.
CRASH_ENDIAN = 0x1234
#: ``RB_CRASH_DUMP_ABI_MAJOR`` / ``RB_CRASH_DUMP_ABI_MINOR``.
CRASH_DUMP_ABI_MAJOR = 0
CRASH_DUMP_ABI_MINOR = 0
#: ``enum lttng_crash_type``.
LTTNG_CRASH_TYPE_UST = 0
LTTNG_CRASH_TYPE_KERNEL = 1
#: ``enum lttng_ust_ring_buffer_mode_types`` (ringbuffer-config.h).
RING_BUFFER_OVERWRITE = 0
RING_BUFFER_DISCARD = 1
#: ``CTF_MAGIC_NUMBER`` written by the data clients' ``client_buffer_begin``.
CTF_MAGIC_NUMBER = 0xC1FC1FC1
#: ``TSDL_MAGIC_NUMBER`` written by the metadata client's ``client_buffer_begin``.
TSDL_MAGIC_NUMBER = 0x75D11D57
#: ``CTF_SPEC_MAJOR`` / ``CTF_SPEC_MINOR`` (metadata packet header).
CTF_SPEC_MAJOR = 1
CTF_SPEC_MINOR = 8
#: ``LTTNG_COMPACT_TSC_BITS``: ``tsc_bits`` of the data clients (template.h);
#: the metadata client has 0.
DATA_CLIENT_TSC_BITS = 27

# sub-buffer id encoding (backend_internal.h), for 64-bit unsigned long
HALF_ULONG_BITS = 32
SB_ID_OFFSET_SHIFT = HALF_ULONG_BITS + 1
SB_ID_OFFSET_COUNT = 1 << SB_ID_OFFSET_SHIFT
SB_ID_OFFSET_MASK = ~(SB_ID_OFFSET_COUNT - 1) & U64_MAX
SB_ID_NOREF_SHIFT = SB_ID_OFFSET_SHIFT - 1
SB_ID_NOREF_MASK = 1 << SB_ID_NOREF_SHIFT
SB_ID_INDEX_MASK = SB_ID_NOREF_MASK - 1

c_long = ctypes.c_long
c_ulong = ctypes.c_ulong
c_int = ctypes.c_int
c_uint = ctypes.c_uint
c_u8 = ctypes.c_uint8
c_u16 = ctypes.c_uint16
c_u32 = ctypes.c_uint32
c_u64 = ctypes.c_uint64
c_ptr = ctypes.c_void_p
c_ssize = ctypes.c_ssize_t
c_size = ctypes.c_size_t


class _CStruct(ctypes.Structure):
    """Base of the struct mirrors; carries the C name and layout extras."""

    _c_name_: ClassVar[str] = ""
    _c_align_: ClassVar[int] = 0
    _c_bitfields_: ClassVar[dict[str, tuple[int, int]]] = {}


class _CUnion(ctypes.Union):
    """Base of the union mirrors."""

    _c_name_: ClassVar[str] = ""
    _c_align_: ClassVar[int] = 0
    _c_bitfields_: ClassVar[dict[str, tuple[int, int]]] = {}


# --- shm_internal.h / shm_types.h -----------------------------------------------


class ShmRef(_CStruct):
    """Mirrors ``struct shm_ref``, src/common/ringbuffer/shm_internal.h @ v2.13.5.

    ``index`` is the object in the owner's shm object table (0 is the channel,
    ``1 + cpu`` a stream); ``offset`` is from the start of that object.
    """

    _c_name_ = "shm_ref"
    _fields_ = [("index", c_ssize), ("offset", c_ssize)]


class Shmp(_CUnion):
    """Mirrors the anonymous union of ``DECLARE_SHMP(type, name)``, shm_internal.h @ v2.13.5."""

    _fields_ = [("_ref", ShmRef), ("_type", c_ptr)]


class VAtomic(_CUnion):
    """Mirrors ``union v_atomic``, src/common/ringbuffer/vatomic.h @ v2.13.5."""

    _c_name_ = "v_atomic"
    _fields_ = [("a", c_long), ("v", c_long)]


class ShmObject(_CStruct):
    """Mirrors ``struct shm_object``, src/common/ringbuffer/shm_types.h @ v2.13.5."""

    _c_name_ = "shm_object"
    _fields_ = [
        ("type", c_int),
        ("index", c_size),
        ("shm_fd", c_int),
        ("wait_fd", c_int * 2),
        ("memory_map", c_ptr),
        ("memory_map_size", c_size),
        ("allocated_len", c_u64),
        ("shm_fd_ownership", c_int),
    ]


class ShmObjectTable(_CStruct):
    """Mirrors ``struct shm_object_table``, src/common/ringbuffer/shm_types.h @ v2.13.5."""

    _c_name_ = "shm_object_table"
    _fields_ = [("size", c_size), ("allocated_len", c_size), ("objects", ShmObject * 0)]


class ShmHandle(_CStruct):
    """Mirrors ``struct lttng_ust_shm_handle``, src/common/ringbuffer/shm_types.h @ v2.13.5."""

    _c_name_ = "lttng_ust_shm_handle"
    _fields_ = [("table", c_ptr), ("chan", Shmp)]


# --- backend_types.h ---------------------------------------------------------------


class BackendPages(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_backend_pages``, backend_types.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_backend_pages"
    _fields_ = [
        ("mmap_offset", c_ulong),
        ("records_commit", VAtomic),
        ("records_unread", VAtomic),
        ("data_size", c_ulong),
        ("p", Shmp),
        ("padding", ctypes.c_char * 16),
    ]


class BackendSubbuffer(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_backend_subbuffer``, backend_types.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_backend_subbuffer"
    _fields_ = [("id", c_ulong)]


class BackendCounts(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_backend_counts``, backend_types.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_backend_counts"
    _fields_ = [("seq_cnt", c_u64)]


class BackendPagesShmp(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_backend_pages_shmp``, backend_types.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_backend_pages_shmp"
    _fields_ = [("shmp", Shmp)]


class Backend(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_backend``, backend_types.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_backend"
    _c_bitfields_: ClassVar[dict[str, tuple[int, int]]] = {"allocated": (1, 1)}
    _fields_ = [
        ("buf_wsb", Shmp),
        ("buf_rsb", BackendSubbuffer),
        ("buf_cnt", Shmp),
        ("array", Shmp),
        ("memory_map", Shmp),
        ("chan", Shmp),
        ("cpu", c_int),
        ("records_read", VAtomic),
        ("allocated", c_u8),
        ("padding", ctypes.c_char * 64),
    ]


class RingBufferShmp(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_shmp``, backend_types.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_shmp"
    _fields_ = [("shmp", Shmp)]


# --- ringbuffer-config.h -------------------------------------------------------------


class ClientCb(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_client_cb``, ringbuffer-config.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_client_cb"
    _fields_ = [
        ("ring_buffer_clock_read", c_ptr),
        ("record_header_size", c_ptr),
        ("subbuffer_header_size", c_ptr),
        ("buffer_begin", c_ptr),
        ("buffer_end", c_ptr),
        ("buffer_create", c_ptr),
        ("buffer_finalize", c_ptr),
        ("record_get", c_ptr),
        ("content_size_field", c_ptr),
        ("packet_size_field", c_ptr),
    ]


class RingBufferConfig(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_config``, ringbuffer-config.h @ v2.13.5."""

    _c_name_ = "lttng_ust_ring_buffer_config"
    _fields_ = [
        ("alloc", c_int),
        ("sync", c_int),
        ("mode", c_int),
        ("output", c_int),
        ("backend", c_int),
        ("oops", c_int),
        ("ipi", c_int),
        ("wakeup", c_int),
        ("tsc_bits", c_uint),
        ("cb", ClientCb),
        ("client_type", c_int),
        ("_unused1", c_int),
        ("cb_ptr", c_ptr),
        ("padding", ctypes.c_char * 20),
    ]


class ChannelBackend(_CStruct):
    """Mirrors ``struct channel_backend``, src/common/ringbuffer/backend_types.h @ v2.13.5."""

    _c_name_ = "channel_backend"
    _c_bitfields_: ClassVar[dict[str, tuple[int, int]]] = {"extra_reader_sb": (1, 1)}
    _fields_ = [
        ("buf_size", c_ulong),
        ("subbuf_size", c_ulong),
        ("subbuf_size_order", c_uint),
        ("num_subbuf_order", c_uint),
        ("buf_size_order", c_uint),
        ("extra_reader_sb", c_u8),
        ("num_subbuf", c_ulong),
        ("start_tsc", c_u64),
        ("priv_data", Shmp),
        ("config", RingBufferConfig),
        ("name", ctypes.c_char * NAME_MAX),
        ("padding", ctypes.c_char * 64),
        ("buf", RingBufferShmp * 0),
    ]


# --- frontend_types.h ----------------------------------------------------------------


class _ChannelExtS(_CStruct):
    _fields_ = [("blocking_timeout_ms", ctypes.c_int32), ("priv", c_ptr)]


class _ChannelExt(_CUnion):
    _fields_ = [("s", _ChannelExtS), ("padding", ctypes.c_char * 32)]


class Channel(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer_channel``, frontend_types.h @ v2.13.5.

    Lives in shm object 0 (the channel object), which is not part of a stream's
    shm file: the pure reader takes what it needs from the crash-ABI record.
    """

    _c_name_ = "lttng_ust_ring_buffer_channel"
    _c_align_ = CACHE_LINE_SIZE
    _fields_ = [
        ("record_disabled", c_int),
        ("commit_count_mask", c_ulong),
        ("switch_timer_interval", c_ulong),
        ("switch_timer", c_ptr),
        ("switch_timer_enabled", c_int),
        ("read_timer_interval", c_ulong),
        ("read_timer", c_ptr),
        ("read_timer_enabled", c_int),
        ("finalized", c_int),
        ("priv_data_offset", c_size),
        ("nr_streams", c_uint),
        ("handle", c_ptr),
        ("u", _ChannelExt),
        ("backend", ChannelBackend),
        ("_tail_pad", ctypes.c_char * 104),
    ]


class CommitCountersHot(_CStruct):
    """Mirrors ``struct commit_counters_hot``, frontend_types.h @ v2.13.5 (cache-line aligned)."""

    _c_name_ = "commit_counters_hot"
    _c_align_ = CACHE_LINE_SIZE
    _fields_ = [
        ("cc", VAtomic),
        ("seq", VAtomic),
        ("padding", ctypes.c_char * 16),
        ("_tail_pad", ctypes.c_char * (CACHE_LINE_SIZE - 32)),
    ]


class CommitCountersCold(_CStruct):
    """Mirrors ``struct commit_counters_cold``, frontend_types.h @ v2.13.5 (cache-line aligned)."""

    _c_name_ = "commit_counters_cold"
    _c_align_ = CACHE_LINE_SIZE
    _fields_ = [
        ("cc_sb", VAtomic),
        ("padding", ctypes.c_char * 24),
        ("_tail_pad", ctypes.c_char * (CACHE_LINE_SIZE - 32)),
    ]


class _CrashOffset(_CStruct):
    _pack_ = 1
    _fields_ = [
        ("prod_offset", c_u32),
        ("consumed_offset", c_u32),
        ("commit_hot_array", c_u32),
        ("commit_hot_seq", c_u32),
        ("buf_wsb_array", c_u32),
        ("buf_wsb_id", c_u32),
        ("sb_array", c_u32),
        ("sb_array_shmp_offset", c_u32),
        ("sb_backend_p_offset", c_u32),
        ("content_size", c_u32),
        ("packet_size", c_u32),
    ]


class _CrashLength(_CStruct):
    _pack_ = 1
    _fields_ = [
        ("prod_offset", c_u8),
        ("consumed_offset", c_u8),
        ("commit_hot_seq", c_u8),
        ("buf_wsb_id", c_u8),
        ("sb_array_shmp_offset", c_u8),
        ("sb_backend_p_offset", c_u8),
        ("content_size", c_u8),
        ("packet_size", c_u8),
    ]


class _CrashStride(_CStruct):
    _pack_ = 1
    _fields_ = [
        ("commit_hot_array", c_u32),
        ("buf_wsb_array", c_u32),
        ("sb_array", c_u32),
    ]


class CrashAbi(_CStruct):
    """Mirrors ``struct lttng_crash_abi``, frontend_types.h @ v2.13.5 (packed).

    Written by ``init_crash_abi()`` (ring_buffer_frontend.c) at the start of
    every stream's shm object: with it, a stream file describes itself.
    """

    _c_name_ = "lttng_crash_abi"
    _pack_ = 1
    _fields_ = [
        ("magic", c_u8 * CRASH_DUMP_ABI_MAGIC_LEN),
        ("mmap_length", c_u64),
        ("endian", c_u16),
        ("major", c_u16),
        ("minor", c_u16),
        ("word_size", c_u8),
        ("layout_type", c_u8),
        ("offset", _CrashOffset),
        ("length", _CrashLength),
        ("stride", _CrashStride),
        ("buf_size", c_u64),
        ("subbuf_size", c_u64),
        ("num_subbuf", c_u64),
        ("mode", c_u32),
    ]


class RingBuffer(_CStruct):
    """Mirrors ``struct lttng_ust_ring_buffer``, frontend_types.h @ v2.13.5 (cache-line aligned).

    One per stream, at offset 0 of the stream's shm object; its commit
    counters, ``ts_end`` array and backend tables follow in the same object.
    """

    _c_name_ = "lttng_ust_ring_buffer"
    _c_align_ = CACHE_LINE_SIZE
    _c_bitfields_: ClassVar[dict[str, tuple[int, int]]] = {"get_subbuf": (1, 1)}
    _fields_ = [
        ("crash_abi", CrashAbi),
        ("offset", VAtomic),  # __attribute__((aligned(32))): 124 -> 128 either way
        ("commit_hot", Shmp),
        ("consumed", c_long),
        ("record_disabled", c_int),
        ("last_tsc", VAtomic),
        ("backend", Backend),
        ("commit_cold", Shmp),
        ("ts_end", Shmp),
        ("active_readers", c_long),
        ("records_lost_full", VAtomic),
        ("records_lost_wrap", VAtomic),
        ("records_lost_big", VAtomic),
        ("records_count", VAtomic),
        ("records_overrun", VAtomic),
        ("finalized", c_int),
        ("get_subbuf_consumed", c_ulong),
        ("prod_snapshot", c_ulong),
        ("cons_snapshot", c_ulong),
        ("get_subbuf", c_u8),
        ("self", Shmp),
        ("padding", ctypes.c_char * 60),
        ("_tail_pad", ctypes.c_char * 92),
    ]


# --- ringbuffer-clients: CTF packet headers --------------------------------------------


class _PacketContext(_CStruct):
    _fields_ = [
        ("timestamp_begin", c_u64),
        ("timestamp_end", c_u64),
        ("content_size", c_u64),
        ("packet_size", c_u64),
        ("packet_seq_num", c_u64),
        ("events_discarded", c_ulong),
        ("cpu_id", c_u32),
        ("header_end", c_u8),
    ]


class PacketHeader(_CStruct):
    """Mirrors ``struct packet_header``, src/common/ringbuffer-clients/template.h @ v2.13.5.

    The data clients' CTF trace packet header and stream packet context; the
    sub-buffer header size is ``offsetof(struct packet_header, ctx.header_end)``.
    """

    _c_name_ = "packet_header"
    _fields_ = [
        ("magic", c_u32),
        ("uuid", c_u8 * UUID_LEN),
        ("stream_id", c_u32),
        ("stream_instance_id", c_u64),
        ("ctx", _PacketContext),
    ]


class MetadataPacketHeader(_CStruct):
    """Mirrors ``struct metadata_packet_header``,
    src/common/ringbuffer-clients/metadata-template.h @ v2.13.5."""

    _c_name_ = "metadata_packet_header"
    _fields_ = [
        ("magic", c_u32),
        ("uuid", c_u8 * UUID_LEN),
        ("checksum", c_u32),
        ("content_size", c_u32),
        ("packet_size", c_u32),
        ("compression_scheme", c_u8),
        ("encryption_scheme", c_u8),
        ("checksum_scheme", c_u8),
        ("major", c_u8),
        ("minor", c_u8),
        ("header_end", c_u8 * 0),
    ]


class MetadataRecordHeader(_CStruct):
    """Mirrors ``struct metadata_record_header`` (empty: metadata records have no header),
    src/common/ringbuffer-clients/metadata-template.h @ v2.13.5."""

    _c_name_ = "metadata_record_header"
    _fields_ = [("header_end", c_u8 * 0)]


class ClientLibRingBufferClientCb(_CStruct):
    """Mirrors ``struct lttng_ust_client_lib_ring_buffer_client_cb``,
    src/common/ringbuffer-clients/clients.h @ v2.13.5: the getters liblttng-ust-ctl
    calls for ``lttng_ust_ctl_get_timestamp_begin()`` and friends (NULL in the
    metadata client)."""

    _c_name_ = "lttng_ust_client_lib_ring_buffer_client_cb"
    _fields_ = [
        ("parent", ClientCb),
        ("timestamp_begin", c_ptr),
        ("timestamp_end", c_ptr),
        ("events_discarded", c_ptr),
        ("content_size", c_ptr),
        ("packet_size", c_ptr),
        ("stream_id", c_ptr),
        ("current_timestamp", c_ptr),
        ("sequence_number", c_ptr),
        ("instance_id", c_ptr),
    ]


class CdsListHead(_CStruct):
    """Mirrors liburcu's ``struct cds_list_head`` (urcu/list.h)."""

    _c_name_ = "cds_list_head"
    _fields_ = [("next", c_ptr), ("prev", c_ptr)]


class AbiChannelConfig(_CStruct):
    """Mirrors ``struct lttng_ust_abi_channel_config``, src/common/events.h @ v2.13.5: the
    client's private data in the channel object, carrying the session ``uuid`` and the
    CTF stream class ``id`` that ``client_buffer_begin()`` copies into every packet."""

    _c_name_ = "lttng_ust_abi_channel_config"
    _c_bitfields_: ClassVar[dict[str, tuple[int, int]]] = {
        "_deprecated3": (1, 1),
        "unused11": (1, 1),
    }
    _fields_ = [
        ("unused1", c_ptr),
        ("unused2", c_int),
        ("unused3", c_ptr),
        ("unused4", c_ptr),
        ("unused5", c_int),
        ("_deprecated1", c_uint),
        ("_deprecated2", c_uint),
        ("unused6", CdsListHead),
        ("unused7", c_ptr),
        ("unused8", c_int),
        ("unused9", c_ptr),
        ("_deprecated3", c_u8),
        ("id", c_u32),
        ("unused10", c_int),
        ("uuid", c_u8 * UUID_LEN),
        ("unused11", c_u8),
    ]


#: Sub-buffer header sizes (``client_packet_header_size()`` of each client).
DATA_SUBBUF_HEADER_SIZE: int = PacketHeader.ctx.offset + _PacketContext.header_end.offset
METADATA_SUBBUF_HEADER_SIZE: int = MetadataPacketHeader.header_end.offset

#: Every mirror, in the order the JSON lists them.
MIRRORS: tuple[type[_CStruct] | type[_CUnion], ...] = (
    ShmRef,
    VAtomic,
    ShmObject,
    ShmObjectTable,
    ShmHandle,
    BackendPages,
    BackendSubbuffer,
    BackendCounts,
    BackendPagesShmp,
    Backend,
    RingBufferShmp,
    ClientCb,
    RingBufferConfig,
    ChannelBackend,
    Channel,
    CommitCountersHot,
    CommitCountersCold,
    CrashAbi,
    RingBuffer,
    PacketHeader,
    MetadataPacketHeader,
    MetadataRecordHeader,
    ClientLibRingBufferClientCb,
    CdsListHead,
    AbiChannelConfig,
)


def c_sizeof(cls: type[_CStruct] | type[_CUnion]) -> int:
    """The C ``sizeof`` of a mirror (the ctypes size, tail padding included)."""
    return ctypes.sizeof(cls)


def c_alignof(cls: type[Any]) -> int:
    """The C ``_Alignof`` of a mirror or ctypes type."""
    explicit = getattr(cls, "_c_align_", 0)
    if explicit:
        return int(explicit)
    if getattr(cls, "_pack_", 0) == 1:
        return 1
    return ctypes.alignment(cls)


@functools.cache
def field_offset(cls: type[_CStruct] | type[_CUnion], dotted: str) -> int:
    """Offset of a (dotted) member from the start of ``cls``. Cached: buffer creation asks
    for the same few offsets for every stream, and each uncached walk leaves its split
    names in the interpreter's type-attribute cache, spread over the heap."""
    offset = 0
    current: Any = cls
    for part in dotted.split("."):
        descr = getattr(current, part)
        offset += descr.offset
        current = dict(current._fields_)[part]
    return offset


def _fields(cls: type[Any], base: int, prefix: str) -> list[dict[str, int | str]]:
    out: list[dict[str, int | str]] = []
    bitfields: dict[str, tuple[int, int]] = getattr(cls, "_c_bitfields_", {})
    for name, ftype in cls._fields_:
        if name.startswith("_tail_pad"):
            continue
        descr = getattr(cls, name)
        offset = base + descr.offset
        size = ctypes.sizeof(ftype)
        entry: dict[str, int | str] = {"name": prefix + name, "offset": offset, "size": size}
        if name in bitfields:
            storage, bits = bitfields[name]
            entry = {
                "name": prefix + name,
                "offset": offset,
                "size": storage,
                "bit_offset": offset * 8,
                "bit_size": bits,
            }
        out.append(entry)
        if isinstance(ftype, type) and issubclass(ftype, (ctypes.Structure, ctypes.Union)):
            out.extend(_fields(ftype, offset, prefix + name + "."))
    return out


def struct_json(cls: type[_CStruct] | type[_CUnion]) -> dict[str, Any]:
    """One struct's entry: ``{"size", "align", "fields": [{"name", "offset", "size"}]}``."""
    return {"size": c_sizeof(cls), "align": c_alignof(cls), "fields": _fields(cls, 0, "")}


def ring_layout_json() -> dict[str, Any]:
    """The ``ustref spec ring-layout --json`` object, keyed by C struct name."""
    return {"structs": {cls._c_name_: struct_json(cls) for cls in MIRRORS}}
