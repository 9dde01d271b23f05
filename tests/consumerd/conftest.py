"""Fixtures of the consumer daemon tests."""

from __future__ import annotations

import pytest

from ustref.consumerd import ring_backend
from ustref.ring import libustctl


@pytest.fixture(params=ring_backend.CHOICES)
def backend(request: pytest.FixtureRequest) -> ring_backend.Backend:
    """Every ust-ctl backend of the consumer (``lib`` skipped where it does not load)."""
    if request.param == ring_backend.LIB and not libustctl.available():
        pytest.skip("liblttng-ust-ctl not loadable")
    return ring_backend.backend(request.param)
