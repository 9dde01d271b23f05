"""Reader of lttng-ust 2.13.5 ring buffers over shared memory, in pure Python.

One C concept per module:

* :mod:`ustref.ring.layout` — ctypes mirrors of the x86_64 shm layout
  (``ustref spec ring-layout --json``);
* :mod:`ustref.ring.shm` — mapping a stream's shm fd or ``--shm-path`` file,
  untorn atomics (libatomic), and SIGBUS-safe access to a file shrunk under us;
* :mod:`ustref.ring.crash` — the crash-ABI record that makes a stream file
  self-describing, and the buffer geometry it gives;
* :mod:`ustref.ring.packet` — CTF packet header/context of the data and
  metadata clients;
* :mod:`ustref.ring.reader` — the consumer side: positions, get/put (one
  sub-buffer or a batch), snapshots, getters, flush;
* :mod:`ustref.ring.drain` — the consumer's data path on a stream: take the
  ready sub-buffers, write them through a sink, put them back;
* :mod:`ustref.ring.dump` — ``ustref ring dump``, post-mortem recovery like
  ``lttng-crash -x``;
* :mod:`ustref.ring.libustctl` — the liblttng-ust-ctl.so.5 oracle (tests, benchmark,
  and ``ustref-consumerd --ust-ctl lib``; the default consumer never loads it).
"""
