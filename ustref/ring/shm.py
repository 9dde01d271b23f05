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

Typed views
    :attr:`ShmMapping.words` is the whole object as an array of ``unsigned
    long`` (a ``memoryview`` cast to ``'Q'``), :attr:`ShmMapping.octets` as
    bytes. The reader's hot path reads positions and counters by indexing
    ``words`` (about 0.05 µs, no ctypes call) and hands slices of ``octets`` to
    ``os.writev`` (no copy). Both are released by :meth:`ShmMapping.close`;
    if slices are still alive then, the pages stay mapped (and guarded) until
    the last one is gone.

Memory ordering (x86-64 only, like the layout mirrors)
    The C reader uses ``uatomic_read()``/``CMM_ACCESS_ONCE()`` for loads of
    shared words, ``cmm_smp_rmb()``/``cmm_smp_wmb()`` between them (compiler
    barriers on x86, urcu/arch/x86.h), ``cmm_smp_mb()`` (``mfence``) where a
    store must be ordered before a later load, and ``uatomic_cmpxchg()``/
    ``uatomic_add()`` (``lock``-prefixed, full barriers) to move ``consumed``,
    exchange sub-buffer ids and count records. Here:

    * every load of a shared word is one aligned 8-byte load through
      ``words`` (CPython unpacks a ``'Q'`` item with an 8-byte ``memcpy``,
      which the compiler emits as one ``mov``): untorn on x86-64 (Intel SDM
      vol. 3A §8.1.1), and what GCC emits for
      ``__atomic_load_n(p, __ATOMIC_SEQ_CST)`` there. x86-64
      keeps loads in program order, so the ``rmb`` between the commit-count
      load and the buffer reads holds without an instruction;
    * plain stores the C code makes with ``v_set()``/``CMM_STORE_SHARED()``
      (``records_unread = 0``, the reader's own ``buf_rsb``, snapshot and
      ``get_subbuf`` words) are one aligned ``mov`` through ``words`` too, as
      in C; x86-64 keeps stores in program order;
    * read-modify-write operations and stores the C code follows with
      ``cmm_smp_mb()`` go through libatomic: ``__atomic_compare_exchange_8``
      and ``__atomic_store_8`` with ``SEQ_CST`` (:meth:`ShmMapping.cas_ulong`,
      :meth:`ShmMapping.store_ulong`), each an opaque call and a full barrier.

    The bytes of a sub-buffer are only read after the loads that prove it
    committed, so after the writer's ``cmm_smp_wmb()``-ordered stores.
    :data:`PLAIN_WORD_ACCESS_IS_ATOMIC` says whether this machine gives those
    guarantees; the live reader refuses to run where it does not.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import signal
import stat
import struct
import threading
import weakref
from collections.abc import Callable

from ustref.errors import LayoutError, LocalProtocolError, UstrefError
from ustref.ids import U64_MAX
from ustref.libc import libc as shared_libc

_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_U32 = struct.Struct("<I")
_I32 = struct.Struct("<i")
_U16 = struct.Struct("<H")

_SEQ_CST = 5
PAGE_SIZE = mmap.PAGESIZE
#: Aligned 8-byte loads and stores are untorn and kept in program order (TSO):
#: what the typed views rely on (see "Memory ordering" above).
PLAIN_WORD_ACCESS_IS_ATOMIC = platform.machine().lower() in ("x86_64", "amd64")


def _load_libc() -> ctypes.CDLL:
    """The process's C library (:func:`ustref.libc.libc`), with the prototypes of the
    calls this module makes."""
    libc = shared_libc()
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


LIBATOMIC = "libatomic.so.1"
"""GCC's libatomic, by its soname: what ``ctypes.util.find_library("atomic")`` answers
on glibc, without the ``ldconfig -p`` child process it runs (nor the ``shutil``,
``subprocess`` and ``tempfile`` it imports: 1.4 MB of the idle consumer)."""


def _load_libatomic() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL(LIBATOMIC)
    except OSError as exc:  # pragma: no cover - depends on the host
        raise UstrefError(f"libatomic is needed for untorn shared-memory access: {exc}") from exc
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


_Ranges = tuple[tuple[int, int, "weakref.ReferenceType[ShmMapping]"], ...]
"""Guarded address ranges: (start, end, the mapping), oldest first."""


class SigbusGuard:
    """Process-wide ``SIGBUS`` handler turning faults in registered mappings into errors.

    The Python-side counterpart of ``lttng_ust_ctl_sigbus_handle()``
    (src/lib/lttng-ust-ctl/ustctl.c @ v2.13.5): instead of ``siglongjmp``, it
    backs the faulting page with anonymous memory so that the access
    completes, and the accessor raises afterwards.
    """

    def __init__(self) -> None:
        # Re-entrant: a mapping's ``__del__`` (garbage collection can run inside any
        # allocation, including one made while this lock is held) unregisters.
        self._lock = threading.RLock()
        self._ranges: _Ranges = ()
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
        entry = (start, end, weakref.ref(mapping))
        self._update(lambda ranges: (*ranges, entry))

    def unregister(self, start: int) -> None:
        self._update(lambda ranges: tuple(r for r in ranges if r[0] != start))

    def _update(self, change: Callable[[_Ranges], _Ranges]) -> None:
        """Rebind :attr:`_ranges` to ``change(_ranges)`` without losing an update made
        meanwhile by a nested call: building the new tuple allocates, an allocation
        can run the garbage collector, and a collected mapping's ``__del__``
        unregisters itself on this same thread (hence the re-entrant lock)."""
        with self._lock:
            while True:
                before = self._ranges
                after = change(before)
                if self._ranges is before:
                    self._ranges = after
                    return

    def _handle(self, signum: int, info: int | None, _ucontext: int | None) -> None:
        addr = ctypes.c_void_p.from_address((info or 0) + _SI_ADDR_OFFSET).value or 0
        for start, end, ref in reversed(self._ranges):
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
        #: the object as bytes; slices of it go to ``os.writev`` uncopied
        self.octets = memoryview(self._mm)
        #: the object as ``unsigned long`` words: ``words[offset >> 3]``
        self.words = self.octets[: self.size & ~7].cast("Q")
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
        self.words.release()
        self.octets.release()
        os.close(self._fd)
        try:
            mm.close()
        except BufferError:
            # Slices of octets are still alive somewhere (a traceback, a caller
            # that kept one): the pages stay mapped, and guarded, until the last
            # one goes and the mmap object is freed.
            weakref.finalize(mm, _guard.unregister, self.address)
            return
        _guard.unregister(self.address)

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

    @property
    def closed(self) -> bool:
        return self._mm is None

    # -- fault bookkeeping ----------------------------------------------------

    def _record_fault(self, offset: int) -> None:
        if self.faulted is None:
            self.faulted = offset

    def check(self) -> None:
        """Raise :class:`~ustref.errors.LayoutError` if the mapping is closed or poisoned.

        Callers of :attr:`words`/:attr:`octets` call it after their accesses (a
        ``SIGBUS`` absorbed meanwhile read zeros) and before (a closed mapping's
        views are released)."""
        if self.faulted is not None:
            self._raise_fault()
        if self._mm is None:
            raise LayoutError("mapping is closed", source=self.source)

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

    # -- atomics (shared words) -----------------------------------------------

    def load_ulong(self, offset: int) -> int:
        """``uatomic_read()`` of an aligned ``unsigned long``/``long`` word (as unsigned)."""
        self._mapped(offset, 8)
        if offset & 7:
            raise LocalProtocolError(f"{self.source}: unaligned word at {offset:#x}")
        value: int = self.words[offset >> 3]
        if self.faulted is not None:
            self._raise_fault()
        return value

    def store_ulong(self, offset: int, value: int) -> None:
        """``uatomic_set()``/``CMM_ACCESS_ONCE() =`` of a word."""
        self._mapped(offset, 8)
        self._require_writable(offset)
        _atomic_store(self.address + offset, value & U64_MAX, _SEQ_CST)
        if self.faulted is not None:
            self._raise_fault()

    def cas_ulong(self, offset: int, old: int, new: int) -> int:
        """``uatomic_cmpxchg()``: store ``new`` if the word is ``old``; return the word found."""
        self._mapped(offset, 8)
        self._require_writable(offset)
        expected = ctypes.c_uint64(old & U64_MAX)
        _atomic_cas(
            self.address + offset, ctypes.byref(expected), new & U64_MAX, False, _SEQ_CST, _SEQ_CST
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
        self._pack(_U64, offset, value & U64_MAX)

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


#: ``IOV_MAX``: the most buffers one ``writev(2)`` takes.
IOV_MAX = os.sysconf("SC_IOV_MAX") if "SC_IOV_MAX" in os.sysconf_names else 1024


def shrunk_under_writev(source: str) -> LayoutError:
    """The error for ``EFAULT`` from a write out of a mapping of ``source``."""
    return LayoutError(
        "file shrank under the reader: the kernel could not read the sub-buffer pages (EFAULT)",
        source=source,
    )


def write_views(out_fd: int, views: list[memoryview], *, source: str | None = None) -> int:
    """Write every byte of ``views`` to ``out_fd`` with ``os.writev``, ``IOV_MAX`` at a time.

    Short writes (pipes, sockets) are resumed where they stopped. With a
    ``source``, ``EFAULT`` — the kernel met a page of a mapping whose file
    shrank (it returns an error where a user-space access would raise
    ``SIGBUS``) — becomes a :class:`~ustref.errors.LayoutError` naming it. The
    output's own errors (``ENOSPC``, ``EPIPE`` …) are the caller's and
    propagate as ``OSError``.
    """
    total = left = sum(map(len, views))
    pending = views
    while left:
        try:
            n = os.writev(out_fd, pending if len(pending) <= IOV_MAX else pending[:IOV_MAX])
        except OSError as exc:
            if exc.errno == errno.EFAULT and source is not None:
                raise shrunk_under_writev(source) from exc
            raise
        if n <= 0:
            raise OSError(errno.EIO, f"writev to fd {out_fd} wrote nothing")
        left -= n
        if not left:
            break
        # resume after the n bytes written: skip the views done, cut the partial one
        i = 0
        while n >= len(pending[i]):
            n -= len(pending[i])
            i += 1
        pending = [pending[i][n:], *pending[i + 1 :]] if n else pending[i:]
    return total
