"""The consumer grammar's own checks: what they reject, and how they say it.

``close_trace_chunk_path`` mirrors the session daemon's checks of a
CLOSE_TRACE_CHUNK reply (``consumer_close_trace_chunk``, sessiond consumer.c @
v2.13.9: ``path_length < LTTNG_PATH_MAX``, last byte NUL);
``parse_metadata_socket_reply`` accepts only LTTNG_ERR_UND or PUSH_METADATA
(``lttng_ustconsumer_request_metadata``, ust-consumer.c:3385-3395); a status
``ret_code`` is an ``lttcomm_return_code`` or an ``lttng_error_code``. Each error
must name the message, the field and the byte offset.
"""

from __future__ import annotations

import struct

import pytest

from ustref.errors import LocalProtocolError, RemoteProtocolError
from ustref.protocol.abi import ALL_ABIS, Abi
from ustref.protocol.consumer import (
    CONSUMER_MSG_SIZE,
    STATUS_MSG,
    ConsumerCloseTraceChunkReply,
    ConsumerStatusMsg,
    close_trace_chunk_path,
    parse_metadata_socket_reply,
)
from ustref.protocol.lttng_error import LttcommReturnCode

REPLY = "lttcomm_consumer_close_trace_chunk_reply"
PATH_MAX = 4096  # LTTNG_PATH_MAX, include/lttng/constant.h


def reply(path: bytes, path_length: int | None = None) -> ConsumerCloseTraceChunkReply:
    return ConsumerCloseTraceChunkReply(
        ret_code=LttcommReturnCode.LTTCOMM_CONSUMERD_SUCCESS,
        path_length=len(path) if path_length is None else path_length,
        path=path,
    )


def test_path_is_the_text_before_the_first_nul() -> None:
    assert close_trace_chunk_path(reply(b"/a/b\0")) == "/a/b"
    assert close_trace_chunk_path(reply(b"a\0b\0c\0")) == "a"
    # bytes that are not UTF-8 survive as surrogates, never as an exception
    assert close_trace_chunk_path(reply(b"\xffx\0")) == "\udcffx"


def test_path_length_must_stay_below_lttng_path_max() -> None:
    ok = b"p" * (PATH_MAX - 2) + b"\0"
    assert close_trace_chunk_path(reply(ok)) == "p" * (PATH_MAX - 2)
    with pytest.raises(RemoteProtocolError) as caught:
        close_trace_chunk_path(reply(b"x\0", path_length=PATH_MAX))
    error = caught.value
    assert (error.message, error.field, error.offset) == (REPLY, "path_length", 4)
    assert error.reason == f"path_length {PATH_MAX} >= LTTNG_PATH_MAX ({PATH_MAX})"


@pytest.mark.parametrize(("path", "offset"), [(b"", 8), (b"x", 8), (b"abc", 10)])
def test_path_must_end_with_nul(path: bytes, offset: int) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        close_trace_chunk_path(reply(path))
    error = caught.value
    assert (error.message, error.field, error.offset) == (REPLY, "path", offset)
    assert error.reason == "path is not NUL-terminated"


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
@pytest.mark.parametrize("size", [0, 4, CONSUMER_MSG_SIZE - 1, CONSUMER_MSG_SIZE + 1])
def test_metadata_socket_reply_must_be_a_whole_message(abi: Abi, size: int) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        parse_metadata_socket_reply(abi, bytes(size))
    error = caught.value
    assert error.message == "lttcomm_consumer_msg (metadata socket reply)"
    assert error.reason == f"{size} bytes, expected {CONSUMER_MSG_SIZE}"
    assert error.offset == min(size, CONSUMER_MSG_SIZE)


@pytest.mark.parametrize("abi", ALL_ABIS, ids=lambda a: a.value)
def test_metadata_socket_reply_other_commands_are_refused(abi: Abi) -> None:
    flush = struct.pack("<I", 13) + bytes(CONSUMER_MSG_SIZE - 4)  # LTTNG_CONSUMER_FLUSH_CHANNEL
    with pytest.raises(RemoteProtocolError) as caught:
        parse_metadata_socket_reply(abi, flush)
    error = caught.value
    assert error.message == "lttcomm_consumer_msg (metadata socket reply)"
    assert (error.field, error.offset) == ("cmd_type", 0)
    assert error.reason == "13 is neither LTTNG_ERR_UND nor LTTNG_CONSUMER_PUSH_METADATA"


def test_status_ret_code_outside_both_enums() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        STATUS_MSG.parse(struct.pack("<I", 99999))
    error = caught.value
    assert (error.field, error.offset) == ("ret_code", 0)
    assert error.reason.startswith("99999 is a value of neither enum lttcomm_return_code")
    assert "nor enum lttng_error_code" in error.reason
    with pytest.raises(LocalProtocolError, match="99999 is a value of neither"):
        STATUS_MSG.build(ConsumerStatusMsg(ret_code=99999))  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError, match="'x' is a value of neither"):
        STATUS_MSG.build(ConsumerStatusMsg(ret_code="x"))  # type: ignore[arg-type]
    # not even hashable: still the typed error, never a bare TypeError
    with pytest.raises(LocalProtocolError, match=r"\[1\] is a value of neither"):
        STATUS_MSG.build(ConsumerStatusMsg(ret_code=[1]))  # type: ignore[arg-type]
