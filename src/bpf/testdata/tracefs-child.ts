// Child of tracefs.test.ts, started in a private mount namespace where tracefs was unmounted.
//   attach - attaches a tracepoint program (the runtime must mount tracefs itself) and reports
//   ensure - calls ensureTracefs() (run without CAP_SYS_ADMIN: mounting must fail with the fix)
import { native } from '../native.ts';
import { BpfObject, testObjectPath } from '../object.ts';

const mode = process.argv[2];
const before = native().tracefsStatus();
if (mode === 'attach') {
  const obj = BpfObject.open(testObjectPath('runtime_test'), { rodata: { target_tgid: process.pid, magic: 99n } });
  obj.program('on_getppid').attachTracepoint('syscalls', 'sys_enter_getppid');
  void process.ppid;
  const echo = obj.map('echo').lookup(Buffer.alloc(4))?.readBigUInt64LE(0);
  console.log(JSON.stringify({ before, after: native().tracefsStatus(), echo: String(echo) }));
  obj.close();
} else {
  try {
    native().ensureTracefs();
    console.log(JSON.stringify({ before, error: null }));
  } catch (err) {
    console.log(JSON.stringify({ before, error: (err as Error).message, code: (err as { code?: string }).code }));
  }
}
