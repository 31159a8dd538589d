// Finding JVMs: a process is a JVM once libjvm.so is mapped into it. New processes come from the
// sched_process_exec tracepoint; the launcher maps libjvm.so a few milliseconds after the exec, so
// each exec is followed by a few looks at /proc/PID/maps, further and further apart, until
// libjvm.so shows up, the process is gone, or attach_wait runs out. A scan of /proc at start and
// every rescan_interval finds the JVMs already running and any an event was lost for.
import { ProcessScan } from '../../src/host/process-scan.ts';
import { type JvmMappings, findJvmMappings, processStartTicks, readMaps } from './procfs.ts';

export interface DiscoveryOptions {
  attachWaitMs: number;
  rescanIntervalMs: number;
  /** Whether this process (pid and start time) was handled already: tracked, or left alone on purpose. */
  known(pid: number, startTicks: number): boolean;
  /** A process that maps libjvm.so and is not known. `via` says how it was found. */
  found(pid: number, startTicks: number, mappings: JvmMappings, via: 'exec' | 'scan'): void;
  /** After each scan: every pid /proc listed (for forgetting processes that are gone). */
  scanned?(pids: ReadonlySet<number>): void;
  procRoot?: string;
}

const FIRST_LOOK_MS = 10;
const MAX_GAP_MS = 500;

interface Watch {
  deadline: number;
  gap: number;
  timer: NodeJS.Timeout;
}

export class JvmDiscovery {
  readonly #o: DiscoveryOptions;
  readonly #watching = new Map<number, Watch>();
  readonly #scan: ProcessScan;
  #stopped = false;
  /** Looks at /proc/PID/maps, for bpfcol's own metrics. */
  mapsReads = 0;

  constructor(options: DiscoveryOptions) {
    this.#o = options;
    this.#scan = new ProcessScan({
      procRoot: this.#proc,
      intervalMs: options.rescanIntervalMs,
      // those waited for since their exec are looked at by #look
      look: (pid) => {
        if (this.#watching.has(pid)) return;
        try {
          this.#check(pid, 'scan');
        } catch {
          // a process that cannot be described is skipped; the next scan tries again
        }
      },
      done: (pids) => this.#o.scanned?.(pids),
    });
  }

  get #proc(): string {
    return this.#o.procRoot ?? '/proc';
  }

  /** Scans /proc now (resolves when done) and then every rescan_interval. */
  start(): Promise<void> {
    return this.#scan.start();
  }

  /** A process exec'd: look for libjvm.so in it for up to attach_wait. */
  exec(pid: number): void {
    if (this.#stopped) return;
    const old = this.#watching.get(pid);
    if (old) clearTimeout(old.timer);
    const w: Watch = { deadline: Date.now() + this.#o.attachWaitMs, gap: FIRST_LOOK_MS, timer: undefined as unknown as NodeJS.Timeout };
    this.#watching.set(pid, w);
    w.timer = setTimeout(() => this.#look(pid, w), FIRST_LOOK_MS);
  }

  #look(pid: number, w: Watch): void {
    if (this.#stopped || this.#watching.get(pid) !== w) return;
    const r = this.#check(pid, 'exec');
    if (r !== 'not-yet' || Date.now() + w.gap > w.deadline) {
      this.#watching.delete(pid);
      return;
    }
    w.gap = Math.min(w.gap * 2, MAX_GAP_MS);
    w.timer = setTimeout(() => this.#look(pid, w), w.gap);
  }

  /** Processes waited for since their exec. */
  get watching(): number {
    return this.#watching.size;
  }

  #check(pid: number, via: 'exec' | 'scan'): 'gone' | 'jvm' | 'not-yet' {
    const ticks = processStartTicks(pid, this.#proc);
    if (ticks === undefined) return 'gone';
    if (this.#o.known(pid, ticks)) return 'jvm';
    this.mapsReads++;
    const maps = readMaps(pid, this.#proc);
    if (maps === undefined) return 'gone';
    const m = findJvmMappings(maps);
    if (!m.libjvm) return 'not-yet';
    this.#o.found(pid, ticks, m, via);
    return 'jvm';
  }

  /** Looks at every process once (those waited for since an exec aside). Scans never overlap. */
  scan(): Promise<void> {
    return this.#scan.scan();
  }

  stop(): void {
    this.#stopped = true;
    this.#scan.stop();
    for (const w of this.#watching.values()) clearTimeout(w.timer);
    this.#watching.clear();
  }
}
