"""``ustref fuzz consumerd``: a grammar-aware session daemon that fuzzes a real consumer daemon.

Each round starts a private consumer (:mod:`ustref.fuzz.launch`) and sends it
a sequence of commands: valid ``lttcomm_consumer_msg`` encodings drawn by
Hypothesis from the grammar (bucketed by ``cmd_type``), most *made plausible*
field by field (keys from a small pool so that later commands find earlier
channels, small buffer sizes, empty paths — by C field name, through the
layout walker), some damaged by :func:`ustref.fuzz.mutations.mutate`; the
reply phase follows the conversation table (fds and metadata bytes when the
table says so), sometimes broken (missing, extra or wrong fds; short
payloads); sometimes a command out of order, or a hang-up mid-exchange.
:class:`~ustref.fuzz.session.Session` checks everything against the table.

A finding (crash, hang, rule break) is minimised (the last command alone,
then dropping earlier actions) and saved as a JSON reproducer, replayed by
``ustref fuzz replay``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import shutil
import struct as pystruct
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ustref.fuzz.launch import Consumerd, LaunchError, command_words
from ustref.fuzz.mutations import RandomChooser, mutate, slots
from ustref.fuzz.session import REPRODUCER_FORMAT, Action, Heard, Outcome, Session
from ustref.ids import U64_MAX
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG, LttngConsumerCommand
from ustref.protocol.conversation import Socket
from ustref.protocol.conversation.steps import FdTransfer, Payload
from ustref.protocol.registry import StructSpec

#: The fd the real session daemon sends after each two-phase command.
FD_KIND: dict[LttngConsumerCommand, str] = {
    LttngConsumerCommand.LTTNG_CONSUMER_ADD_RELAYD_SOCKET: "socket",
    LttngConsumerCommand.LTTNG_CONSUMER_SET_CHANNEL_MONITOR_PIPE: "pipe",
    LttngConsumerCommand.LTTNG_CONSUMER_CREATE_TRACE_CHUNK: "dir",
}

#: Commands whose only effect is to stop the consumer (assertion / -ENOSYS):
#: drawn rarely, or each one would cost a restart.
RARE = {LttngConsumerCommand.LTTNG_CONSUMER_STOP, LttngConsumerCommand.LTTNG_CONSUMER_UPDATE_STREAM}

KEYS = (1, 2, 3)


def _plausible_values(rng: random.Random) -> dict[str, Callable[[], int]]:
    """Plausible values by C leaf field name (what a real session daemon sends)."""
    key: Callable[[], int] = lambda: rng.choice(KEYS)  # noqa: E731
    return {
        "key": key,
        "channel_key": key,
        "session_id": key,
        "stream_key": key,
        "chan_id": key,
        "relayd_id": lambda: U64_MAX,
        "net_seq_idx": lambda: U64_MAX,
        "net_index": lambda: rng.choice((0, U64_MAX)),
        "subbuf_size": lambda: rng.choice((4096, 8192)),
        "num_subbuf": lambda: rng.choice((2, 4)),
        "tracefile_size": lambda: 0,
        "tracefile_count": lambda: 0,
        "switch_timer_interval": lambda: 0,
        "read_timer_interval": lambda: 0,
        "live_timer_interval": lambda: 0,
        "monitor_timer_interval": lambda: 0,
        "blocking_timeout": lambda: 0,
        "is_live": lambda: 0,
        "output": lambda: 1,
        "len": lambda: rng.choice((0, 16, 200)),
        "is_set": lambda: rng.choice((0, 0, 1)),
        "value": key,
        "max_stream_size": lambda: 0,
        "nb_packets_per_stream": lambda: rng.choice((0, 1)),
    }


_EMPTY_STRINGS = {"pathname", "shm_path", "root_shm_path", "path", "override_name"}


def make_plausible(spec: StructSpec[Any], data: bytes, rng: random.Random) -> bytes:
    """Patch key, size and path fields of ``data`` to values a real session daemon sends."""
    table = _plausible_values(rng)
    out = bytearray(data)
    for slot in slots(spec, data):
        leaf = slot.name.rsplit(".", 1)[-1]
        if slot.name == "cmd_type":
            continue
        if slot.kind == "string" and leaf in _EMPTY_STRINGS:
            out[slot.offset : slot.offset + slot.size] = bytes(slot.size)
        elif slot.fmt and leaf in table:
            value = table[leaf]()
            try:
                pystruct.pack_into(slot.fmt, out, slot.offset, value)
            except pystruct.error:
                pystruct.pack_into(slot.fmt, out, slot.offset, 0)
    return bytes(out)


def command_corpus(
    abi: Abi, seed: int, count: int = 400
) -> dict[LttngConsumerCommand, list[bytes]]:
    """Valid ``lttcomm_consumer_msg`` encodings drawn from the grammar, by command."""
    from ustref.fuzz.decode import Target, seed_inputs

    spec = CONSUMER_MSG[abi]
    by_cmd: dict[LttngConsumerCommand, list[bytes]] = {c: [] for c in LttngConsumerCommand}
    for data in seed_inputs(Target("consumer_msg", spec.parse, spec, abi), count, seed):
        by_cmd[LttngConsumerCommand(int.from_bytes(data[:4], "little"))].append(data)
    for cmd, found in by_cmd.items():
        if not found:  # a zeroed union, as the C senders write for member-less commands
            found.append(int(cmd).to_bytes(4, "little") + bytes(spec.size - 4))
    return by_cmd


@dataclasses.dataclass
class Campaign:
    """Counters and findings of one ``ustref fuzz consumerd`` run."""

    commands: int = 0
    actions: int = 0
    consumers: int = 0
    by_command: dict[str, int] = dataclasses.field(default_factory=dict)
    outcomes: dict[str, int] = dataclasses.field(default_factory=dict)
    unchecked: int = 0
    findings: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    signatures: set[str] = dataclasses.field(default_factory=set)
    started: float = dataclasses.field(default_factory=time.monotonic)

    def summary(self, consumerd: str, seed: int) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        return {
            "consumerd": consumerd,
            "seed": seed,
            "seconds": round(elapsed, 1),
            "consumers_started": self.consumers,
            "commands": self.commands,
            "actions": self.actions,
            "commands_per_second": round(self.commands / max(elapsed, 1e-9), 2),
            "command_kinds_covered": f"{len(self.by_command)}/{len(LttngConsumerCommand)}",
            "by_command": dict(sorted(self.by_command.items())),
            "outcomes": dict(sorted(self.outcomes.items())),
            "unchecked_sessions": self.unchecked,
            "findings": self.findings,
        }


class Fuzzer:
    """Generates one consumer session at a time."""

    def __init__(
        self,
        binary: str | Sequence[str],
        abi: Abi,
        out: Path,
        *,
        timeout: float,
        seed: int,
        campaign: Campaign,
    ) -> None:
        self.binary = binary
        self.abi = abi
        self.spec = CONSUMER_MSG[abi]
        self.out = out
        self.timeout = timeout
        self.rng = random.Random(seed)
        self.chooser = RandomChooser(self.rng)
        self.corpus = command_corpus(abi, seed)
        self.campaign = campaign
        self.work = out / "tmp"

    # ------------------------------------------------------------ generation

    def _pick_command(self) -> LttngConsumerCommand:
        if self.rng.random() < 0.01:
            return self.rng.choice(sorted(RARE))
        kinds = [c for c in LttngConsumerCommand if c not in RARE]
        # Favour the least exercised command kinds.
        counts = [self.campaign.by_command.get(c.name, 0) for c in kinds]
        low = min(counts)
        if self.rng.random() < 0.5:
            return self.rng.choice([c for c, n in zip(kinds, counts, strict=True) if n == low])
        return self.rng.choice(kinds)

    def _command_actions(self, session: Session) -> list[Action]:
        """The next command (plausible, valid or damaged) as one or more actions."""
        cmd = self._pick_command()
        data = self.rng.choice(self.corpus[cmd])
        notes = [cmd.name]
        if self.rng.random() < 0.8:
            data = make_plausible(self.spec, data, self.rng)
            notes.append("plausible")
        roll = self.rng.random()
        if roll < 0.3:
            for _ in range(self.rng.randint(1, 2)):
                data, what = mutate(self.spec, data, self.chooser)
                notes.append(what)
        self.campaign.by_command[cmd.name] = self.campaign.by_command.get(cmd.name, 0) + 1
        self.campaign.commands += 1
        if roll > 0.97 and len(data) > 1:
            cut = self.rng.randrange(1, len(data))
            return [
                Action("send", data=data[:cut], note=" ".join([*notes, f"then hang-up@{cut}"])),
                Action("close", note="hang-up mid-command"),
            ]
        if roll > 0.95:
            # Out of order: a reply-phase item with no command asking for it.
            return [Action("send", data=b"\0", fds=(self.rng.choice(("pipe", "dir")),),
                           note="fd out of order"),
                    Action("send", data=data, note=" ".join(notes))]  # fmt: skip
        return [Action("send", data=data, note=" ".join(notes))]

    def _reply_phase(self, session: Session, cmd_bytes: bytes) -> Action | None:
        """What we owe after the consumer's answer (fd, metadata bytes), maybe broken."""
        step = session.expected()
        cmd = int.from_bytes(cmd_bytes[:4].ljust(4, b"\0"), "little")
        if step is None and session.checked:
            return None
        if step is None:
            # Unchecked: send what the command would be owed, half of the time.
            if cmd not in LttngConsumerCommand._value2member_map_:
                return None
            if LttngConsumerCommand(cmd) in FD_KIND and self.rng.random() < 0.5:
                return Action(
                    "send",
                    data=b"\0",
                    fds=(FD_KIND[LttngConsumerCommand(cmd)],),
                    note="fd (unchecked)",
                )
            return None
        if isinstance(step, FdTransfer):
            kind = (
                FD_KIND.get(LttngConsumerCommand(cmd), "devnull")
                if cmd in LttngConsumerCommand._value2member_map_
                else "devnull"
            )
            roll = self.rng.random()
            if roll < 0.1:
                return Action("send", data=b"\0", note="fd missing")
            if roll < 0.15:
                return Action("send", data=b"\0", fds=(kind, kind), note="extra fd")
            if roll < 0.2:
                return Action("send", data=b"\0", fds=("devnull",), note="wrong fd kind")
            return Action("send", data=b"\0", fds=(kind,), note="fd")
        if isinstance(step, Payload):
            exchange = session.conv._exchanges.get(Socket.COMMAND)
            try:
                length = step.length(exchange.values) if exchange is not None else 0
            except (AttributeError, KeyError, TypeError):
                length = 0
            length = min(length, 1 << 16)
            if self.rng.random() < 0.1:
                length = self.rng.randrange(0, length + 1)
            body = b"/* CTF 1.8 */" * (length // 13 + 1)
            return Action("send", data=body[:length], note="metadata")
        return None

    # ------------------------------------------------------------ one round

    def round(self, deadline: float) -> tuple[list[Action], Outcome, bool]:
        """One consumer: commands until it stops or ``deadline``; (actions, outcome, checked)."""
        workdir = self.work / "c"
        shutil.rmtree(workdir, ignore_errors=True)
        daemon = Consumerd(self.binary, workdir)
        self.campaign.consumers += 1
        try:
            daemon.start()
        except (LaunchError, OSError) as exc:
            daemon.stop()
            return [], Outcome("launch-failed", str(exc)), True
        session = Session(daemon, self.abi, self.timeout, workdir / "dirfd")
        outcome = Outcome("ok")
        checked_all = True
        try:
            for _ in range(self.rng.randint(5, 60)):
                if time.monotonic() >= deadline:
                    break
                actions = self._command_actions(session)
                for action in actions:
                    outcome = self._act(session, action)
                    if outcome.kind != "ok":
                        break
                for _ in range(3):
                    if outcome.kind != "ok":
                        break
                    owed = self._reply_phase(session, actions[-1].data)
                    if owed is None:
                        break
                    outcome = self._act(session, owed)
                checked_all = checked_all and session.checked
                if outcome.kind != "ok":
                    break
        finally:
            session.release()
            status = daemon.stop()
        if outcome.kind == "ok" and status is not None and status < 0 and status != -9:
            outcome = Outcome(
                "crash", f"signal {-status} after hang-up; log: {daemon.log_tail(600)}", status
            )
        if not session.checked:
            self.campaign.unchecked += 1
        return session.actions, outcome, checked_all

    def _act(self, session: Session, action: Action) -> Outcome:
        self.campaign.actions += 1
        return session.act(action)

    # ------------------------------------------------------------ findings

    def replay(self, actions: list[Action]) -> Outcome:
        return run_actions(self.binary, self.abi, actions, self.work / "replay", self.timeout)

    def minimise(
        self,
        actions: list[Action],
        want: str,
        budget: int = 8,
        check: Callable[[list[Action]], str] | None = None,
    ) -> list[Action]:
        """Shorter action lists whose ``check`` (default: the replay's outcome signature)
        still gives ``want`` (a bounded number of replays)."""
        if check is None:
            check = lambda candidate: self.replay(candidate).signature()  # noqa: E731
        starts = [i for i, a in enumerate(actions) if a.op == "send" and len(a.data) >= 4096]
        best = actions
        for start in reversed(starts[-2:]):
            if budget <= 0:
                break
            budget -= 1
            candidate = actions[start:]
            if check(candidate) == want:
                best = candidate
                break
        i = 0
        while budget > 0 and i < len(best) - 1:
            candidate = best[:i] + best[i + 1 :]
            budget -= 1
            if check(candidate) == want:
                best = candidate
            else:
                i += 1
        return best

    def save(self, actions: list[Action], outcome: Outcome) -> Path:
        doc = {
            "format": REPRODUCER_FORMAT,
            "abi": self.abi.value,
            "outcome": outcome.to_json(),
            "signature": outcome.signature(),
            "actions": [a.to_json() for a in actions],
        }
        blob = json.dumps(doc, indent=1)
        digest = hashlib.sha1(blob.encode()).hexdigest()[:12]
        path = self.out / "findings" / f"{outcome.kind}-{digest}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(blob + "\n")
        return path


def run_actions(
    binary: str | Sequence[str], abi: Abi, actions: list[Action], work: Path, timeout: float
) -> Outcome:
    """Replay ``actions`` on a fresh consumer; the outcome (deterministic for one input)."""
    return run_session(binary, abi, actions, work, timeout)[0]


def run_session(
    binary: str | Sequence[str],
    abi: Abi,
    actions: list[Action],
    work: Path,
    timeout: float,
    *,
    settle: float = 0.0,
) -> tuple[Outcome, list[Heard]]:
    """Replay ``actions`` on a fresh consumer: the outcome and everything it sent.

    With ``settle`` > 0, a consumer still talking after the last action is read
    until it stays quiet that long (slow or unforeseen replies are heard, and a
    consumer that is about to exit is seen exiting)."""
    shutil.rmtree(work, ignore_errors=True)
    daemon = Consumerd(binary, work)
    try:
        daemon.start()
    except (LaunchError, OSError) as exc:
        daemon.stop()
        return Outcome("launch-failed", str(exc)), []
    session = Session(daemon, abi, timeout, work / "dirfd")
    outcome = Outcome("ok")
    try:
        for action in actions:
            outcome = session.act(action)
            if outcome.kind != "ok":
                break
        if outcome.kind == "ok" and settle > 0:
            outcome = session.settle(settle)
    finally:
        session.release()
        status = daemon.stop()
    if outcome.kind == "ok" and status is not None and status < 0 and status != -9:
        outcome = Outcome("crash", f"signal {-status} after hang-up", status)
    return outcome, session.heard


def consumerd_main(
    binary: str | Sequence[str], seconds: float, *, seed: int, out: Path, timeout: float, abi: Abi
) -> int:
    """``ustref fuzz consumerd``; exit status 1 if anything was found."""
    campaign = Campaign()
    out.mkdir(parents=True, exist_ok=True)
    print(f"drawing command corpus from the grammar ({abi.value})…", file=sys.stderr)
    fuzzer = Fuzzer(binary, abi, out, timeout=timeout, seed=seed, campaign=campaign)
    campaign.started = time.monotonic()
    deadline = campaign.started + seconds
    last = 0.0
    while time.monotonic() < deadline:
        actions, outcome, _checked = fuzzer.round(deadline)
        campaign.outcomes[outcome.kind] = campaign.outcomes.get(outcome.kind, 0) + 1
        if outcome.kind == "launch-failed":
            print(f"\ncannot start the consumer: {outcome.detail}", file=sys.stderr)
            break
        if outcome.finding and outcome.signature() not in campaign.signatures:
            campaign.signatures.add(outcome.signature())
            print(f"\nFINDING {outcome.kind}: {outcome.detail[:300]}", file=sys.stderr)
            small = fuzzer.minimise(actions, outcome.signature())
            path = fuzzer.save(small, outcome)
            campaign.findings.append(
                {**outcome.to_json(), "signature": outcome.signature(), "reproducer": str(path),
                 "actions": len(small), "last_note": small[-1].note if small else ""}
            )  # fmt: skip
            print(f"  reproducer ({len(small)} actions): {path}", file=sys.stderr)
        now = time.monotonic()
        if now - last >= 1.0:
            last = now
            elapsed = now - campaign.started
            sys.stderr.write(
                f"\r[consumerd] {elapsed:5.0f}s {campaign.consumers} consumers, "
                f"{campaign.commands} commands ({campaign.commands / elapsed:.1f}/s), "
                f"kinds {len(campaign.by_command)}/{len(LttngConsumerCommand)}, "
                f"findings {len(campaign.findings)}   "
            )
            sys.stderr.flush()
    doc = campaign.summary(" ".join(command_words(binary)), seed)
    sys.stderr.write("\n")
    print(json.dumps(doc, indent=1))
    (out / "summary.json").write_text(json.dumps(doc, indent=1) + "\n")
    return 1 if campaign.findings else 0
