// Child process of lifecycle.test.ts: loads ringbuf_load.bpf.o, attaches a tracepoint and a perf
// event, consumes the ring buffer, prints one JSON line with the kernel ids of what it holds, then:
//   hold  - runs until killed
//   throw - on a line on stdin, throws an uncaught error
//   close - on a line on stdin, calls close(), prints {"closed":true} and runs until killed
import { createInterface } from 'node:readline';
import { PerfSoftware, PerfType } from '../attach/perf-event.ts';
import { BpfObject, testObjectPath } from '../object.ts';
import { RingBuffer } from '../ringbuf.ts';

const mode = process.argv[2] ?? 'hold';
const obj = BpfObject.open(testObjectPath('ringbuf_load'), { rodata: { target_tgid: process.pid, records_per_call: 4 } });
obj.program('produce').attachTracepoint('syscalls', 'sys_enter_getppid');
obj.program('count_samples').attachPerfEvent({ type: PerfType.SOFTWARE, config: PerfSoftware.CPU_CLOCK, frequency: 49 });
let records = 0;
new RingBuffer(obj, 'events', (batch) => (records += batch.count));
const timer = setInterval(() => process.ppid, 20); // getppid(): records flow through the ring

process.stdout.write(
  JSON.stringify({
    pid: process.pid,
    programs: obj.programs().map((p) => p.id),
    maps: obj.nativeHandle().maps().map((m) => m.id), // .rodata included
    links: obj.links().flatMap((l) => l.linkIds()),
  }) + '\n',
);

createInterface({ input: process.stdin }).once('line', () => {
  if (mode === 'throw') throw new Error(`deliberate uncaught error after ${records} records`);
  if (mode === 'close') {
    // Closes once records have flowed (the line can arrive before the first timer tick is read).
    const deadline = Date.now() + 10_000;
    const closeWhenFlowing = () => {
      if (records === 0 && Date.now() < deadline) return void setTimeout(closeWhenFlowing, 20);
      obj.close();
      clearInterval(timer);
      process.stdout.write(JSON.stringify({ closed: true, records }) + '\n');
      setInterval(() => {}, 1000); // stay alive: the test checks the kernel while this process lives
    };
    closeWhenFlowing();
  }
});
