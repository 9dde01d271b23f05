"""Consumer status replies: values read in sessiond-comm.h and consumer.c."""

from __future__ import annotations

import struct

import pytest

from tests.protocol.roundtrip import assert_roundtrip
from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.protocol.consumer import (
    STATUS_CHANNEL,
    STATUS_MSG,
    ConsumerStatusChannel,
    ConsumerStatusMsg,
)
from ustref.protocol.lttng_error import LttcommReturnCode


def test_status_msg_success() -> None:
    # struct lttcomm_consumer_status_msg { enum lttcomm_return_code ret_code; } LTTNG_PACKED
    assert_roundtrip(
        STATUS_MSG,
        ConsumerStatusMsg(ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS),
        struct.pack("<I", 0),
        c_sizeof=4,
    )


def test_status_channel_layout() -> None:
    # packed: ret_code u32 @0, key u64 @4, stream_count u32 @12 → sizeof 16
    obj = ConsumerStatusChannel(
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_CHANNEL_FAIL, key=0x1122, stream_count=2
    )
    assert_roundtrip(STATUS_CHANNEL, obj, struct.pack("<IQI", 118, 0x1122, 2), c_sizeof=16)


def test_unknown_return_code_names_field_and_offset() -> None:
    with pytest.raises(RemoteProtocolError) as info:
        STATUS_CHANNEL.parse(struct.pack("<IQI", 99, 1, 1))
    assert info.value.message == "lttcomm_consumer_status_channel"
    assert info.value.field == "ret_code"
    assert info.value.offset == 0


@pytest.mark.parametrize("size", [0, 3, 15, 17])
def test_wrong_size_is_remote_error(size: int) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        STATUS_CHANNEL.parse(bytes(size))
    assert info.value.offset == min(size, 16)


def test_building_invalid_enum_is_local_error() -> None:
    with pytest.raises(LocalProtocolError, match="ret_code"):
        STATUS_MSG.build(ConsumerStatusMsg(ret_code=7))  # type: ignore[arg-type]
