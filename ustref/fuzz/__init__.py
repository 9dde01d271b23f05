"""Grammar-driven fuzzing: strategies, the decoder fuzzer, the lttng-consumerd fuzzer.

* :mod:`ustref.fuzz.grammar_strategies` — valid typed messages and their bytes,
  drawn from each grammar's Construct tree;
* :mod:`ustref.fuzz.mutations` — those messages damaged by
  field-level mutations (out-of-range enums, lying lengths, strings without
  NUL, truncation, trailing bytes) as Hypothesis strategies;
* :mod:`ustref.fuzz.conversation` — whole conversations from the conversation
  table, valid and damaged;
* :mod:`ustref.fuzz.decode` — the decoder invariant (decode or
  :class:`~ustref.errors.RemoteProtocolError`, in bounded time) and its fuzz loop;
* :mod:`ustref.fuzz.consumerd` — acting as a session daemon toward a real
  ``lttng-consumerd``; :mod:`ustref.fuzz.replay` replays its findings.

Needs the optional dependency ``hypothesis``; ``atheris`` is used when installed.
"""

from __future__ import annotations

from ustref.fuzz.mutations import (
    Mutant,
    Mutation,
    any_bytes_for,
    message_bytes_for,
    mutants_for,
    mutate,
    mutated_bytes_for,
    slots,
    valid_bytes_for,
    values_for,
)

__all__ = [
    "Mutant",
    "Mutation",
    "any_bytes_for",
    "message_bytes_for",
    "mutants_for",
    "mutate",
    "mutated_bytes_for",
    "slots",
    "valid_bytes_for",
    "values_for",
]
