"""The session daemon ↔ consumer daemon conversation: its table and a sans-IO machine.

:mod:`.rules` is the table (what follows what, on which socket, with which
fds); :mod:`.machine` plays a side of it
(``Conversation(our_role=Role.CONSUMERD)``: ``send`` / ``receive`` with real
descriptors) or observes both (``observe``); :mod:`.steps` is the table's
vocabulary; :mod:`.stream` one direction of one socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ustref._lazy import lazy_getattr

if TYPE_CHECKING:
    from ustref.protocol.constants import FD_CARRIER
    from ustref.protocol.conversation.machine import Conversation, Decoded
    from ustref.protocol.conversation.steps import Direction, Role, Socket

__all__ = ["FD_CARRIER", "Conversation", "Decoded", "Direction", "Role", "Socket"]

__getattr__ = lazy_getattr(__name__, ("steps", "machine"), __all__)
