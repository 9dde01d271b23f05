/*
 * tp_provider_app N
 *
 * Emits N ustref_test:all_types events.  Event i carries:
 *   int_field    = i
 *   float_field  = i + 0.5
 *   string_field = "event-<i>"
 *   array_field  = [i, i+1, i+2]
 *   seq_field    = [0, 1, ..., (i % 4) - 1]   (length i % 4)
 *   enum_field   = i % 3   (RED, GREEN, BLUE)
 * Build: gcc -I<this dir> tp_provider_app.c -llttng-ust -ldl
 */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "tp.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	long n;
	long i;
	char buf[32];
	int arr[USTREF_TP_ARRAY_LEN];
	int seq[4] = {0, 1, 2, 3};

	if (argc < 2) {
		fprintf(stderr, "usage: %s N\n", argv[0]);
		return 2;
	}
	n = strtol(argv[1], NULL, 10);
	for (i = 0; i < n; i++) {
		int v = (int) i;

		snprintf(buf, sizeof(buf), "event-%d", v);
		arr[0] = v;
		arr[1] = v + 1;
		arr[2] = v + 2;
		lttng_ust_tracepoint(ustref_test, all_types, v, v + 0.5, buf, arr,
				     seq, (size_t) (v % 4), v % 3);
	}
	return 0;
}
