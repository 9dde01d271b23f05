/*
 * tracef_app N [USLEEP]
 *
 * Emits N lttng_ust_tracef:event events whose msg is "ustref tracef <i>"
 * (i = 0 .. N-1), sleeping USLEEP microseconds (default 0) between events.
 * Build: gcc tracef_app.c -llttng-ust -ldl
 */
#include <lttng/tracef.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n;
	long i;
	long delay_us = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s N [USLEEP]\n", argv[0]);
		return 2;
	}
	n = strtol(argv[1], NULL, 10);
	if (argc > 2)
		delay_us = strtol(argv[2], NULL, 10);
	for (i = 0; i < n; i++) {
		lttng_ust_tracef("ustref tracef %d", (int) i);
		if (delay_us > 0)
			usleep((useconds_t) delay_us);
	}
	return 0;
}
