"""The typed-id accessors of the consumer grammars (``ustref.ids``)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ustref.errors import LocalProtocolError
from ustref.protocol import consumer
from ustref.protocol.abi import Abi
from ustref.protocol.lttng_error import LttcommReturnCode


def _member(cmd: consumer.LttngConsumerCommand, member: bytes = b"") -> Any:
    """``u`` of a parsed command whose member starts with ``member`` (zeros after)."""
    spec = consumer.CONSUMER_MSG[Abi.V2_13_9]
    raw = cmd.to_bytes(4, "little") + member
    return spec.parse(raw.ljust(spec.size, b"\0")).u


def test_channel_key_is_read_from_key_or_channel_key() -> None:
    assert (
        consumer.channel_key(
            _member(
                consumer.LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL, (7).to_bytes(8, "little")
            )
        )
        == 7
    )
    sent = _member(
        consumer.LttngConsumerCommand.LTTNG_CONSUMER_STREAMS_SENT, (9).to_bytes(8, "little")
    )
    assert consumer.channel_key(sent) == 9
    with pytest.raises(LocalProtocolError, match="no channel key"):
        consumer.channel_key(
            consumer.ConsumerStatusMsg(ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS)
        )


def test_relayd_and_chunk_ids_unset_are_none() -> None:
    snapshot = _member(consumer.LttngConsumerCommand.LTTNG_CONSUMER_SNAPSHOT_CHANNEL)
    assert consumer.relayd_id(dataclasses.replace(snapshot, relayd_id=consumer.NO_RELAYD)) is None
    assert consumer.relayd_id(dataclasses.replace(snapshot, relayd_id=3)) == 3
    close = _member(consumer.LttngConsumerCommand.LTTNG_CONSUMER_CLOSE_TRACE_CHUNK)
    close = dataclasses.replace(close, chunk_id=42, session_id=5)
    assert (consumer.relayd_id(close), consumer.chunk_id(close), consumer.session_id(close)) == (
        None,
        42,
        5,
    )
    remote = dataclasses.replace(close, relayd_id=consumer.OptionalU64(is_set=1, value=2))
    assert consumer.relayd_id(remote) == 2
    ask = _member(consumer.LttngConsumerCommand.LTTNG_CONSUMER_ASK_CHANNEL_CREATION)
    assert consumer.chunk_id(ask) is None  # OptionalU64 unset
    assert (
        consumer.chunk_id(
            dataclasses.replace(ask, chunk_id=consumer.OptionalU64(is_set=1, value=0))
        )
        == 0
    )
    with pytest.raises(LocalProtocolError, match="session id"):
        consumer.session_id(consumer.KeyArgs(key=1))


def test_relayd_index_keeps_all_ones() -> None:
    """The relayd table's key is taken as sent: all ones is an index there, not "local"."""
    destroy = _member(consumer.LttngConsumerCommand.LTTNG_CONSUMER_DESTROY_RELAYD)
    destroy = dataclasses.replace(destroy, net_seq_idx=consumer.NO_RELAYD)
    assert consumer.relayd_index(destroy) == consumer.NO_RELAYD
    sock = _member(consumer.LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET)
    assert consumer.relayd_index(dataclasses.replace(sock, net_index=4)) == 4
