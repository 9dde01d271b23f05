"""Grammars of conversations the consumer daemon never takes part in.

The consumer speaks three protocols — session daemon ↔ consumer
(:mod:`ustref.protocol.consumer`), the ust-ctl hand-over
(:mod:`ustref.protocol.handover`, :mod:`ustref.protocol.ust_abi`) and consumer ↔
relay daemon (:mod:`ustref.protocol.relayd`). The modules here mirror the
other peers of an LTTng session, for the spec and the fuzzers: client ↔
session daemon (:mod:`.client`, with the public structs it embeds in
:mod:`.lttng_types` and the URIs of :mod:`.uri`), live viewer ↔ relay daemon
(:mod:`.viewer`), session daemon ↔ agent (:mod:`.agent`) and lttng-tools'
session daemon ↔ application structs (:mod:`.ust_app`).
"""
