"""The typed-id accessors of the consumer grammars (``ustref.ids``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ustref.errors import LocalProtocolError
from ustref.protocol import consumer as c
from ustref.protocol.abi import Abi
from ustref.protocol.lttng_error import LttcommReturnCode

_C = c.LttngConsumerCommand


def _member(cmd: c.LttngConsumerCommand, member: bytes = b"") -> Any:
    """``u`` of a parsed command whose member starts with ``member`` (zeros after)."""
    spec = c.CONSUMER_MSG[Abi.V2_13_9]
    raw = cmd.to_bytes(4, "little") + member
    return spec.parse(raw.ljust(spec.size, b"\0")).u


def test_channel_key_is_read_from_key_or_channel_key() -> None:
    assert c.channel_key(_member(_C.LTTNG_CONSUMER_GET_CHANNEL, (7).to_bytes(8, "little"))) == 7
    sent = _member(_C.LTTNG_CONSUMER_STREAMS_SENT, (9).to_bytes(8, "little"))
    assert c.channel_key(sent) == 9
    with pytest.raises(LocalProtocolError, match="no channel key"):
        c.channel_key(c.ConsumerStatusMsg(ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS))


def test_relayd_and_chunk_ids_unset_are_none() -> None:
    snapshot = _member(_C.LTTNG_CONSUMER_SNAPSHOT_CHANNEL)
    assert c.relayd_id(dataclasses.replace(snapshot, relayd_id=c.NO_RELAYD)) is None
    assert c.relayd_id(dataclasses.replace(snapshot, relayd_id=3)) == 3
    close = _member(_C.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK)
    close = dataclasses.replace(close, chunk_id=42, session_id=5)
    assert (c.relayd_id(close), c.chunk_id(close), c.session_id(close)) == (None, 42, 5)
    remote = dataclasses.replace(close, relayd_id=c.OptionalU64(is_set=1, value=2))
    assert c.relayd_id(remote) == 2
    ask = _member(_C.LTTNG_CONSUMER_ASK_CHANNEL_CREATION)
    assert c.chunk_id(ask) is None  # OptionalU64 unset
    assert c.chunk_id(dataclasses.replace(ask, chunk_id=c.OptionalU64(is_set=1, value=0))) == 0
    with pytest.raises(LocalProtocolError, match="session id"):
        c.session_id(c.KeyArgs(key=1))
