// A CPU-bound Node program with known hot functions (hotA three times hotB's work per round) for
// the perf_sampling JIT test: run with --perf-basic-prof, V8 writes /tmp/perf-PID.map as it
// compiles. Runs until it used the CPU seconds given as its argument.
'use strict';

function hotA(x) {
  for (let i = 0; i < 3_000_000; i++) x = (x * 1103515245 + 12345) % 2147483648;
  return x;
}

function hotB(x) {
  for (let i = 0; i < 1_000_000; i++) x = (x * 1103515245 + 12345) % 2147483648;
  return x;
}

const limit = Number(process.argv[2] ?? 2) * 1e6;
let x = 1;
let printed = false;
while (process.cpuUsage().user + process.cpuUsage().system < limit) {
  x = hotA(x);
  x = hotB(x);
  if (!printed) {
    console.log('ready');
    printed = true;
  }
}
if (x === -1) console.log(x);
