// USDT target: fires the probe bpfcol_test:tick(i, 1000 + i) every 10 ms until killed.
#include <stdio.h>
#include <sys/sdt.h>
#include <unistd.h>

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	for (long i = 1;; i++) {
		DTRACE_PROBE2(bpfcol_test, tick, i, 1000 + i);
		usleep(10000);
	}
	return 0;
}
