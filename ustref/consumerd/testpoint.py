"""The consumer's test-only pause pipe, built in: LTTng's tests pause data consumption.

LTTng's regression tests (``tools/notification/test_notification_ust_buffer_usage``
and its kernel twin) start the session daemon with ``LTTNG_TESTPOINT_ENABLE=1
CONSUMER_PAUSE_PIPE_PATH=<prefix> LD_PRELOAD=libpause_consumer.so``; the consumer it
spawns inherits all three. The preloaded library is built from
tests/regression/tools/notification/consumer_testpoints.c @ v2.13.9 and implements
two testpoints of consumer.c's ``consumer_thread_data_poll``:

* ``consumerd_thread_data`` (once, when the data thread starts): create the named
  pipe ``<prefix>-ust64`` (``<prefix>-<domain>``, the domain of
  ``lttng_consumer_get_type()``) with mode ``S_IRUSR|S_IWUSR|S_IRGRP|S_IWGRP``
  (``lttng_pipe_named_open``: ``mkfifo``, then open both ends non-blocking);
* ``consumerd_thread_data_poll`` (before each ``poll()`` of the data thread): read
  every byte waiting in the pipe, one ``uint8_t`` at a time, and set the consumer's
  global ``data_consumption_paused`` (found with ``dlsym``) to ``!!value`` of the
  freshest one. The test client (notification.c ``stop_consumer`` /
  ``resume_consumer``) writes 49 (``'1'``) to pause and 0 to resume.

While ``data_consumption_paused`` is set, the data thread does not touch its streams
(consumer.c ``consumer_thread_data_poll``: after ``poll()`` returns it sleeps one
second and polls again), but the metadata thread, the command thread and the monitor
timer go on: the monitor keeps sampling the growing buffer usage, which is what the
buffer-usage notification tests wait for. The library also unlinks the pipe at exit
(its destructor ``pause_pipe_fini``).

ustref-consumerd is Python, so the preloaded library cannot find
``data_consumption_paused`` in it; ustref implements the same protocol natively when
``LTTNG_TESTPOINT_ENABLE`` starts with ``1`` (``lttng_testpoint_check``,
src/common/testpoint/testpoint.c) and ``CONSUMER_PAUSE_PIPE_PATH`` is set. It does
not consult ``LD_PRELOAD``. The library is still loaded into the Python process by
the dynamic linker, and is inert there: nothing in ustref looks up or calls its
``__testpoint_*`` functions (the C consumer's ``testpoint()`` macro does, with
``dlsym``); its constructors (liblttng-ctl's ``init``, libcommon's
``lttng_testpoint_check``, ``init_default_pthread_attr``,
``init_locale_utf8_support``) only set globals of their own; its destructor finds no
pipe path and frees nothing; and none of the symbols it exports is also defined by
liblttng-ust-ctl or the libraries it loads, so it interposes on nothing ustref uses.

Two deliberate differences from the C library: ustref keeps its own write end of
the pipe open (the C library closes it) so that the read end never reports a
hang-up once the test client closes, and can be watched by the I/O shell's selector
— a pause takes effect when written rather than at the data thread's next wake-up;
and a failure to create the pipe is logged and consumption goes on unpaused, where
the C data thread would exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

from ustref.errors import UstrefError

log = logging.getLogger("ustref.consumerd")

TESTPOINT_ENV = "LTTNG_TESTPOINT_ENABLE"
"""testpoint.c ``lttng_testpoint_env_var``: testpoints are active when it starts with 1."""
PAUSE_PIPE_ENV = "CONSUMER_PAUSE_PIPE_PATH"
"""consumer_testpoints.c: the pause pipe's path prefix."""
PAUSE_PIPE_MODE = 0o660
"""``S_IRUSR | S_IWUSR | S_IRGRP | S_IWGRP``, before the umask (``mkfifo``)."""
DOMAIN = "ust64"
"""consumer_testpoints.c's suffix for ``LTTNG_CONSUMER64_UST``, ustref's only type."""


def testpoints_enabled(environ: Mapping[str, str]) -> bool:
    """``lttng_testpoint_check()``: ``strncmp(value, "1", 1) == 0``."""
    return environ.get(TESTPOINT_ENV, "").startswith("1")


def pause_pipe_path(environ: Mapping[str, str], domain: str = DOMAIN) -> str | None:
    """The pipe ``__testpoint_consumerd_thread_data`` would create
    (``asprintf("%s-%s", prefix, domain)``), or ``None`` when the testpoint is off."""
    if not testpoints_enabled(environ):
        return None
    prefix = environ.get(PAUSE_PIPE_ENV)
    if prefix is None:
        return None
    return f"{prefix}-{domain}"


def freshest_state(data: bytes) -> bool | None:
    """``__testpoint_consumerd_thread_data_poll``'s verdict on the bytes read: the
    last one decides (``!!value``: paused when non-zero); ``None`` when nothing was
    read (the state is unchanged)."""
    if not data:
        return None
    return data[-1] != 0


@dataclass
class PausePipe:
    """The named pipe, opened as ``lttng_pipe_named_open`` does (both ends
    ``O_NONBLOCK``); ustref keeps the write end (see the module docstring)."""

    path: str
    read_fd: int
    write_fd: int

    @classmethod
    def create(cls, path: str) -> PausePipe:
        """``mkfifo(path, 0660)``, then open the read end, then the write end."""
        try:
            os.mkfifo(path, PAUSE_PIPE_MODE)
        except OSError as exc:
            raise UstrefError(f"pause pipe {path}: mkfifo: {exc.strerror}") from exc
        try:
            read_fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise UstrefError(f"pause pipe {path}: open: {exc.strerror}") from exc
        try:
            write_fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            os.close(read_fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise UstrefError(f"pause pipe {path}: open: {exc.strerror}") from exc
        log.debug("created pause pipe at %s", path)
        return cls(path, read_fd, write_fd)

    def fileno(self) -> int:
        return self.read_fd

    def read_state(self) -> bool | None:
        """Purge the pipe and return the freshest state (``None``: nothing new)."""
        data = bytearray()
        while True:
            try:
                chunk = os.read(self.read_fd, 4096)
            except BlockingIOError:
                break
            except InterruptedError:
                continue
            except OSError as exc:
                log.error("pause pipe %s: read: %s", self.path, exc.strerror)
                break
            if not chunk:
                break
            data += chunk
        state = freshest_state(bytes(data))
        if state is not None:
            log.debug(
                "message received on pause pipe: %s data consumption",
                "paused" if state else "resumed",
            )
        return state

    def close(self) -> None:
        """``pause_pipe_fini()``: unlink the pipe, close it."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


def open_from_env(environ: Mapping[str, str]) -> PausePipe | None:
    """The pause pipe when the environment asks for it, else ``None`` (nothing is
    created and consumption is never paused). A pipe that cannot be created is
    logged, and the consumer goes on without it."""
    path = pause_pipe_path(environ)
    if path is None:
        return None
    try:
        return PausePipe.create(path)
    except UstrefError as exc:
        log.error("%s", exc)
        return None
