// A CPU-bound program with known hot functions: hot_a does three times the work of hot_b in
// every round (and hot_syscalls spends a little time in the kernel), until the process has used
// the CPU seconds given as argv[1]. Built by the tests with -fno-omit-frame-pointer and
// -mno-omit-leaf-frame-pointer (the frame of a leaf function is omitted otherwise, and its caller
// skipped), so its stacks unwind through main.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

static volatile unsigned long sink;


__attribute__((noinline)) void hot_a(void)
{
	unsigned long x = sink;
	for (unsigned long i = 0; i < 3000000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

__attribute__((noinline)) void hot_b(void)
{
	unsigned long x = sink;
	for (unsigned long i = 0; i < 1000000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

/* Time in the kernel: small writes to /dev/null. */
__attribute__((noinline)) void hot_syscalls(int fd)
{
	char c = 'x';
	for (int i = 0; i < 3000; i++)
		if (write(fd, &c, 1) != 1)
			exit(1);
}

static double cpu_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double limit = argc > 1 ? atof(argv[1]) : 2.0;
	int fd = open("/dev/null", O_WRONLY);
	if (fd < 0)
		return 1;
	printf("ready\n");
	fflush(stdout);
	while (cpu_seconds() < limit) {
		hot_a();
		hot_b();
		hot_syscalls(fd);
	}
	return 0;
}
