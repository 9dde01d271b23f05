"""The session daemon ↔ consumer daemon conversation: its table and a sans-IO machine.

:mod:`.rules` is the table (what follows what, on which socket, with which
fds); :mod:`.machine` plays a side of it
(``Conversation(our_role=Role.CONSUMERD)``: ``send`` / ``receive`` with real
descriptors) or observes both (``observe``); :mod:`.steps` is the table's
vocabulary; :mod:`.stream` one direction of one socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ustref.protocol.conversation.machine import Conversation, Decoded
    from ustref.protocol.conversation.steps import FD_CARRIER, Direction, Role, Socket

_HOMES = {
    "machine": ("Conversation", "Decoded"),
    "steps": ("FD_CARRIER", "Direction", "Role", "Socket"),
}
"""Which submodule defines each name, imported on first use (PEP 562): a user of
:mod:`.steps` alone (the transport's fd carrier) does not build the machine."""


def __getattr__(name: str) -> Any:
    import importlib

    for module, names in _HOMES.items():
        if name in names:
            return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FD_CARRIER", "Conversation", "Decoded", "Direction", "Role", "Socket"]
