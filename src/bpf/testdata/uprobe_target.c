// Uprobe target: calls bpfcol_probe_target(i) every 10 ms until killed (the test attaches to it by
// symbol and by file offset). noinline + used keep the function and its symbol.
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline, used)) int bpfcol_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 2 + 1;
}

int main(void)
{
	volatile int sink = 0;
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("ready\n");
	for (int i = 1;; i++) {
		sink += bpfcol_probe_target(i);
		usleep(10000);
	}
	return sink;
}
