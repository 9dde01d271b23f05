/*
 * Tracepoint provider "ustref_test" for tp_provider_app.c.
 *
 * One event, ustref_test:all_types, carrying one field of each kind the
 * project's decoders must handle: integer, double, string, fixed-size integer
 * array, integer sequence and enumeration.  Written against the lttng-ust 2.13
 * API (LTTNG_UST_-prefixed macros).
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER ustref_test

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "tp.h"

#if !defined(USTREF_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define USTREF_TP_H

#include <stddef.h>
#include <lttng/tracepoint.h>

#define USTREF_TP_ARRAY_LEN 3

LTTNG_UST_TRACEPOINT_ENUM(ustref_test, color,
	LTTNG_UST_TP_ENUM_VALUES(
		lttng_ust_field_enum_value("RED", 0)
		lttng_ust_field_enum_value("GREEN", 1)
		lttng_ust_field_enum_range("BLUE", 2, 9)
	)
)

LTTNG_UST_TRACEPOINT_EVENT(ustref_test, all_types,
	LTTNG_UST_TP_ARGS(
		int, i,
		double, d,
		const char *, s,
		const int *, arr,
		const int *, seq,
		size_t, seq_len,
		int, color
	),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(int, int_field, i)
		lttng_ust_field_float(double, float_field, d)
		lttng_ust_field_string(string_field, s)
		lttng_ust_field_array(int, array_field, arr, USTREF_TP_ARRAY_LEN)
		lttng_ust_field_sequence(int, seq_field, seq, size_t, seq_len)
		lttng_ust_field_enum(ustref_test, color, int, enum_field, color)
	)
)

#endif /* USTREF_TP_H */

#include <lttng/tracepoint-event.h>
