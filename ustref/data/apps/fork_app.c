/*
 * fork_app N
 *
 * Forks once; the parent and the child each emit N lttng_ust_tracef:event
 * events whose msg is "ustref fork parent <i>" / "ustref fork child <i>".
 * The parent waits for the child and exits with status 0 only if the child
 * did too.  Run it with LD_PRELOAD=liblttng-ust-fork.so (ustref.lttng's
 * FORK_WRAPPER) so that the child registers with the session daemon as a
 * process of its own, as lttng-ust documents for applications that fork.
 * Build: gcc fork_app.c -llttng-ust -ldl
 */
#include <lttng/tracef.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static void emit(const char *who, long n)
{
	long i;

	for (i = 0; i < n; i++)
		lttng_ust_tracef("ustref fork %s %d", who, (int) i);
}

int main(int argc, char **argv)
{
	long n;
	pid_t child;
	int status = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s N\n", argv[0]);
		return 2;
	}
	n = strtol(argv[1], NULL, 10);
	child = fork();
	if (child < 0) {
		perror("fork");
		return 1;
	}
	if (child == 0) {
		emit("child", n);
		return 0;
	}
	emit("parent", n);
	if (waitpid(child, &status, 0) < 0) {
		perror("waitpid");
		return 1;
	}
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0) ? 0 : 1;
}
