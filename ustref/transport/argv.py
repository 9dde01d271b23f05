"""The consumer daemon's argv contract: what ``lttng-sessiond`` passes to ``lttng-consumerd``.

``spawn_consumerd`` (src/bin/lttng-sessiond/client.c @ v2.13.9) runs the
64-bit user-space consumer as::

    execl(consumerd64_bin_path, "lttng-consumerd", verbosity, "-u",
          "--consumerd-cmd-sock", cmd_unix_sock_path,
          "--consumerd-err-sock", err_unix_sock_path,
          "--group", tracing_group_name, NULL)

``verbosity`` is ``""`` unless the session daemon runs with
``--verbose-consumer`` (``"--verbose"``) or ``--quiet`` (``"--quiet"``).
The consumer connects to the error socket, listens on the command socket,
and the session daemon connects to it twice (commands, then metadata).

:class:`ConsumerdArgv` builds and parses that argv; :func:`redirect_argv`
replaces the two socket paths in an argv as the session daemon gave it (all
the ``getopt_long`` spellings ``lttng-consumerd`` accepts).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ustref.errors import LaunchError

__all__ = [
    "CMD_SOCK_OPTION",
    "CONSUMERD_ARGV0",
    "ERR_SOCK_OPTION",
    "ConsumerdArgv",
    "SocketRedirect",
    "redirect_argv",
]

CONSUMERD_ARGV0 = "lttng-consumerd"
"""The ``argv[0]`` the session daemon gives the consumer."""
CMD_SOCK_OPTION = "--consumerd-cmd-sock"
ERR_SOCK_OPTION = "--consumerd-err-sock"
_SHORT = {CMD_SOCK_OPTION: "-c", ERR_SOCK_OPTION: "-e"}


@dataclasses.dataclass(frozen=True)
class ConsumerdArgv:
    """The argv of a user-space consumer daemon, as ``spawn_consumerd`` builds it."""

    cmd_sock: str
    """``--consumerd-cmd-sock``: where the consumer listens for the session daemon."""
    err_sock: str
    """``--consumerd-err-sock``: the session daemon's error socket the consumer connects to."""
    group: str = "tracing"
    """``--group``: the tracing group (``tracing_group_name``)."""
    verbosity: str = ""
    """``""``, ``"--verbose"`` or ``"--quiet"``: the word before ``-u``."""

    def words(self) -> list[str]:
        """``argv[1:]``, the empty verbosity word included."""
        return [
            self.verbosity, "-u",
            CMD_SOCK_OPTION, self.cmd_sock,
            ERR_SOCK_OPTION, self.err_sock,
            "--group", self.group,
        ]  # fmt: skip

    def argv(self) -> list[str]:
        """The whole argv, ``argv[0]`` being :data:`CONSUMERD_ARGV0`."""
        return [CONSUMERD_ARGV0, *self.words()]

    @classmethod
    def parse(cls, words: Sequence[str]) -> ConsumerdArgv:
        """Read ``argv[1:]`` (any ``getopt_long`` spelling); raises
        :class:`~ustref.errors.LaunchError` without both socket paths."""
        found = _scan(words)
        group = "tracing"
        verbosity = ""
        for index, word in enumerate(words):
            if word == "--group" and index + 1 < len(words):
                group = words[index + 1]
            elif word.startswith("--group="):
                group = word.split("=", 1)[1]
            elif word in ("--verbose", "--quiet", "-v", "-q"):
                verbosity = word
        return cls(found[CMD_SOCK_OPTION][1], found[ERR_SOCK_OPTION][1], group, verbosity)


@dataclasses.dataclass(frozen=True)
class SocketRedirect:
    """A consumer argv with its socket paths replaced, and the paths it had."""

    argv: tuple[str, ...]
    sessiond_cmd: str
    sessiond_err: str


def _scan(words: Sequence[str]) -> dict[str, tuple[int, str, str]]:
    """Where each socket option is: ``{option: (index, path, spelling)}``.

    ``spelling`` is ``"sep"`` (option then path), ``"long="`` or ``"short"``
    (``-cPATH``); the scan stops at ``--``.
    """
    found: dict[str, tuple[int, str, str]] = {}
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            break
        for long_name, short in _SHORT.items():
            if word in (long_name, short):
                if index + 1 >= len(words):
                    raise LaunchError(f"{word} without a path in the consumer argv")
                found[long_name] = (index, words[index + 1], "sep")
                index += 1
                break
            if word.startswith(long_name + "="):
                found[long_name] = (index, word[len(long_name) + 1 :], "long=")
                break
            if word.startswith(short) and not word.startswith("--") and len(word) > 2:
                found[long_name] = (index, word[2:], "short")
                break
        index += 1
    missing = [name for name in _SHORT if name not in found]
    if missing:
        raise LaunchError(
            f"no {' or '.join(missing)} in the consumer argv {list(words)!r}: "
            "the session daemon's socket paths are needed"
        )
    return found


def redirect_argv(words: Sequence[str], *, cmd_path: str, err_path: str) -> SocketRedirect:
    """Replace the command and error socket paths of a consumer daemon ``argv[1:]``.

    Accepts ``--consumerd-cmd-sock PATH``, ``--consumerd-cmd-sock=PATH``,
    ``-c PATH``, ``-cPATH`` (same for ``-e``); every other word (the empty
    verbosity word included) is kept as it is.
    """
    out = list(words)
    found = _scan(words)
    for long_name, new in ((CMD_SOCK_OPTION, cmd_path), (ERR_SOCK_OPTION, err_path)):
        index, _old, spelling = found[long_name]
        if spelling == "sep":
            out[index + 1] = new
        elif spelling == "long=":
            out[index] = f"{long_name}={new}"
        else:
            out[index] = _SHORT[long_name] + new
    return SocketRedirect(
        argv=tuple(out),
        sessiond_cmd=found[CMD_SOCK_OPTION][1],
        sessiond_err=found[ERR_SOCK_OPTION][1],
    )
