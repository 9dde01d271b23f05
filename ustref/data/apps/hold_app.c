/*
 * hold_app N
 *
 * Emits N lttng_ust_tracef:event events whose msg is "ustref hold <i>"
 * (i = 0 .. N-1), then prints "ready <pid>" on stdout and blocks until it is
 * killed.  Every event is committed to the ring buffer before the line is
 * written, so a test that waits for the line and then kills the app with
 * SIGKILL knows exactly which events the app left behind.
 * Build: gcc hold_app.c -llttng-ust -ldl
 */
#include <lttng/tracef.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n;
	long i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s N\n", argv[0]);
		return 2;
	}
	n = strtol(argv[1], NULL, 10);
	for (i = 0; i < n; i++)
		lttng_ust_tracef("ustref hold %d", (int) i);
	if (printf("ready %ld\n", (long) getpid()) < 0 || fflush(stdout) != 0) {
		perror("stdout");
		return 1;
	}
	for (;;)
		pause();
}
