/*
 * bench_app EVENTS
 *
 * Emits EVENTS ustref_bench:record events (64 bytes each in the ring buffer)
 * as fast as one thread can, for the consumer daemon benchmark
 * (benchmarks/bench_consumerd.py).  Prints the number emitted and the
 * seconds it took on stdout.
 * Build: gcc -I. bench_app.c -llttng-ust -ldl
 */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "bench_tp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	uint8_t filler[USTREF_BENCH_FILLER_LEN];
	struct timespec start, end;
	long events;
	long i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s EVENTS\n", argv[0]);
		return 2;
	}
	events = strtol(argv[1], NULL, 10);
	if (events < 0) {
		fprintf(stderr, "EVENTS must not be negative\n");
		return 2;
	}
	memset(filler, 0x5a, sizeof(filler));
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (i = 0; i < events; i++)
		lttng_ust_tracepoint(ustref_bench, record, (uint32_t) i, filler);
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%ld %.9f\n", events,
	       (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
	return 0;
}
