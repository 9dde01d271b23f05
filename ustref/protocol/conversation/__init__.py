"""The session daemon ↔ consumer daemon conversation: its table and a sans-IO decoder.

:mod:`.rules` is the table (what follows what, on which socket, with which
fds); :mod:`.machine` decodes byte streams with it; :mod:`.steps` is the
table's vocabulary; :mod:`.stream` one direction of one socket.
"""

from __future__ import annotations

from ustref.protocol.conversation.machine import Conversation, Decoded
from ustref.protocol.conversation.steps import Direction, Socket

__all__ = ["Conversation", "Decoded", "Direction", "Socket"]
