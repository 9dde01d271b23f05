"""``ustref fuzz replay FILE``: replay a consumerd reproducer deterministically.

A reproducer (written by ``ustref fuzz consumerd``, format
``ustref-consumerd-reproducer/1``) lists the session daemon's actions in
order — the exact bytes sent on each socket, the kinds of descriptors that rode
with them (``pipe``: a pipe's write end, ``dir``: a directory, ``socket``: a
socket whose peer is closed, ``devnull``), hang-ups — and the outcome seen.
Replay starts a fresh private consumer, performs the same actions with the same
checks, and compares the outcome's signature.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from ustref.fuzz.consumerd import run_actions
from ustref.fuzz.session import Action
from ustref.protocol.abi import Abi


def replay_main(path: Path, binary: str, timeout: float) -> int:
    """Replay ``path``; 0 if the recorded outcome reproduces, 1 if not."""
    doc = json.loads(path.read_text())
    actions = [Action.from_json(a) for a in doc["actions"]]
    abi = Abi.from_name(doc.get("abi", "v2.13.9"))
    with tempfile.TemporaryDirectory(prefix="ustref-replay-") as tmp:
        outcome = run_actions(binary, abi, actions, Path(tmp) / "c", timeout)
    want = doc.get("signature", "")
    result = {
        "file": str(path),
        "actions": len(actions),
        "expected": want,
        "got": outcome.signature(),
        "outcome": outcome.to_json(),
        "reproduced": outcome.signature() == want,
    }
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if result["reproduced"] else 1
