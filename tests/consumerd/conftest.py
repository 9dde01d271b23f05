"""Fixtures of the consumer daemon tests."""

from __future__ import annotations

import pytest

from ustref.consumerd import ustctl_backend as B
from ustref.ring import ustctl


@pytest.fixture(params=B.CHOICES)
def backend(request: pytest.FixtureRequest) -> B.Backend:
    """Every ust-ctl backend of the consumer (``lib`` skipped where it does not load)."""
    if request.param == B.LIB and not ustctl.available():
        pytest.skip("liblttng-ust-ctl not loadable")
    return B.backend(request.param)
