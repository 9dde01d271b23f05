"""C constants that size wire fields (x86_64 Linux, both ABI profiles)."""

from __future__ import annotations

#: ``PATH_MAX`` from <linux/limits.h>.
PATH_MAX = 4096
#: ``LTTNG_SYMBOL_NAME_LEN``, include/lttng/constant.h.
LTTNG_SYMBOL_NAME_LEN = 256
#: ``LTTNG_NAME_MAX``, include/lttng/constant.h.
LTTNG_NAME_MAX = 255
#: ``LTTNG_UUID_LEN``, src/common/uuid.h.
LTTNG_UUID_LEN = 16
#: ``LTTNG_PATH_MAX``, include/lttng/constant.h.
LTTNG_PATH_MAX = 4096
#: ``LTTCOMM_MAX_SEND_FDS`` on Linux (the kernel's ``SCM_MAX_FD``), sessiond-comm.h.
LTTCOMM_MAX_SEND_FDS = 253
#: ``LTTNG_SESSIOND_COMM_MAX_LISTEN``, the ``listen(2)`` backlog, sessiond-comm.h.
LTTNG_SESSIOND_COMM_MAX_LISTEN = 64
#: The dummy byte descriptors ride on (``char dummy = 0`` in
#: ``lttcomm_send_fds_unix_sock``, src/common/unix.c @ v2.13.9; the same in
#: lttng-ust's ``ustcomm_send_fds_unix_sock``).
FD_CARRIER = b"\0"
