"""Drive the real LTTng stack: a root session daemon, sample traced apps, babeltrace2.

Used by the integration tests, the demo and the capture tool to run the
reference chain (``lttng-sessiond`` → ``lttng-consumerd`` → CTF trace) that
ustref is checked against. Every failure of that stack raises
:class:`LttngError` (a :class:`ustref.errors.UstrefError`).
"""

from __future__ import annotations

from ustref.lttng.apps import APPS, FORK_WRAPPER, AppSpec, apps_dir, build_all, build_app
from ustref.lttng.babeltrace import (
    Event,
    count_events,
    count_messages,
    parse_counter,
    parse_line,
    read_events,
    split_fields,
    split_groups,
)
from ustref.lttng.sessiond import (
    DEFAULT_LOCK_PATH,
    LttngCommandError,
    LttngError,
    ProcessInfo,
    SessionDaemon,
    SessiondConflictError,
    become_subreaper,
    descendants,
    find_sessiond_processes,
    parse_discarded_events,
    process_info,
)

__all__ = [
    "APPS",
    "DEFAULT_LOCK_PATH",
    "FORK_WRAPPER",
    "AppSpec",
    "Event",
    "LttngCommandError",
    "LttngError",
    "ProcessInfo",
    "SessionDaemon",
    "SessiondConflictError",
    "apps_dir",
    "become_subreaper",
    "build_all",
    "build_app",
    "count_events",
    "count_messages",
    "descendants",
    "find_sessiond_processes",
    "parse_counter",
    "parse_discarded_events",
    "parse_line",
    "process_info",
    "read_events",
    "split_fields",
    "split_groups",
]
