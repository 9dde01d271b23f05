"""Fixtures of the ring-buffer tests: oracle channels and the two reader back ends.

Every differential test gets a :class:`Pair`: one stream of a channel created
by liblttng-ust-ctl (the oracle), seen both through the library's own stream
object and through ustref's pure :class:`~ustref.ring.reader.StreamReader`
mapped on the same shm fd. The ``driver`` parameter says which back end does
the get/put work — ``oracle``, ``pure``, or ``mixed`` (alternating) — while
both are asked every value, so each test runs on both back ends and across
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from tests.guard import skip_or_fail
from ustref.ring import libustctl
from ustref.ring.libustctl import OracleChannel, OracleStream
from ustref.ring.reader import StreamReader

Reader = StreamReader | OracleStream


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip oracle tests where liblttng-ust-ctl cannot load — fail them in CI (tests.guard)."""
    if "oracle_channel" in getattr(item, "fixturenames", ()) and not libustctl.available():
        skip_or_fail("liblttng-ust-ctl.so.5 (and a C compiler for its shim) missing")


@dataclass
class Pair:
    """One stream seen by both back ends; ``driver()`` picks who acts next."""

    channel: OracleChannel
    oracle: OracleStream
    pure: StreamReader
    mode: str
    turns: int = field(default=0)

    def driver(self) -> Reader:
        """The back end that performs the next get/put (alternates when ``mixed``)."""
        if self.mode == "oracle":
            return self.oracle
        if self.mode == "pure":
            return self.pure
        self.turns += 1
        return self.pure if self.turns % 2 else self.oracle

    @property
    def both(self) -> tuple[Reader, Reader]:
        return (self.oracle, self.pure)


@pytest.fixture
def oracle_channel() -> Iterator[Callable[..., OracleChannel]]:
    """``oracle_channel(**attrs)`` creates liblttng-ust-ctl channels, destroyed after the test."""
    made: list[OracleChannel] = []

    def make(**kwargs: object) -> OracleChannel:
        channel = OracleChannel(**kwargs)  # type: ignore[arg-type]
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()


@pytest.fixture(params=["oracle", "pure", "mixed"])
def driver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_pair(
    oracle_channel: Callable[..., OracleChannel], driver: str
) -> Iterator[Callable[..., Pair]]:
    """``make_pair(cpu=0, **channel_attrs)``: a :class:`Pair` on a new oracle channel."""
    readers: list[StreamReader] = []

    def make(cpu: int = 0, **kwargs: object) -> Pair:
        channel = oracle_channel(**kwargs)
        oracle = channel.create_stream(cpu)
        pure = StreamReader.from_fd(oracle.shm_fd, source=f"oracle stream cpu {cpu}")
        readers.append(pure)
        return Pair(channel, oracle, pure, driver)

    yield make
    for reader in readers:
        reader.close()
