/*
 * ustref oracle shim: the one symbol liblttng-ust-ctl.so.5 (lttng-ust 2.13.5)
 * needs from its host program.
 *
 * liblttng-ust-ctl references the TLS variable lttng_ust_sigbus_state
 * (include/lttng/ust-sigbus.h) but leaves its definition to the executable,
 * which lttng-tools' consumer does with DEFINE_LTTNG_UST_SIGBUS_STATE().
 * A Python process has no such definition, so ustref.ring.ustctl builds this
 * file at first use into its cache directory and loads it RTLD_GLOBAL before
 * the library. Used by the test oracle and the benchmark only.
 */
#include <lttng/ust-sigbus.h>

DEFINE_LTTNG_UST_SIGBUS_STATE();

int ustref_shim_abi(void)
{
	return (int) sizeof(struct lttng_ust_sigbus_state);
}
