/*
 * bench_app EVENTS [THREADS [SECONDS]]
 *
 * Emits ustref_bench:record events (64 bytes each in the ring buffer) as fast
 * as it can, for the consumer daemon benchmark (benchmarks/bench_consumerd.py):
 * EVENTS events from one thread; or, with THREADS, from THREADS threads, thread
 * t pinned to CPU t modulo the CPUs it may run on (the per-UID scale mode: one
 * thread per CPU), each emitting EVENTS events, or, with SECONDS > 0, as many
 * as it can for SECONDS seconds (EVENTS 0: no limit). Prints the number emitted
 * and the seconds it took on stdout.
 * Build: gcc -I. bench_app.c -llttng-ust -ldl -lpthread
 */
#define _GNU_SOURCE
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "bench_tp.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct worker {
	pthread_t thread;
	int cpu;
	long events;
	double seconds;
	long emitted;
};

static double since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double) (now.tv_sec - start->tv_sec) + (now.tv_nsec - start->tv_nsec) / 1e9;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	uint8_t filler[USTREF_BENCH_FILLER_LEN];
	struct timespec start;
	long i;

	memset(filler, 0x5a, sizeof(filler));
	if (w->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (w->seconds <= 0) {
		for (i = 0; i < w->events; i++)
			lttng_ust_tracepoint(ustref_bench, record, (uint32_t) i, filler);
	} else {
		/* Look at the clock every 4096 events only: the loop stays max-rate. */
		for (i = 0; w->events == 0 || i < w->events; i++) {
			if ((i & 4095) == 0 && since(&start) >= w->seconds)
				break;
			lttng_ust_tracepoint(ustref_bench, record, (uint32_t) i, filler);
		}
	}
	w->emitted = i;
	return NULL;
}

int main(int argc, char **argv)
{
	struct worker *workers;
	struct timespec start;
	cpu_set_t allowed;
	long threads = 0, t, total = 0;
	double seconds = 0;
	long events;
	int cpus[CPU_SETSIZE], ncpus = 0, cpu;

	if (argc < 2) {
		fprintf(stderr, "usage: %s EVENTS [THREADS [SECONDS]]\n", argv[0]);
		return 2;
	}
	events = strtol(argv[1], NULL, 10);
	if (argc > 2)
		threads = strtol(argv[2], NULL, 10);
	if (argc > 3)
		seconds = strtod(argv[3], NULL);
	if (events < 0 || threads < 0 || (events == 0 && seconds <= 0)) {
		fprintf(stderr, "EVENTS and THREADS must not be negative; EVENTS 0 needs SECONDS\n");
		return 2;
	}
	workers = calloc(threads ? threads : 1, sizeof(*workers));
	if (!workers)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &start);
	if (threads == 0) {
		/* The original mode: one thread, the main one, no pinning. */
		workers[0] = (struct worker) { .cpu = -1, .events = events, .seconds = seconds };
		work(&workers[0]);
		total = workers[0].emitted;
	} else {
		sched_getaffinity(0, sizeof(allowed), &allowed);
		for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &allowed))
				cpus[ncpus++] = cpu;
		for (t = 0; t < threads; t++) {
			workers[t] = (struct worker) {
				.cpu = ncpus ? cpus[t % ncpus] : -1, .events = events, .seconds = seconds
			};
			if (pthread_create(&workers[t].thread, NULL, work, &workers[t]) != 0) {
				perror("pthread_create");
				return 1;
			}
		}
		for (t = 0; t < threads; t++) {
			pthread_join(workers[t].thread, NULL);
			total += workers[t].emitted;
		}
	}
	printf("%ld %.9f\n", total, since(&start));
	free(workers);
	return 0;
}
