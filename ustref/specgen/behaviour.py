"""The "what the consumer does" part of each command section, from the behaviour table.

Renders one :class:`~ustref.consumerd.behaviour.Behaviour` of
:data:`~ustref.consumerd.behaviour.BEHAVIOUR` below the command's sequence
diagram (which already draws its cross-socket traffic): purpose, actions in
order with their C functions and lines, state, preconditions (C aborts in
bold), reply codes with numbers, and what differs at the other ABI.
"""

from __future__ import annotations

import re

from ustref.consumerd.behaviour import BEHAVIOUR, COMMON_PRECONDITIONS, RECV_CMD, Code
from ustref.protocol.abi import Abi
from ustref.protocol.consumer import CONSUMER_MSG, LttngConsumerCommand
from ustref.specgen.links import anchor

HANDOVER_PAGE = "ust-ctl-handover.md"
ABORTS_PAGE = "../aborts.md"


def field_anchor(struct: str, path: str) -> str:
    """The id of a field-table row (see ``render._anchor_rows``)."""
    return anchor(f"{struct}.{path}", "field")


def behaviour_section(abi: Abi, command: LttngConsumerCommand, member: str | None) -> str:
    """Markdown: the behaviour of ``command`` at ``abi``."""
    b = BEHAVIOUR[command]
    msg = CONSUMER_MSG[abi].c_name
    out = [f"**Purpose.** {b.purpose}\n\n"]
    if member:
        link = field_anchor(msg, f"u.{member}")
        out.append(f"**Arguments.** [`u.{member}`](#{link}) of `{msg}` (field rows below).\n\n")
    if command is LttngConsumerCommand.LTTNG_CONSUMER_GET_CHANNEL:
        out.append(
            f"**Hand-over.** The channel and stream steps are liblttng-ust-ctl's: see "
            f"[ust-ctl hand-over]({HANDOVER_PAGE}).\n\n"
        )
    out.append("**What the consumer does**, in order:\n\n")
    out += [f"{i}. {action}\n" for i, action in enumerate(b.actions, 1)]
    sources = ", ".join(s.describe() for s in b.sources)
    line = b.case_line.get(abi)
    where = f" (`case` at line {line} of {abi.value})" if line else ""
    out.append(f"\nC: {sources}{where}.\n\n")
    if b.state:
        out.append("**State.** " + "; ".join(b.state) + ".\n\n")
    if b.preconditions:
        out.append(
            f"**Preconditions** (besides those of [every command](#{anchor('every-command')})):\n\n"
        )
        out.append("| must hold | otherwise |\n| --- | --- |\n")
        for p in b.preconditions:
            otherwise = f"**C aborts**: {p.otherwise}" if p.aborts else p.otherwise
            out.append(f"| {p.what} | {_reproducers(otherwise)} |\n")
        out.append("\n")
    if b.codes:
        out.append(
            "**Reply codes**, each with the tests that make ustref-consumerd answer it "
            "(*C only*: ustref never does; *ustref only*: where C stops instead).\n\n"
            "| code | meaning | tests |\n| --- | --- | --- |\n"
        )
        out += [f"| {c.describe()} | {_meaning(c)} | {_tests(c)} |\n" for c in b.codes]
        out.append("\n")
    else:
        out.append("**Reply codes.** None: nothing is sent on the command socket.\n\n")
    note = b.abi_notes.get(abi)
    if note:
        out.append(f"**At {abi.value}.** {note}\n\n")
    return "".join(out)


def _meaning(code: Code) -> str:
    prefix = {"C": "*C only*: ", "ustref": "*ustref only*: "}.get(code.only, "")
    return prefix + code.meaning


def _tests(code: Code) -> str:
    """The code's tests as pytest node ids."""
    return "<br>".join(f"`{node_id}`" for node_id in code.tests) or "—"


def _reproducers(text: str) -> str:
    """Reproducer ids link to their row on the aborts page."""
    return re.sub(r"(crash-[0-9a-f]{12})", rf"[\1]({ABORTS_PAGE}#\1)", text)


def common_preconditions() -> str:
    """The failures every command shares."""
    out = [
        f'\n<a id="{anchor("every-command")}"></a>\n\n',
        f"**Every command** ({RECV_CMD.describe()}):\n\n",
        "| must hold | otherwise |\n| --- | --- |\n",
    ]
    for p in COMMON_PRECONDITIONS:
        otherwise = f"**C aborts**: {p.otherwise}" if p.aborts else p.otherwise
        out.append(f"| {p.what} | {otherwise} |\n")
    return "".join(out)
