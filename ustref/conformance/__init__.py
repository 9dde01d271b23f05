"""LTTng's own regression suite as ustref's conformance gate.

lttng-tools 2.13.9's ``tests/regression/`` (from Debian's source package) is
built once under ``build/upstream/`` and its TAP scripts are run, unmodified,
against a chosen consumer daemon placed at the path the scripts hand to
``lttng-sessiond --consumerd64-path``.

* :mod:`ustref.conformance.tap` — incremental TAP parsing (sans-IO);
* :mod:`ustref.conformance.lists` — the named script lists kept here;
* :mod:`ustref.conformance.report` — per-script results, consumer check, table;
* :mod:`ustref.conformance.prepare` — fetch, build and link the test tree;
* :mod:`ustref.conformance.run` — run scripts one at a time under the machine lock;
* :mod:`ustref.conformance.cli` — ``ustref conformance upstream``.
"""
