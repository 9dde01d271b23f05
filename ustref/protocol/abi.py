"""ABI profiles: the lttng-tools revisions whose wire layouts ustref mirrors.

Both profiles describe an x86_64 (LP64, little-endian) 64-bit consumer daemon.
"""

from __future__ import annotations

import enum

from ustref.errors import LocalProtocolError


class Abi(enum.Enum):
    """An lttng-tools revision whose lttcomm wire layouts ustref implements."""

    #: lttng-tools tag v2.13.9 — what Debian bookworm ships and what runs here.
    V2_13_9 = "v2.13.9"
    #: lttng-tools commit 97535efaa — the revision of the seed ``ust-consumer.cpp``.
    #: Not an ancestor of v2.13.9: some messages differ on the wire.
    R97535EFAA = "97535efaa"

    @classmethod
    def from_name(cls, name: str) -> Abi:
        """Return the profile named ``v2.13.9`` or ``97535efaa``."""
        for abi in cls:
            if abi.value == name:
                return abi
        names = ", ".join(a.value for a in cls)
        raise LocalProtocolError(f"unknown ABI profile {name!r} (known: {names})")


ALL_ABIS: tuple[Abi, ...] = tuple(Abi)
DEFAULT_ABI = Abi.V2_13_9
