"""Every protocol grammar module, listed explicitly, and the per-ABI schema they fill.

The grammar modules import :mod:`ustref.protocol.registry` and declare their
structs and enums into it; this module imports each of them (the list is
:data:`GRAMMAR_MODULES`) and reads the registry back as a :class:`Schema`.
Nothing in the grammar modules or the registry imports this module, so
``ustref/protocol/`` has no import cycle.
"""

from __future__ import annotations

from types import ModuleType

from ustref.protocol import consumer, handover, lttng_error, relayd, sockets, ust_abi
from ustref.protocol.abi import Abi
from ustref.protocol.peers import agent, client, lttng_types, uri, ust_app, viewer
from ustref.protocol.registry import REGISTRY, Schema

__all__ = ["GRAMMAR_MODULES", "schema"]

GRAMMAR_MODULES: tuple[ModuleType, ...] = (
    lttng_error,
    lttng_types,
    sockets,
    ust_abi,
    ust_app,
    consumer,
    uri,
    handover,
    client,
    relayd,
    viewer,
    agent,
)
"""The modules that declare wire structs and enums, in dependency order."""


def schema(abi: Abi) -> Schema:
    """The complete schema of ``abi``: every struct and enum the grammar modules declare."""
    return Schema(
        abi, dict(REGISTRY.structs[abi]), dict(REGISTRY.enums[abi]), dict(REGISTRY.wire_only)
    )
