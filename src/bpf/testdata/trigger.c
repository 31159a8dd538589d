// Test load driver: waits for a line on stdin, then calls getppid() `rate` times per second for
// `seconds` seconds (a BPF program on sys_enter_getppid turns each call into records), and prints
// the number of calls made.
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: trigger <calls-per-second> <seconds>\n");
		return 2;
	}
	double rate = atof(argv[1]), seconds = atof(argv[2]);
	long total = (long)(rate * seconds), done = 0;
	char line[64];
	if (fgets(line, sizeof(line), stdin) == NULL)
		return 1;
	double t0 = now();
	while (done < total) {
		long due = (long)((now() - t0) * rate);
		if (due > total)
			due = total;
		while (done < due) {
			syscall(SYS_getppid);
			done++;
		}
		struct timespec pause = { 0, 100000 };
		nanosleep(&pause, NULL);
	}
	printf("%ld %.3f\n", done, now() - t0);
	return 0;
}
