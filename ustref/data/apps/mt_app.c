/*
 * mt_app THREADS EVENTS_PER_THREAD
 *
 * Starts THREADS pthreads; thread t emits EVENTS_PER_THREAD
 * lttng_ust_tracef:event events whose msg is "ustref mt <t> <i>".
 * Build: gcc mt_app.c -llttng-ust -ldl -lpthread
 */
#include <lttng/tracef.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct worker {
	pthread_t thread;
	int index;
	long events;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	long i;

	for (i = 0; i < w->events; i++)
		lttng_ust_tracef("ustref mt %d %d", w->index, (int) i);
	return NULL;
}

int main(int argc, char **argv)
{
	long threads;
	long events;
	long t;
	struct worker *workers;

	if (argc < 3) {
		fprintf(stderr, "usage: %s THREADS EVENTS_PER_THREAD\n", argv[0]);
		return 2;
	}
	threads = strtol(argv[1], NULL, 10);
	events = strtol(argv[2], NULL, 10);
	if (threads <= 0) {
		fprintf(stderr, "THREADS must be positive\n");
		return 2;
	}
	workers = calloc((size_t) threads, sizeof(*workers));
	if (!workers) {
		perror("calloc");
		return 1;
	}
	for (t = 0; t < threads; t++) {
		workers[t].index = (int) t;
		workers[t].events = events;
		if (pthread_create(&workers[t].thread, NULL, work, &workers[t])) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
	}
	for (t = 0; t < threads; t++)
		pthread_join(workers[t].thread, NULL);
	free(workers);
	return 0;
}
