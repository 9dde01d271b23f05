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

:class:`ConsumerdOptions` is lttng-consumerd's whole command line
(``parse_args()``, src/bin/lttng-consumerd/lttng-consumerd.c @ v2.13.9, plus
ustref's ``--ust-ctl``), read with ``getopt_long``'s rules: ``--name VALUE``,
``--name=VALUE``, unambiguous long prefixes, ``-cVALUE``, ``-c VALUE``, grouped
flags (``-vu``), ``--`` ends the options and empty words are skipped.
:class:`ConsumerdArgv` is the part the session daemon writes: it builds that
argv and parses it through :class:`ConsumerdOptions`; :func:`redirect_argv`
replaces the two socket paths in an argv as the session daemon gave it (every
spelling above).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence

from ustref.errors import LaunchError

__all__ = [
    "CMD_SOCK_OPTION",
    "CONSUMERD_ARGV0",
    "ERR_SOCK_OPTION",
    "UST_CTL_CHOICES",
    "UST_CTL_OPTION",
    "ConsumerdArgv",
    "ConsumerdOptions",
    "SocketRedirect",
    "UsageError",
    "redirect_argv",
]

CONSUMERD_ARGV0 = "lttng-consumerd"
"""The ``argv[0]`` the session daemon gives the consumer."""
CMD_SOCK_OPTION = "--consumerd-cmd-sock"
ERR_SOCK_OPTION = "--consumerd-err-sock"
UST_CTL_OPTION = "--ust-ctl"
"""ustref's own option: which ust-ctl backend creates and writes the ring buffers."""
UST_CTL_CHOICES = ("pure", "lib")
"""The values of :data:`UST_CTL_OPTION` (``ustref.consumerd.ring_backend.CHOICES``)."""
_SHORT = {CMD_SOCK_OPTION: "-c", ERR_SOCK_OPTION: "-e"}

#: ``long_options[]`` of lttng-consumerd.c ``parse_args()``, plus ustref's ``--ust-ctl``
#: and ``--background``: long name → (short letter or ``""``, takes a value).
_LONG: dict[str, tuple[str, bool]] = {
    CMD_SOCK_OPTION[2:]: ("c", True),
    ERR_SOCK_OPTION[2:]: ("e", True),
    "daemonize": ("d", False),
    "background": ("b", False),
    "group": ("g", True),
    "help": ("h", False),
    "quiet": ("q", False),
    "verbose": ("v", False),
    "version": ("V", False),
    "kernel": ("k", False),
    "ust": ("u", False),
    UST_CTL_OPTION[2:]: ("", True),
}
#: The ``getopt_long`` short-option string, ``"dhqvVku" "c:e:g:"`` (and ``b``).
_SHORT_TAKES_VALUE = {short: value for short, value in _LONG.values() if short}


class UsageError(LaunchError):
    """A command line lttng-consumerd would refuse (``parse_args()`` returns -1)."""


@dataclasses.dataclass(frozen=True)
class _Token:
    """One option found by :func:`_tokens`: where, its long name, its value, its spelling
    (``"sep"``: the value is the next word; ``"long="``; ``"attached"``: ``-cVALUE``;
    ``""``: no value). ``name`` is ``""`` for a word that is no option we know."""

    index: int
    name: str
    value: str
    spelling: str
    word: str


def _tokens(words: Sequence[str]) -> Iterator[_Token]:
    """The options of ``words`` as ``getopt_long`` reads them, in order; stops at ``--``.

    Unknown options and words that are no option come out with ``name == ""``; an option
    that needs a value and has none raises :class:`UsageError`.
    """
    index = 0
    while index < len(words):
        word = words[index]
        if word == "--":
            return
        if word.startswith("--"):
            text, eq, value = word[2:].partition("=")
            matches = [name for name in _LONG if name == text] or [
                name for name in _LONG if name.startswith(text)
            ]
            if len(matches) != 1:
                yield _Token(index, "", "", "", word)
            else:
                name = matches[0]
                if _LONG[name][1]:
                    if eq:
                        yield _Token(index, name, value, "long=", word)
                    elif index + 1 < len(words):
                        index += 1
                        yield _Token(index - 1, name, words[index], "sep", word)
                    else:
                        raise UsageError(f"option --{name} requires an argument")
                elif eq:
                    raise UsageError(f"option --{name} doesn't allow an argument")
                else:
                    yield _Token(index, name, "", "", word)
        elif word.startswith("-") and len(word) > 1:
            for pos, letter in enumerate(word[1:], start=1):
                long_name = next((n for n, (s, _v) in _LONG.items() if s == letter), "")
                if not long_name:
                    yield _Token(index, "", "", "", word)
                    break
                if not _SHORT_TAKES_VALUE[letter]:
                    yield _Token(index, long_name, "", "", word)
                    continue
                if pos + 1 < len(word):
                    yield _Token(index, long_name, word[pos + 1 :], "attached", word)
                elif index + 1 < len(words):
                    index += 1
                    yield _Token(index - 1, long_name, words[index], "sep", word)
                else:
                    raise UsageError(f"option requires an argument -- '{letter}'")
                break
        elif word:
            yield _Token(index, "", "", "", word)
        index += 1


@dataclasses.dataclass(frozen=True)
class ConsumerdOptions:
    """lttng-consumerd's command line (``parse_args()``, lttng-consumerd.c @ v2.13.9),
    for ustref-consumerd: the user-space consumer only (``-k`` is refused), plus
    ``--ust-ctl pure|lib`` (:data:`UST_CTL_OPTION`)."""

    command_sock: str = ""
    error_sock: str = ""
    group: str = "tracing"
    verbose: int = 0
    """How many ``-v`` (C sets ``lttng_opt_verbose = 3`` for any)."""
    quiet: bool = False
    daemonize: bool = False
    background: bool = False
    help: bool = False
    version: bool = False
    ust_ctl: str = ""
    """``--ust-ctl``: one of :data:`UST_CTL_CHOICES`, or ``""`` when absent."""

    @classmethod
    def parse(cls, words: Sequence[str]) -> ConsumerdOptions:
        """Read ``argv[1:]``; raises :class:`UsageError` where lttng-consumerd prints its
        usage and fails (an unknown option, a missing value), for ``-k`` (no kernel
        consumer here) and for a ``--ust-ctl`` value not in :data:`UST_CTL_CHOICES`."""
        values: dict[str, str] = {}
        verbose = 0
        flags: set[str] = set()
        for token in _tokens(words):
            if not token.name:
                raise UsageError(f"unknown option {token.word!r}")
            if token.name == "kernel":
                raise UsageError("the kernel consumer is not supported by ustref-consumerd (-k)")
            if token.name == "verbose":
                verbose += 1
            elif token.spelling:
                values[token.name] = token.value
            else:
                flags.add(token.name)
        ust_ctl = values.get(UST_CTL_OPTION[2:], "")
        if ust_ctl and ust_ctl not in UST_CTL_CHOICES:
            raise UsageError(
                f"{UST_CTL_OPTION} {ust_ctl!r}: choose from {', '.join(UST_CTL_CHOICES)}"
            )
        return cls(
            command_sock=values.get(CMD_SOCK_OPTION[2:], ""),
            error_sock=values.get(ERR_SOCK_OPTION[2:], ""),
            group=values.get("group", "tracing"),
            verbose=verbose,
            quiet="quiet" in flags,
            daemonize="daemonize" in flags,
            background="background" in flags,
            help="help" in flags,
            version="version" in flags,
            ust_ctl=ust_ctl,
        )

    def consumerd_argv(self) -> ConsumerdArgv:
        """The session daemon's part; :class:`UsageError` without both socket paths."""
        if not self.command_sock or not self.error_sock:
            raise UsageError(f"{CMD_SOCK_OPTION} and {ERR_SOCK_OPTION} are required")
        verbosity = "--verbose" if self.verbose else "--quiet" if self.quiet else ""
        return ConsumerdArgv(self.command_sock, self.error_sock, self.group, verbosity)


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
        """Read ``argv[1:]`` through :meth:`ConsumerdOptions.parse`; raises
        :class:`UsageError` (a :class:`~ustref.errors.LaunchError`) for a command line
        lttng-consumerd refuses or without both socket paths."""
        return ConsumerdOptions.parse(words).consumerd_argv()


@dataclasses.dataclass(frozen=True)
class SocketRedirect:
    """A consumer argv with its socket paths replaced, and the paths it had."""

    argv: tuple[str, ...]
    sessiond_cmd: str
    sessiond_err: str


def _scan(words: Sequence[str]) -> dict[str, tuple[int, str, str]]:
    """Where each socket option is: ``{option: (index, path, spelling)}`` (the last
    one wins, as with ``getopt_long``); other words are left alone."""
    found: dict[str, tuple[int, str, str]] = {}
    for token in _tokens(words):
        long_name = f"--{token.name}"
        if long_name in _SHORT:
            found[long_name] = (token.index, token.value, token.spelling)
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
            out[index] = f"{out[index].partition('=')[0]}={new}"
        else:
            out[index] = out[index][: len(out[index]) - len(_old)] + new
    return SocketRedirect(
        argv=tuple(out),
        sessiond_cmd=found[CMD_SOCK_OPTION][1],
        sessiond_err=found[ERR_SOCK_OPTION][1],
    )
