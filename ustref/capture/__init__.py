"""Capture the real session daemon ↔ consumer daemon conversation, and read captures.

* :mod:`ustref.capture.wrapper` — the recording ``lttng-consumerd`` wrapper
  (run by ``ustref/data/bin/ustref-capture-consumerd``);
* :mod:`ustref.capture.launch` — how to make a session daemon use it;
* :mod:`ustref.capture.format` — capture files and raw capture directories;
* :mod:`ustref.capture.cli` — ``ustref capture …``.

Only the format is imported here: ``python3 -m ustref.capture.wrapper`` must not
find the wrapper module already imported by its package.
"""

from __future__ import annotations

from ustref.capture.format import (
    Capture,
    CaptureEnd,
    CaptureFormatError,
    CaptureHeader,
    CaptureRecord,
    CaptureWriter,
    Direction,
    Socket,
    load_capture,
    read_capture,
    read_capture_dir,
    read_capture_file,
    write_capture_dir,
    write_capture_file,
)

__all__ = [
    "Capture",
    "CaptureEnd",
    "CaptureFormatError",
    "CaptureHeader",
    "CaptureRecord",
    "CaptureWriter",
    "Direction",
    "Socket",
    "load_capture",
    "read_capture",
    "read_capture_dir",
    "read_capture_file",
    "write_capture_dir",
    "write_capture_file",
]
