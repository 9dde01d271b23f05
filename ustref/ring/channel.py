"""The I/O shell of pure ring-buffer creation: fds, pipes and files.

Mirrors, as the consumer daemon runs them (the stream fds themselves are opened by
the consumer, ``open_ust_stream_fd()``: :mod:`ustref.consumerd.effects`):

* ``lttng_ust_ctl_create_channel()`` (liblttng-ust-ctl 2.13.5) over those fds: a wait pipe
  per shm object (channel object first), each stream file ``ftruncate``d to its
  ``memory_map_size`` and then written in full (``zero_file()``, which leaves the file
  offset at the end), ``fsync``ed; the contents come from :mod:`ustref.ring.create`;
* ``lttng_ust_ctl_create_stream()`` (``lib_ring_buffer_open_read``), the wait/wakeup fd
  getters and closers, ``lttng_ust_ctl_destroy_stream``/``_destroy_channel``.

Deliberate difference, opt-in only: ``seal=True`` seals memfds against shrinking
(``F_SEAL_SHRINK``) once sized, so an app cannot make the consumer fault by truncating a
buffer; the default follows lttng-tools (``shm_open``), whose tmpfs files cannot be sealed.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass, field

from ustref.errors import LocalProtocolError, UstrefError
from ustref.ring import create
from ustref.ring.shm import PAGE_SIZE, ShmMapping


def _wait_pipe() -> tuple[int, int]:
    """``pipe2(O_CLOEXEC)`` with the write end set ``O_NONBLOCK`` (``F_SETFL``)."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    fcntl.fcntl(write_end, fcntl.F_SETFL, os.O_NONBLOCK)
    return read_end, write_end


def _fill(fd: int, image: bytes | bytearray, *, seal: bool) -> None:
    """``ftruncate`` + ``zero_file()`` + ``fsync`` of ``_shm_object_table_alloc_shm()``,
    writing the initial contents where the library writes zeros."""
    os.ftruncate(fd, len(image))
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK)
    view = memoryview(image)
    written = 0
    while written < len(image):
        written += os.write(fd, view[written : written + PAGE_SIZE])
    try:
        os.fsync(fd)
    except OSError as exc:  # EINVAL: some platforms cannot fsync shm
        if exc.errno != 22:
            raise


@dataclass(eq=False)
class StreamObject:
    """One stream's shm object as the consumer holds it (``struct shm_object`` of type
    ``SHM_OBJECT_SHM``, ``shm_fd_ownership`` 0: the fd stays the caller's)."""

    cpu: int
    shm_fd: int
    memory_map_size: int
    wait_fd: int
    wakeup_fd: int
    _mapping: ShmMapping | None = None

    @property
    def mapping(self) -> ShmMapping:
        """A shared read-write mapping of the stream (made on first use)."""
        if self._mapping is None:
            self._mapping = ShmMapping(self.shm_fd, source=f"stream {self.cpu}")
        return self._mapping

    def close_wait_fd(self) -> None:
        """``ring_buffer_stream_close_wait_fd()``."""
        if self.wait_fd >= 0:
            os.close(self.wait_fd)
            self.wait_fd = -1

    def close_wakeup_fd(self) -> None:
        """``ring_buffer_stream_close_wakeup_fd()``."""
        if self.wakeup_fd >= 0:
            os.close(self.wakeup_fd)
            self.wakeup_fd = -1

    def release(self) -> None:
        """``shmp_object_destroy()`` with ``consumer=1``: unmap and close the pipe ends still
        open; the shm fd is not the object's (``shm_fd_ownership`` 0)."""
        if self._mapping is not None:
            self._mapping.close()
            self._mapping = None
        self.close_wait_fd()
        self.close_wakeup_fd()


@dataclass(eq=False)
class PureChannel:
    """A channel created the way ``lttng_ust_ctl_create_channel()`` creates it."""

    attr: create.ChannelAttr
    client: create.Client
    #: the channel object (shm object 0, process memory): the GET_CHANNEL blob
    blob: bytearray
    wait_fd: int
    wakeup_fd: int
    streams: list[StreamObject] = field(default_factory=list)

    @classmethod
    def create(
        cls, attr: create.ChannelAttr, stream_fds: list[int], *, seal: bool = False
    ) -> PureChannel:
        """``lttng_ust_ctl_create_channel(attr, stream_fds, len(stream_fds))``."""
        client = create.select_client(attr)
        nr = create.nr_streams(client)
        if len(stream_fds) != nr:
            raise LocalProtocolError(f"{len(stream_fds)} stream fds given, the channel has {nr}")
        timeout_ms = create.check_attr(attr, client)
        wait_fd, wakeup_fd = _wait_pipe()
        chan = cls(attr, client, bytearray(), wait_fd, wakeup_fd)
        try:
            for i, fd in enumerate(stream_fds):
                cpu = -1 if client.metadata else i
                image = create.stream_image(
                    attr, client, object_index=1 + i, cpu=cpu, tsc=create.clock_read(client)
                )
                s_wait, s_wakeup = _wait_pipe()
                chan.streams.append(StreamObject(cpu, fd, len(image), s_wait, s_wakeup))
                _fill(fd, image, seal=seal)
        except OSError as exc:
            chan.destroy()
            raise UstrefError(f"cannot create the stream shm objects: {exc.strerror}") from exc
        chan.blob = create.channel_image(
            attr,
            client,
            nr=nr,
            start_tsc=create.clock_read(client),
            blocking_timeout_ms=timeout_ms,
        )
        return chan

    @property
    def memory_map_size(self) -> int:
        return len(self.blob)

    def handover(self) -> tuple[bytes, int]:
        """``lttng_ust_ctl_send_channel_to_sessiond()``: the bytes, then the wakeup fd."""
        if self.wakeup_fd < 0:
            raise LocalProtocolError("the channel wakeup fd is closed")
        return create.channel_handover(self.attr.type, self.blob), self.wakeup_fd

    def stream_handover(self, cpu: int) -> tuple[bytes, list[int]]:
        """``lttng_ust_ctl_send_stream_to_sessiond()`` for a stream opened as ``cpu``:
        the bytes, then ``[shm_fd, wakeup_fd]``."""
        stream = self.stream(cpu)
        return create.stream_handover(stream.memory_map_size, cpu), [
            stream.shm_fd,
            stream.wakeup_fd,
        ]

    def stream(self, cpu: int) -> StreamObject:
        """``channel_get_ring_buffer()``: the metadata channel's only buffer for any CPU."""
        index = 0 if self.client.metadata else cpu
        if not 0 <= index < len(self.streams):
            raise LocalProtocolError(f"no stream for cpu {cpu}")
        return self.streams[index]

    def close_wait_fd(self) -> None:
        """``lttng_ust_ctl_channel_close_wait_fd()``."""
        if self.wait_fd >= 0:
            os.close(self.wait_fd)
            self.wait_fd = -1

    def close_wakeup_fd(self) -> None:
        """``lttng_ust_ctl_channel_close_wakeup_fd()``: lttng-tools closes it once the
        channel has been sent to the session daemon."""
        if self.wakeup_fd >= 0:
            os.close(self.wakeup_fd)
            self.wakeup_fd = -1

    def destroy(self) -> None:
        """``lttng_ust_ctl_destroy_channel()``: close the channel's pipe, then
        ``shm_object_table_destroy(table, consumer=1)``: every stream object's mapping and
        remaining pipe ends. The stream fds stay open: they are the caller's."""
        self.close_wait_fd()
        self.close_wakeup_fd()
        for stream in self.streams:
            stream.release()
