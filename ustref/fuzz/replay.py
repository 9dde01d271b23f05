"""``ustref fuzz replay FILE``: replay a consumerd reproducer deterministically.

A reproducer (written by ``ustref fuzz consumerd``, format
``ustref-consumerd-reproducer/1``) lists the session daemon's actions in
order — the exact bytes sent on each socket, the kinds of descriptors that rode
with them (``pipe``: a pipe's write end, ``dir``: a directory, ``socket``: an
AF_UNIX socket whose peer is closed, ``connected-socket``: one whose peer stays
open, ``devnull``), hang-ups — and the outcome seen. Replay starts a fresh
private consumer, performs the same actions with the same checks, and judges:

* ``--target c``: the C consumer's outcome has the recorded signature;
* ``--target ustref``: ustref-consumerd neither crashes, hangs nor breaks the
  conversation table;
* ``--target both``: both consumers, their transcripts side by side and the
  verdict of :func:`ustref.fuzz.differential.compare`; a differential reproducer
  reproduces when its verdict does, a C crash reproducer when the verdict is
  *C crashes, ustref answers* with the recorded C signature.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ustref.fuzz.consumerd import run_actions
from ustref.fuzz.session import Action
from ustref.protocol.abi import Abi


def load(path: Path) -> tuple[dict[str, Any], Abi, list[Action]]:
    """A reproducer's document, ABI and actions."""
    doc = json.loads(path.read_text())
    actions = [Action.from_json(a) for a in doc["actions"]]
    return doc, Abi.from_name(doc.get("abi", "v2.13.9")), actions


def replay_main(
    path: Path,
    binary: str,
    timeout: float,
    *,
    target: str | None = None,
    ustref: str | Sequence[str] = (),
) -> int:
    """Replay ``path`` against ``target`` (default: the file's own, else ``c``); 0 if it
    holds (see the module docstring)."""
    doc, abi, actions = load(path)
    target = target or doc.get("target", "c")
    want = doc.get("signature", "")
    result: dict[str, Any] = {"file": str(path), "target": target, "actions": len(actions),
                              "expected": want}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ustref-replay-") as tmp:
        if target == "both":
            from ustref.fuzz.differential import describe, run_both

            c, u, verdict = run_both(binary, ustref, abi, actions, Path(tmp), timeout=timeout)
            for name, transcript in (("C lttng-consumerd", c), ("ustref-consumerd", u)):
                print(f"== {name}")
                print("\n".join(describe(transcript, actions)))
            print(f"== verdict: {verdict.label} {list(verdict.aspects)} {verdict.detail}")
            result["verdict"] = verdict.to_json()
            result["got"] = verdict.signature()
            if want.startswith("diff:"):
                result["reproduced"] = verdict.signature() == want
            else:
                result["c"] = c.outcome.signature()
                result["reproduced"] = verdict.kind == "c-dies" and c.outcome.signature() == want
        else:
            outcome = run_actions(ustref if target == "ustref" else binary, abi, actions,
                                  Path(tmp) / "c", timeout)  # fmt: skip
            result["got"] = outcome.signature()
            result["outcome"] = outcome.to_json()
            if target == "ustref":
                result["reproduced"] = not outcome.finding and outcome.kind != "launch-failed"
            else:
                result["reproduced"] = outcome.signature() == want
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0 if result["reproduced"] else 1
