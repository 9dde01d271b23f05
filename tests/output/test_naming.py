"""The naming and rotation rules of ustref.output.naming, each against the C rule it mirrors."""

from __future__ import annotations

import time

import pytest

from ustref.ids import ChunkId
from ustref.output import naming


@pytest.mark.parametrize(
    ("path", "size", "count", "suffix", "expected"),
    [
        ("uid/0/64-bit", 0, 0, "", "uid/0/64-bit/chan_0"),
        ("uid/0/64-bit", 0, 7, "", "uid/0/64-bit/chan_0"),  # no size limit: no _count
        ("uid/0/64-bit", 4096, 0, "", "uid/0/64-bit/chan_0_0"),  # size limit: _0 from the start
        ("uid/0/64-bit", 4096, 12, ".idx", "uid/0/64-bit/chan_0_12.idx"),
        ("uid/0/64-bit/", 4096, 1, "", "uid/0/64-bit/chan_0_1"),  # no double separator
        ("", 0, 0, "", "chan_0"),
        (None, 1, 2, "", "chan_0_2"),
    ],
)
def test_stream_file_path(
    path: str | None, size: int, count: int, suffix: str, expected: str
) -> None:
    assert naming.stream_file_path(path, "chan_0", size, count, suffix) == expected


def test_index_paths_sit_in_the_index_subdirectory() -> None:
    assert naming.index_directory("pid/app-1-20260101-000000") == "pid/app-1-20260101-000000/index"
    assert naming.index_directory("") == "index"
    assert naming.index_file_path("uid/0/64-bit", "chan_3", 0, 5) == "uid/0/64-bit/index/chan_3.idx"
    assert (
        naming.index_file_path("uid/0/64-bit", "chan_3", 8192, 5)
        == "uid/0/64-bit/index/chan_3_5.idx"
    )


def test_stream_names() -> None:
    assert naming.data_stream_name("channel0", 3) == "channel0_3"
    assert naming.METADATA_NAME == "metadata"


@pytest.mark.parametrize(
    ("limit", "current", "packet", "rotate"),
    [
        (0, 10**9, 4096, False),  # no limit: never
        (8192, 4096, 4096, False),  # exactly full: stays
        (8192, 4097, 4096, True),  # one byte over: rotates before writing
        (8192, 0, 16384, True),  # a packet larger than the limit rotates even an empty file
    ],
)
def test_must_rotate_tracefile(limit: int, current: int, packet: int, rotate: bool) -> None:
    assert naming.must_rotate_tracefile(limit, current, packet) is rotate


def test_next_tracefile_index_wraps_at_the_count() -> None:
    sequence = [0]
    for _ in range(7):
        sequence.append(naming.next_tracefile_index(sequence[-1], 3))
    assert sequence == [0, 1, 2, 0, 1, 2, 0, 1]
    unlimited = [0]
    for _ in range(4):
        unlimited.append(naming.next_tracefile_index(unlimited[-1], 0))
    assert unlimited == [0, 1, 2, 3, 4]


def test_chunk_names_use_local_iso8601() -> None:
    begin, end = 1_800_000_000, 1_800_000_321
    fmt = "%Y%m%dT%H%M%S%z"
    b = time.strftime(fmt, time.localtime(begin))
    e = time.strftime(fmt, time.localtime(end))
    assert naming.chunk_name(ChunkId(4), begin) == f"{b}-4"
    assert naming.chunk_name(ChunkId(4), begin, end) == f"{b}-{e}-4"
    assert len(b) == len("YYYYmmddTHHMMSS+HHMM")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("my-chunk", True),
        ("", False),
        (None, False),
        ("a/b", False),
        ("a.b", False),
        ("x" * 254, True),
        ("x" * 255, False),  # LTTNG_NAME_MAX includes the NUL
    ],
)
def test_chunk_name_validity(name: str | None, valid: bool) -> None:
    assert naming.is_valid_chunk_name(name) is valid


def test_session_daemon_paths() -> None:
    assert naming.ust_uid_path(1000, 64) == "uid/1000/64-bit"
