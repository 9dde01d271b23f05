"""ustref-consumerd: a UST consumer daemon that lttng-sessiond 2.13.9 can start in place
of ``lttng-consumerd -u``.

Layout (mirrors lttng-tools v2.13.9 src/common/ust-consumer/ust-consumer.c and
src/common/consumer/consumer.c):

* :mod:`~ustref.consumerd.registry` — channels and streams keyed by typed ids;
* :mod:`~ustref.consumerd.metadata` — the metadata cache;
* :mod:`~ustref.consumerd.streams` — draining a stream into its output files;
* :mod:`~ustref.consumerd.exchange` — actions, requests and waits shared by the
  core, the handlers and the shell;
* :mod:`~ustref.consumerd.state` — the state every handler takes (no core import);
* :mod:`~ustref.consumerd.lifetime` — deleting streams and channels, references,
  rotation, hang-ups;
* :mod:`~ustref.consumerd.handlers` — one handler per ``lttng_consumer_command``;
* :mod:`~ustref.consumerd.ring_backend` — the one seam to the ring buffers the
  consumer owns (``lttng_ust_ctl_*``): pure Python (default) or liblttng-ust-ctl;
* :mod:`~ustref.consumerd.core` — the sans-IO core (``receive``, ``handle_timer``,
  ``next_deadline``, all taking ``now``; exchange slots; the error boundary);
* :mod:`~ustref.consumerd.loop` — the I/O shell (sockets, ``selectors``, health, the
  clock) and :mod:`~ustref.consumerd.effects`, the system calls it performs for the core;
* :mod:`~ustref.consumerd.startup` — the sockets up to ``COMMAND_SOCK_READY``, before
  the core is imported;
* :mod:`~ustref.consumerd.cli` — the command line lttng-sessiond writes.
"""
