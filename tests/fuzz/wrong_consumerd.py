"""A deliberately wrong consumer daemon: ustref-consumerd whose INIT always answers
``LTTCOMM_CONSUMERD_ALREADY_SET``. The differential fuzzer must call it a real
divergence (tests/fuzz/test_differential.py); run as ``python wrong_consumerd.py ARGS``."""

from __future__ import annotations

import os
import sys

from ustref.consumerd import cli, handlers
from ustref.consumerd.state import ConsumerState
from ustref.protocol.consumer import ConsumerMsg, LttngConsumerCommand
from ustref.protocol.lttng_error import LttcommReturnCode


def wrong_init(state: ConsumerState, msg: ConsumerMsg) -> None:
    state.send_status(LttcommReturnCode.LTTCOMM_CONSUMERD_ALREADY_SET)


if __name__ == "__main__":
    handlers.HANDLERS[LttngConsumerCommand.LTTNG_CONSUMER_INIT] = wrong_init
    os.environ["USTREF_CONSUMERD_REEXEC"] = "1"  # keep the patch: no re-exec
    sys.exit(cli.main(sys.argv[1:]))
