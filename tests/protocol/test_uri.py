"""``struct lttng_uri`` (src/common/uri.h): bytes as ``uri_parse`` lays them out.

Packed: dtype u32 @0, utype u32 @4, stype u32 @8, proto u32 @12, port u16 @16,
subdir char[4096] @18, union dst @4114 (ipv4 char[16] / ipv6 char[46] /
path char[4096]) → 8210 bytes.
"""

from __future__ import annotations

import struct

import pytest

from tests.protocol.roundtrip import assert_roundtrip
from ustref.cli import main
from ustref.errors import RemoteProtocolError
from ustref.protocol.consumer import LttngStreamType
from ustref.protocol.peers.uri import URI, LttngDstType, LttngUri, LttngUriType

PATH_MAX = 4096


def _head(dtype: int, stype: int, proto: int, port: int) -> bytes:
    return struct.pack("<IIIIH", dtype, 0, stype, proto, port)


def test_network_uri() -> None:
    # tcp://127.0.0.1:5343 as the data URI: dtype IPV4, stype DATA, proto TCP
    data = (
        _head(1, 1, 1, 5343) + b"sub".ljust(PATH_MAX, b"\0") + b"127.0.0.1".ljust(PATH_MAX, b"\0")
    )
    obj = LttngUri(
        dtype=LttngDstType.LTTNG_DST_IPV4,
        utype=LttngUriType.LTTNG_URI_DST,
        stype=LttngStreamType.LTTNG_STREAM_DATA,
        proto=1,
        port=5343,
        subdir="sub",
        dst="127.0.0.1",
    )
    assert_roundtrip(URI, obj, data, c_sizeof=8210)


def test_path_uri_has_proto_zero() -> None:
    # file:///tmp/trace: uri_parse leaves proto (and port) at 0
    data = _head(3, 0, 0, 0) + bytes(PATH_MAX) + b"/tmp/trace".ljust(PATH_MAX, b"\0")
    obj = URI.parse(data)
    assert (obj.dtype, obj.proto, obj.dst) == (LttngDstType.LTTNG_DST_PATH, 0, "/tmp/trace")
    assert URI.build(obj) == data


def test_unknown_dst_type_is_rejected() -> None:
    data = _head(4, 0, 1, 0) + bytes(2 * PATH_MAX)
    with pytest.raises(RemoteProtocolError, match="dtype"):
        URI.parse(data)


def test_layout_lists_uri_and_its_enums(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "layout", "--abi", "v2.13.9", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"lttng_uri"' in out
    for name in ("lttng_dst_type", "lttng_uri_type", "lttng_proto_type"):
        assert f'"{name}"' in out
