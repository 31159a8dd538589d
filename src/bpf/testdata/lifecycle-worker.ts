// Worker thread of lifecycle.test.ts: attaches like lifecycle-child.ts, posts the kernel ids, and
// never closes anything: the worker's environment teardown must detach it all.
import { parentPort } from 'node:worker_threads';
import { PerfSoftware, PerfType } from '../attach/perf-event.ts';
import { BpfObject, testObjectPath } from '../object.ts';
import { RingBuffer } from '../ringbuf.ts';

const obj = BpfObject.open(testObjectPath('ringbuf_load'), { rodata: { target_tgid: process.pid, records_per_call: 1 } });
obj.program('produce').attachTracepoint('syscalls', 'sys_enter_getppid');
obj.program('count_samples').attachPerfEvent({ type: PerfType.SOFTWARE, config: PerfSoftware.CPU_CLOCK, frequency: 49 });
new RingBuffer(obj, 'events', () => {});
parentPort?.postMessage({
  pid: process.pid,
  programs: obj.programs().map((p) => p.id),
  maps: obj.nativeHandle().maps().map((m) => m.id),
  links: obj.links().flatMap((l) => l.linkIds()),
});
