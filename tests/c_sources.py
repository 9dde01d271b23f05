"""Where the tests find lttng-tools 2.13.9's C sources.

One place: Debian's ``ltt-control`` 2.13.9 source package (its ``src/common``
files are those of the upstream tag v2.13.9), unpacked under
``build/upstream/src/`` by ``scripts/fetch-lttng-source.sh`` — what ``make
sources`` and ``make test`` run, and what ``ustref conformance upstream``
builds its test tree from. ``USTREF_LTTNG_TOOLS_SRC`` points elsewhere. Tests
that read the tree skip, saying how to fetch it, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

LTTNG_TOOLS_2_13_9 = Path(
    os.environ.get("USTREF_LTTNG_TOOLS_SRC", REPO / "build/upstream/src/ltt-control-2.13.9")
)
"""The lttng-tools 2.13.9 source tree (a directory holding ``src/`` and ``tests/``)."""

NOT_FETCHED = (
    f"lttng-tools 2.13.9 sources not at {LTTNG_TOOLS_2_13_9}: "
    "run `make sources` (scripts/fetch-lttng-source.sh)"
)

needs_lttng_tools_2_13_9 = pytest.mark.skipif(
    not (LTTNG_TOOLS_2_13_9 / "src").is_dir(), reason=NOT_FETCHED
)
"""Skip a test when the tree is absent."""

LTTNG_UST_2_13_5 = Path(
    os.environ.get("USTREF_LTTNG_UST_SRC", REPO / "build/upstream/src/ust-2.13.5")
)
"""The lttng-ust 2.13.5 source tree: Debian's ``ust`` source package, unpacked by
``scripts/fetch-lttng-source.sh build/upstream/src liblttng-ust-dev`` (``make sources``)."""

LTTNG_TOOLS_97535EFAA = Path(
    os.environ.get("USTREF_SEED_TREE", REPO / "build/upstream/src/lttng-tools-97535efaa")
)
"""A checkout of lttng-tools at commit 97535efaa. No Debian package has it, so nothing
fetches it: its facts stay committed, and what needs the tree skips without it."""
