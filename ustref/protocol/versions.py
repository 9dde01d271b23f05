"""Version numbers that travel on the wire, per ABI profile.

They are ``#define``s, not struct members or enums, so the layout does not list
them; the ABI diff does (:mod:`ustref.specgen.abidiff`). Read from the headers
of each revision: ``RELAYD_VERSION_COMM_MAJOR``/``_MINOR`` are
``VERSION_MAJOR``/``VERSION_MINOR`` of configure.ac (2.13.9 → 2.13;
97535efaa is 2.14.0-pre → 2.14) and are what ``relayd_version_check``
(sessiond cmd.c), ``relay_send_version`` (relayd main.c) and ``viewer_connect``
(relayd live.c) put in ``lttcomm_relayd_version`` / ``lttng_viewer_connect``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ustref.protocol.abi import Abi


@dataclasses.dataclass(frozen=True)
class WireConstant:
    """A ``#define`` whose value a peer sees: its value, header and the field it fills."""

    value: int
    header: str
    carried_by: str


_RELAYD_H = "src/common/sessiond-comm/relayd.h (VERSION_MAJOR/MINOR of configure.ac)"
_RELAYD_VERSION = "lttcomm_relayd_version (RELAYD_VERSION), lttng_viewer_connect"
_UST_ABI_H = "src/bin/lttng-sessiond/ust-abi-internal.h"
_AGENT_H = "src/bin/lttng-sessiond/agent.h"


def _constants(relayd_minor: int) -> Mapping[str, WireConstant]:
    return {
        "RELAYD_VERSION_COMM_MAJOR": WireConstant(2, _RELAYD_H, _RELAYD_VERSION + ".major"),
        "RELAYD_VERSION_COMM_MINOR": WireConstant(
            relayd_minor, _RELAYD_H, _RELAYD_VERSION + ".minor"
        ),
        "LTTNG_UST_ABI_MAJOR_VERSION": WireConstant(
            9, _UST_ABI_H, "lttng_ust_abi_tracer_version / app registration major"
        ),
        "LTTNG_UST_ABI_MINOR_VERSION": WireConstant(
            0, _UST_ABI_H, "lttng_ust_abi_tracer_version / app registration minor"
        ),
        "AGENT_MAJOR_VERSION": WireConstant(2, _AGENT_H, "agent registration major"),
        "AGENT_MINOR_VERSION": WireConstant(0, _AGENT_H, "agent registration minor"),
    }


#: Per ABI, every wire-visible version ``#define`` by name.
WIRE_CONSTANTS: Mapping[Abi, Mapping[str, WireConstant]] = {
    Abi.V2_13_9: _constants(13),
    Abi.R97535EFAA: _constants(14),
}
