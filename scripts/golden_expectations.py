#!/usr/bin/env python3
"""Write expected.jsonl (the normalised decoded conversation) beside every golden capture.

Usage: python scripts/golden_expectations.py [spec/golden/v2.13.9 ...]
Run after scripts/capture_golden.py has re-captured a scenario from the real daemons.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ustref.capture.golden import write_expectations
from ustref.protocol.abi import Abi

ROOT = Path(__file__).resolve().parents[1] / "spec" / "golden"


def main(argv: list[str]) -> int:
    abi_dirs = [Path(a) for a in argv] or sorted(p for p in ROOT.iterdir() if p.is_dir())
    for abi_dir in abi_dirs:
        abi = Abi.from_name(abi_dir.name)
        for scenario in sorted(p for p in abi_dir.iterdir() if p.is_dir()):
            count = write_expectations(scenario, abi)
            print(f"{scenario}: {count} messages")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
