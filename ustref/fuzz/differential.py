"""``ustref fuzz consumerd --target both``: the same sequences to the C consumer and to ustref's.

Each sequence the consumer fuzzer generates (against the C consumer, whose
answers steer the generation) is replayed on a fresh C ``lttng-consumerd`` and a
fresh ``ustref-consumerd`` (:func:`~ustref.fuzz.consumerd.run_session`, the same
private launch and the same checked session for both), and the two transcripts
are compared after :func:`normalise`:

* ``command``: the bytes the consumer sent on the command socket, concatenated
  (status codes, reply kinds, sizes and payloads are all in them);
* ``command-fds``: how many descriptors rode along on the command socket;
* ``error``: the bytes of the error socket (``lttcomm_return_code`` values);
* ``metadata``: the distinct metadata requests (``lttcomm_metadata_request_msg``);
* ``ending``: how the session ended — still talking, the consumer closed the
  connection, exited with a status, or died of a signal (hang and rule break:
  see :class:`~ustref.fuzz.session.Outcome`).

What legitimately differs is left out (see spec/fuzzing.md, "Differential
mode"): *when* bytes arrive and how the kernel splits them into reads (the
streams are concatenated per socket; which action a reply followed is shown but
not compared); fd *numbers* (only counts are kept; received descriptors are
closed at once); pids, log lines and exit-status values of a clean exit; how
often a metadata request repeats (the C consumer's timers ask again); after our
own hang-up of the command socket, whether a consumer had exited within 2 s or
not (both shut down). A divergence is classified by :func:`compare`:

* ``same`` — no aspect differs;
* ``c-dies`` — *C crashes, ustref answers*: the C consumer died (signal, hang,
  or its command thread ended) where ustref-consumerd stayed up;
* ``divergence`` — a *real divergence*: anything else that differs, and any
  ustref crash, hang or rule break.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ustref.fuzz.consumerd import run_session
from ustref.fuzz.launch import command_words
from ustref.fuzz.session import REPRODUCER_FORMAT, Action, Heard, Outcome
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import METADATA_REQUEST_MSG

#: The two classes of a divergence (issue 22) and ``same``.
CLASSES = {
    "same": "no divergence",
    "c-dies": "C crashes, ustref answers",
    "divergence": "real divergence",
}

#: How long a consumer must stay quiet after the last action before its
#: transcript is final (a Python consumer answers slower than C).
SETTLE = 0.5

#: Endings of a consumer that is still up at the end of the sequence.
_UP = ("ok", "closed")


@dataclasses.dataclass(frozen=True)
class Transcript:
    """One consumer's side of a replayed sequence."""

    outcome: Outcome
    heard: tuple[Heard, ...]

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.to_json(), "heard": [h.to_json() for h in self.heard]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Transcript:
        out = doc["outcome"]
        return cls(
            Outcome(out["kind"], out.get("detail", ""), out.get("status")),
            tuple(Heard.from_json(h) for h in doc["heard"]),
        )


def record(
    binary: str | Sequence[str], abi: Abi, actions: list[Action], work: Path, timeout: float
) -> Transcript:
    """Replay ``actions`` on a fresh consumer and keep everything it sent."""
    outcome, heard = run_session(binary, abi, actions, work, timeout, settle=SETTLE)
    return Transcript(outcome, tuple(heard))


def _stream(t: Transcript, socket: str) -> bytes:
    return b"".join(h.data for h in t.heard if h.socket == socket)


def ending(outcome: Outcome) -> str:
    """The ending compared: the kind, and the signal of a crash."""
    if outcome.kind == "crash":
        return f"crash:{outcome.status}"
    return outcome.kind


def normalise(t: Transcript) -> dict[str, object]:
    """The aspects of a transcript that the two consumers must share (module docstring)."""
    size = METADATA_REQUEST_MSG.size
    meta = _stream(t, "metadata")
    requests = sorted({meta[i : i + size].hex() for i in range(0, len(meta), size)})
    return {
        "command": _stream(t, "command"),
        "command-fds": sum(h.fds for h in t.heard if h.socket == "command"),
        "error": _stream(t, "error"),
        "metadata": requests,
        "ending": ending(t.outcome),
    }


@dataclasses.dataclass(frozen=True)
class Verdict:
    """What :func:`compare` found: the class, the aspects that differ, and why."""

    kind: str
    """A key of :data:`CLASSES`."""
    aspects: tuple[str, ...]
    detail: str = ""

    @property
    def label(self) -> str:
        return CLASSES[self.kind]

    def signature(self) -> str:
        return f"diff:{self.kind}:" + ",".join(self.aspects)

    def to_json(self) -> dict[str, Any]:
        return {"class": self.kind, "label": self.label, "aspects": list(self.aspects),
                "detail": self.detail}  # fmt: skip


def _first_difference(a: bytes, b: bytes) -> int:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def _after(t: Transcript, socket: str, offset: int) -> int:
    """The action after which byte ``offset`` of ``socket``'s stream came."""
    seen = 0
    for h in t.heard:
        if h.socket != socket:
            continue
        seen += len(h.data)
        if seen > offset:
            return h.after
    return t.heard[-1].after if t.heard else -1


def compare(c: Transcript, u: Transcript, actions: Sequence[Action] = ()) -> Verdict:
    """Classify ``u`` (ustref-consumerd) against ``c`` (the C consumer); ``actions``
    (what was sent) tells whether we hung up the command socket ourselves."""
    nc, nu = normalise(c), normalise(u)
    hung_up = any(a.op == "close" and a.socket == "command" for a in actions)
    if hung_up and {nc["ending"], nu["ending"]} <= {"closed", "exit"}:
        # After the session daemon's hang-up both shut down; how long that takes
        # (within the 2 s that tell "exit" from "closed") is timing.
        nc["ending"] = nu["ending"] = "shut down after our hang-up"
    aspects = tuple(k for k in nc if nc[k] != nu[k])
    if u.outcome.finding:
        return Verdict("divergence", aspects or ("ending",),
                       f"ustref-consumerd: {u.outcome.kind}: {u.outcome.detail[:300]}")  # fmt: skip
    c_died = c.outcome.kind in ("crash", "hang") or (
        c.outcome.kind == "exit" and u.outcome.kind in _UP and nc["ending"] != nu["ending"]
    )
    if c_died and u.outcome.kind in _UP:
        return Verdict("c-dies", aspects, f"C: {c.outcome.signature()}; ustref stays up")
    if not aspects:
        return Verdict("same", ())
    notes = []
    if "command" in aspects:
        a, b = nc["command"], nu["command"]
        assert isinstance(a, bytes) and isinstance(b, bytes)
        at = _first_difference(a, b)
        notes.append(
            f"command bytes differ at offset {at} (C {len(a)} B, after action "
            f"{_after(c, 'command', at)}; ustref {len(b)} B, after action "
            f"{_after(u, 'command', at)})"
        )
    if "ending" in aspects:
        notes.append(f"ending: C {nc['ending']}, ustref {nu['ending']}")
    return Verdict("divergence", aspects, "; ".join(notes))


def describe(t: Transcript, actions: list[Action]) -> list[str]:
    """One line per action and per thing heard: what was sent, what came back."""
    lines: list[str] = []
    by_action: dict[int, list[Heard]] = {}
    for h in t.heard:
        by_action.setdefault(h.after, []).append(h)
    for i, action in enumerate(actions):
        if action.op == "close":
            lines.append(f"#{i} → hang up {action.socket}")
        else:
            fds = f" +fds {','.join(action.fds)}" if action.fds else ""
            lines.append(f"#{i} → {action.socket} {len(action.data)} B{fds} {action.note}")
        for h in by_action.get(i, []):
            if not h.data:
                lines.append(f"     ← {h.socket}: closed")
                continue
            shown = h.data.hex() if len(h.data) <= 48 else h.data[:48].hex() + "…"
            fds = f" +{h.fds} fd" if h.fds else ""
            lines.append(f"     ← {h.socket} {len(h.data)} B{fds}: {shown}")
    lines.append(f"   ending: {ending(t.outcome)} ({t.outcome.detail[:200]})")
    return lines


def reproducer(
    abi: Abi, actions: list[Action], c: Transcript, u: Transcript, verdict: Verdict
) -> dict[str, Any]:
    """The JSON document of a differential reproducer."""
    return {
        "format": REPRODUCER_FORMAT,
        "target": "both",
        "abi": abi.value,
        "signature": verdict.signature(),
        "verdict": verdict.to_json(),
        "outcome": c.outcome.to_json(),
        "transcripts": {"c": c.to_json(), "ustref": u.to_json()},
        "actions": [a.to_json() for a in actions],
    }


def save(out: Path, doc: dict[str, Any]) -> Path:
    """Write a reproducer under ``out/findings`` named by its content."""
    blob = json.dumps(doc, indent=1)
    digest = hashlib.sha1(blob.encode()).hexdigest()[:12]
    path = out / "findings" / f"{doc['verdict']['class']}-{digest}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(blob + "\n")
    return path


def run_both(
    c_binary: str | Sequence[str],
    u_binary: str | Sequence[str],
    abi: Abi,
    actions: list[Action],
    work: Path,
    *,
    timeout: float,
) -> tuple[Transcript, Transcript, Verdict]:
    """Replay ``actions`` on both consumers and compare."""
    c = record(c_binary, abi, actions, work / "c", timeout)
    u = record(u_binary, abi, actions, work / "ustref", timeout)
    return c, u, compare(c, u, actions)


def _key(c: Transcript, verdict: Verdict) -> str:
    """What makes two divergences the same finding (the C crash's signature for ``c-dies``)."""
    if verdict.kind == "c-dies":
        return f"{verdict.signature()}|{c.outcome.signature()}"
    return verdict.signature()


def differential_main(
    c_binary: str | Sequence[str],
    u_binary: str | Sequence[str],
    seconds: float,
    *,
    seed: int,
    out: Path,
    timeout: float,
    abi: Abi,
    minimise_budget: int = 8,
) -> int:
    """``ustref fuzz consumerd --target both``; exit status 1 if a real divergence was found."""
    from ustref.fuzz.consumerd import Campaign, Fuzzer

    campaign = Campaign()
    out.mkdir(parents=True, exist_ok=True)
    print(f"drawing command corpus from the grammar ({abi.value})…", file=sys.stderr)
    fuzzer = Fuzzer(c_binary, abi, out, timeout=timeout, seed=seed, campaign=campaign)
    work = out / "tmp" / "both"
    verdicts = dict.fromkeys(CLASSES, 0)
    seen: set[str] = set()
    found: list[dict[str, Any]] = []

    def check(candidate: list[Action]) -> str:
        c, _u, verdict = run_both(c_binary, u_binary, abi, candidate, work, timeout=timeout)
        return _key(c, verdict)

    campaign.started = time.monotonic()
    deadline = campaign.started + seconds
    while time.monotonic() < deadline:
        actions, outcome, _checked = fuzzer.round(deadline)
        if outcome.kind == "launch-failed":
            print(f"\ncannot start the C consumer: {outcome.detail}", file=sys.stderr)
            break
        if not actions:
            continue
        c, u, verdict = run_both(c_binary, u_binary, abi, actions, work, timeout=timeout)
        if "launch-failed" in (c.outcome.kind, u.outcome.kind):
            print(f"\ncannot start a consumer: {c.outcome.detail}{u.outcome.detail}",
                  file=sys.stderr)  # fmt: skip
            break
        verdicts[verdict.kind] += 1
        key = _key(c, verdict)
        if verdict.kind == "same" or key in seen:
            continue
        seen.add(key)
        print(f"\n{verdict.label.upper()}: {verdict.detail[:300]}", file=sys.stderr)
        small = fuzzer.minimise(actions, key, minimise_budget, check=check)
        c, u, verdict = run_both(c_binary, u_binary, abi, small, work, timeout=timeout)
        path = save(out, reproducer(abi, small, c, u, verdict))
        found.append({**verdict.to_json(), "c": c.outcome.signature(),
                      "ustref": u.outcome.signature(), "reproducer": str(path),
                      "actions": len(small)})  # fmt: skip
        print(f"  reproducer ({len(small)} actions): {path}", file=sys.stderr)
    elapsed = time.monotonic() - campaign.started
    sequences = sum(verdicts.values())
    doc = {
        **campaign.summary(" ".join(command_words(c_binary)), seed),
        "target": "both",
        "ustref_consumerd": " ".join(command_words(u_binary)),
        "sequences": sequences,
        "sequences_per_second": round(sequences / max(elapsed, 1e-9), 3),
        "verdicts": verdicts,
        "divergences": found,
    }
    print(json.dumps(doc, indent=1))
    (out / "summary.json").write_text(json.dumps(doc, indent=1) + "\n")
    return 1 if any(f["class"] == "divergence" for f in found) else 0
