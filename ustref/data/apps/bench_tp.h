/*
 * Tracepoint provider "ustref_bench" for bench_app.c.
 *
 * One event, ustref_bench:record, whose payload is 60 bytes (a 32-bit
 * sequence number and 56 filler bytes): with the 4-byte compact event header
 * every record is 64 bytes in the ring buffer.  Written against the
 * lttng-ust 2.13 API (LTTNG_UST_-prefixed macros).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ustref_bench

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "bench_tp.h"

#if !defined(USTREF_BENCH_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define USTREF_BENCH_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

#define USTREF_BENCH_FILLER_LEN 56

LTTNG_UST_TRACEPOINT_EVENT(ustref_bench, record,
	LTTNG_UST_TP_ARGS(
		uint32_t, seq,
		const uint8_t *, filler
	),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, seq, seq)
		lttng_ust_field_array(uint8_t, filler, filler, USTREF_BENCH_FILLER_LEN)
	)
)

#endif /* USTREF_BENCH_TP_H */

#include <lttng/tracepoint-event.h>
