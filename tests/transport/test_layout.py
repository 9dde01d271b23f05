"""Every socket read or write of ``ustref/`` goes through :mod:`ustref.transport`."""

from __future__ import annotations

import re
from pathlib import Path

import ustref

PACKAGE = Path(ustref.__file__).parent
#: The standard library's descriptor-passing calls; only the framing layer uses them.
FD_CALLS = re.compile(r"\bsocket\.(send_fds|recv_fds)\s*\(")


def test_descriptors_move_only_through_the_transport() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}: {line.strip()}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if PACKAGE / "transport" not in path.parents
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if FD_CALLS.search(line)
    ]
    assert offenders == [], "use ustref.transport.framing (send_all, recv_some, hand_over)"


def test_the_pattern_sees_a_call() -> None:
    assert FD_CALLS.search("data, fds, _, _ = socket.recv_fds(sock, 1, 1)")
    assert FD_CALLS.search("socket.send_fds(sock, [b'x'], [fd])")
    assert not FD_CALLS.search(":func:`socket.recv_fds`/:func:`socket.send_fds`: each")
