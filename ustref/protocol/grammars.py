"""Imports every protocol module so that each registers its structs and enums."""

from __future__ import annotations

from ustref.protocol import (  # noqa: F401
    agent,
    client,
    consumer,
    lttng_error,
    lttng_types,
    relayd,
    sockets,
    uri,
    ust_abi,
    ustctl,
    viewer,
)
