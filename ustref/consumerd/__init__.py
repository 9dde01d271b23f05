"""ustref-consumerd: a UST consumer daemon that lttng-sessiond 2.13.9 can start in place
of ``lttng-consumerd -u``.

Layout (mirrors lttng-tools v2.13.9 src/common/ust-consumer/ust-consumer.c and
src/common/consumer/consumer.c):

* :mod:`~ustref.consumerd.registry` — channels and streams keyed by typed ids;
* :mod:`~ustref.consumerd.metadata` — the metadata cache;
* :mod:`~ustref.consumerd.streams` — draining a stream into its output files;
* :mod:`~ustref.consumerd.handlers` — one handler per ``lttng_consumer_command``;
* :mod:`~ustref.consumerd.ustctl_backend` — the one seam to the ring buffers the
  consumer owns (``lttng_ust_ctl_*``): pure Python (default) or liblttng-ust-ctl;
* :mod:`~ustref.consumerd.core` — the sans-IO core (``receive``, ``handle_timer``,
  ``next_deadline``);
* :mod:`~ustref.consumerd.loop` — the I/O shell (sockets, ``selectors``, health);
* :mod:`~ustref.consumerd.cli` — the command line lttng-sessiond writes.
"""
