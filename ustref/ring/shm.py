"""Mapping of one stream's shm object, with untorn atomics and truncation-safe access.

The pure-Python counterpart of what lttng-ust v2.13.5 does around its shm
objects: ``shm_object_table_append_shm()`` (src/common/ringbuffer/shm.c maps a
stream fd ``MAP_SHARED``), ``_shmp_offset()`` (src/common/ringbuffer/shm.h
bounds-checks every shm reference before use), and the consumer-side SIGBUS
protection of liblttng-ust-ctl (``sigbus_begin()``/``lttng_ust_ctl_sigbus_handle()``,
src/lib/lttng-ust-ctl/ustctl.c, with ``DEFINE_LTTNG_UST_SIGBUS_STATE()`` and a
``SIGBUS`` handler in lttng-tools' consumer).

Truncation
    Touching a page of a ``MAP_SHARED`` mapping beyond the end of a file that
    another process shrank raises ``SIGBUS``, and a process that does not
    handle it dies. :class:`SigbusGuard` installs, once per process, a
    ``SIGBUS`` handler (a ctypes callback) that, for a fault inside a mapping
    registered here, maps an anonymous zero page over the faulting page
    (``mmap(MAP_FIXED)`` is async-signal-safe), records the fault and returns:
    the interrupted load, store or compare-and-swap completes on the zero
    page, and the next check of :attr:`ShmMapping.faulted` (done by every
    accessor, right after the access) raises :class:`~ustref.errors.LayoutError`
    naming the file. Faults anywhere else are handed back to the previous
    handler (pytest's faulthandler, or the default action). After a fault the
    mapping is poisoned: every later access raises.

Memory ordering
    The C reader uses ``uatomic_read()``/``CMM_ACCESS_ONCE()`` for loads of
    shared words, ``cmm_smp_rmb()``/``cmm_smp_mb()`` between them, and
    ``uatomic_cmpxchg()`` to move ``consumed`` and exchange sub-buffer ids.
    Here every load of a word another process may write goes through
    libatomic's ``__atomic_load_8(SEQ_CST)``, every shared store through
    ``__atomic_store_8(SEQ_CST)`` and every compare-and-swap through
    ``__atomic_compare_exchange_8(SEQ_CST, SEQ_CST)``: untorn 8-byte accesses,
    each an opaque call (a compiler barrier), with sequentially consistent
    ordering. That is at least as strong as what the C code asks for at each
    point: a SEQ_CST load orders later loads after it (the ``rmb`` between the
    commit-count load and the buffer reads), and a SEQ_CST CAS is a full
    barrier like ``uatomic_cmpxchg()`` (``lock cmpxchg`` on x86-64). The bytes
    of a sub-buffer are only read after the acquiring loads that prove it
    committed, so they are read after the writer's ``cmm_smp_wmb()``-ordered
    stores. Words only this reader writes (``cons_snapshot``,
    ``get_subbuf_consumed``, the packet header of a held sub-buffer) are read
    with plain loads, as in C.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import signal
import stat
import struct
import threading
import weakref
from typing import Any

from ustref.errors import LayoutError, UstrefError

_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")

_SEQ_CST = 5
_MASK64 = (1 << 64) - 1
PAGE_SIZE = mmap.PAGESIZE


def _load_libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    ]
    libc.sigaction.restype = ctypes.c_int
    libc.sigaction.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
    return libc


def _load_libatomic() -> ctypes.CDLL:
    name = ctypes.util.find_library("atomic") or "libatomic.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError as exc:  # pragma: no cover - depends on the host
        raise UstrefError(f"libatomic is needed for untorn shared-memory access: {exc}") from exc
    lib.__atomic_load_8.restype = ctypes.c_uint64
    lib.__atomic_load_8.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.__atomic_store_8.restype = None
    lib.__atomic_store_8.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int]
    lib.__atomic_compare_exchange_8.restype = ctypes.c_bool
    lib.__atomic_compare_exchange_8.argtypes = [
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_uint64,
        ctypes.c_bool,
        ctypes.c_int,
        ctypes.c_int,
    ]
    return lib


_libc = _load_libc()
_atomic = _load_libatomic()
_atomic_load = _atomic.__atomic_load_8
_atomic_store = _atomic.__atomic_store_8
_atomic_cas = _atomic.__atomic_compare_exchange_8


class _SigAction(ctypes.Structure):
    """Mirrors glibc's x86_64 ``struct sigaction`` (``sa_mask`` is 1024 bits)."""

    _fields_ = [
        ("sa_handler", ctypes.c_void_p),
        ("sa_mask", ctypes.c_ulong * 16),
        ("sa_flags", ctypes.c_int),
        ("sa_restorer", ctypes.c_void_p),
    ]


_SA_SIGINFO = 0x4
_SA_NODEFER = 0x40000000
_SI_ADDR_OFFSET = 16  # offsetof(siginfo_t, si_addr) on x86_64
_PROT_RW = mmap.PROT_READ | mmap.PROT_WRITE
_MAP_FIXED_ANON = 0x10 | mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
_HANDLER_T = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


class SigbusGuard:
    """Process-wide ``SIGBUS`` handler turning faults in registered mappings into errors.

    The Python-side counterpart of ``lttng_ust_ctl_sigbus_handle()``
    (src/lib/lttng-ust-ctl/ustctl.c @ v2.13.5): instead of ``siglongjmp``, it
    backs the faulting page with anonymous memory so that the access
    completes, and the accessor raises afterwards.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ranges: tuple[tuple[int, int, weakref.ReferenceType[ShmMapping]], ...] = ()
        self._previous = _SigAction()
        self._callback = _HANDLER_T(self._handle)
        self._handler_addr = ctypes.cast(self._callback, ctypes.c_void_p).value

    def _installed(self) -> bool:
        current = _SigAction()
        _libc.sigaction(signal.SIGBUS, None, ctypes.byref(current))
        return bool(current.sa_handler == self._handler_addr)

    def ensure_installed(self) -> None:
        """Install the handler if it is not the current ``SIGBUS`` action."""
        with self._lock:
            if self._installed():
                return
            action = _SigAction()
            action.sa_handler = self._handler_addr
            action.sa_flags = _SA_SIGINFO | _SA_NODEFER
            previous = _SigAction()
            if _libc.sigaction(signal.SIGBUS, ctypes.byref(action), ctypes.byref(previous)):
                err = ctypes.get_errno()
                raise UstrefError(f"sigaction(SIGBUS) failed: {os.strerror(err)}")
            self._previous = previous

    def register(self, start: int, end: int, mapping: ShmMapping) -> None:
        self.ensure_installed()
        with self._lock:
            self._ranges = (*self._ranges, (start, end, weakref.ref(mapping)))

    def unregister(self, start: int) -> None:
        with self._lock:
            self._ranges = tuple(r for r in self._ranges if r[0] != start)

    def _handle(self, signum: int, info: int | None, _ucontext: int | None) -> None:
        addr = ctypes.c_void_p.from_address((info or 0) + _SI_ADDR_OFFSET).value or 0
        for start, end, ref in self._ranges:
            if start <= addr < end:
                page = addr & ~(PAGE_SIZE - 1)
                _libc.mmap(page, PAGE_SIZE, _PROT_RW, _MAP_FIXED_ANON, -1, 0)
                mapping = ref()
                if mapping is not None:
                    mapping._record_fault(addr - start)
                return
        # Not ours: give the fault back to whoever handled SIGBUS before us.
        _libc.sigaction(signum, ctypes.byref(self._previous), None)


_guard = SigbusGuard()


class ShmMapping:
    """One stream shm object (an fd or a ``--shm-path`` file) mapped shared.

    Every accessor checks its range against the mapped size and, after the
    access, whether a ``SIGBUS`` was absorbed (then raises
    :class:`~ustref.errors.LayoutError` naming :attr:`source`).
    """

    def __init__(self, fd: int, *, source: str, writable: bool = True) -> None:
        self.source = source
        self.writable = writable
        self.faulted: int | None = None
        self._fd = os.dup(fd)
        try:
            st = os.fstat(self._fd)
            if not (stat.S_ISREG(st.st_mode)):
                raise LayoutError("not a regular file or shm object", source=source)
            self.size = st.st_size
            if self.size == 0:
                raise LayoutError("empty file", source=source)
            access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_COPY
            self._mm: mmap.mmap | None = mmap.mmap(self._fd, self.size, access=access)
        except OSError as exc:
            os.close(self._fd)
            raise LayoutError(f"cannot map: {exc.strerror}", source=source) from exc
        except BaseException:
            os.close(self._fd)
            raise
        anchor = ctypes.c_char.from_buffer(self._mm)
        self.address = ctypes.addressof(anchor)
        del anchor
        _guard.register(self.address, self.address + self.size, self)

    @classmethod
    def open_path(cls, path: str | os.PathLike[str], *, writable: bool = True) -> ShmMapping:
        """Map the ``--shm-path`` file ``path`` (read-write, or private copy-on-write)."""
        source = os.fspath(path)
        try:
            fd = os.open(source, os.O_RDWR if writable else os.O_RDONLY)
        except OSError as exc:
            raise LayoutError(f"cannot open: {exc.strerror}", source=source) from exc
        try:
            return cls(fd, source=source, writable=writable)
        finally:
            os.close(fd)

    # -- life cycle ---------------------------------------------------------

    def close(self) -> None:
        mm, self._mm = self._mm, None
        if mm is None:
            return
        _guard.unregister(self.address)
        mm.close()
        os.close(self._fd)

    def __enter__(self) -> ShmMapping:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_mm", None) is not None:
            self.close()

    @property
    def fd(self) -> int:
        return self._fd

    # -- fault bookkeeping ----------------------------------------------------

    def _record_fault(self, offset: int) -> None:
        if self.faulted is None:
            self.faulted = offset

    def _raise_fault(self) -> None:
        try:
            now = os.fstat(self._fd).st_size
        except OSError:  # pragma: no cover
            now = -1
        raise LayoutError(
            f"file shrank to {now} bytes under the reader (mapped {self.size}); "
            "access past its end was stopped (SIGBUS)",
            source=self.source,
            offset=self.faulted,
        )

    def _mapped(self, offset: int, length: int) -> mmap.mmap:
        mm = self._mm
        if mm is not None and self.faulted is None and 0 <= offset <= self.size - length:
            return mm
        if mm is None:
            raise LayoutError("mapping is closed", source=self.source)
        if self.faulted is not None:
            self._raise_fault()
        raise LayoutError(
            f"{length}-byte access out of the {self.size}-byte object",
            source=self.source,
            offset=offset,
        )

    def check_size(self) -> None:
        """Raise if the file is now shorter than the mapping (a shrink seen before touching it)."""
        try:
            now = os.fstat(self._fd).st_size
        except OSError as exc:  # pragma: no cover
            raise LayoutError(f"fstat failed: {exc.strerror}", source=self.source) from exc
        if now < self.size:
            raise LayoutError(
                f"file shrank to {now} bytes under the reader (mapped {self.size})",
                source=self.source,
            )

    # -- atomics (shared words) -----------------------------------------------

    def load_ulong(self, offset: int) -> int:
        """``uatomic_read()`` of an ``unsigned long``/``long`` word (as unsigned)."""
        self._mapped(offset, 8)
        value = int(_atomic_load(self.address + offset, _SEQ_CST))
        if self.faulted is not None:
            self._raise_fault()
        return value

    def store_ulong(self, offset: int, value: int) -> None:
        """``uatomic_set()``/``CMM_ACCESS_ONCE() =`` of a word."""
        self._mapped(offset, 8)
        self._require_writable(offset)
        _atomic_store(self.address + offset, value & _MASK64, _SEQ_CST)
        if self.faulted is not None:
            self._raise_fault()

    def cas_ulong(self, offset: int, old: int, new: int) -> int:
        """``uatomic_cmpxchg()``: store ``new`` if the word is ``old``; return the word found."""
        self._mapped(offset, 8)
        self._require_writable(offset)
        expected = ctypes.c_uint64(old & _MASK64)
        _atomic_cas(
            self.address + offset, ctypes.byref(expected), new & _MASK64, False, _SEQ_CST, _SEQ_CST
        )
        if self.faulted is not None:
            self._raise_fault()
        return int(expected.value)

    def _require_writable(self, offset: int) -> None:
        if not self.writable:
            raise LayoutError("mapping is read-only", source=self.source, offset=offset)

    # -- plain accesses ---------------------------------------------------------

    def _unpack(self, fmt: struct.Struct, offset: int) -> int:
        mm = self._mapped(offset, fmt.size)
        value: int = fmt.unpack_from(mm, offset)[0]
        if self.faulted is not None:
            self._raise_fault()
        return value

    def read_u64(self, offset: int) -> int:
        return self._unpack(_U64, offset)

    def read_i64(self, offset: int) -> int:
        return self._unpack(_I64, offset)

    def read_u32(self, offset: int) -> int:
        return self._unpack(_U32, offset)

    def read_i32(self, offset: int) -> int:
        return self._unpack(_I32, offset)

    def read_u16(self, offset: int) -> int:
        return self._unpack(_U16, offset)

    def read_u8(self, offset: int) -> int:
        mm = self._mapped(offset, 1)
        value = mm[offset]
        if self.faulted is not None:
            self._raise_fault()
        return value

    def _pack(self, fmt: struct.Struct, offset: int, value: int) -> None:
        mm = self._mapped(offset, fmt.size)
        fmt.pack_into(mm, offset, value)
        if self.faulted is not None:
            self._raise_fault()

    def write_u64(self, offset: int, value: int) -> None:
        self._pack(_U64, offset, value & _MASK64)

    def write_u32(self, offset: int, value: int) -> None:
        self._pack(_U32, offset, value & 0xFFFF_FFFF)

    def write_u8(self, offset: int, value: int) -> None:
        mm = self._mapped(offset, 1)
        mm[offset] = value & 0xFF
        if self.faulted is not None:
            self._raise_fault()

    def read_bytes(self, offset: int, length: int) -> bytes:
        """Copy ``length`` bytes at ``offset``."""
        mm = self._mapped(offset, length)
        data = mm[offset : offset + length]
        if self.faulted is not None:
            self._raise_fault()
        return data

    def write_bytes(self, offset: int, data: bytes) -> None:
        mm = self._mapped(offset, len(data))
        mm[offset : offset + len(data)] = data
        if self.faulted is not None:
            self._raise_fault()

    def write_to(self, out_fd: int, offset: int, length: int) -> int:
        """Write ``length`` bytes at ``offset`` to ``out_fd`` without a Python copy."""
        mm = self._mapped(offset, length)
        with memoryview(mm) as view:
            written = 0
            while written < length:
                written += os.write(out_fd, view[offset + written : offset + length])
        if self.faulted is not None:
            self._raise_fault()
        return written

    def ctypes_view(self, cls: Any, offset: int) -> Any:
        """A ctypes object of type ``cls`` over the mapping (for tests and tools)."""
        self._mapped(offset, ctypes.sizeof(cls))
        return cls.from_address(self.address + offset)
