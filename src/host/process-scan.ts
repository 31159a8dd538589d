// Looking at every process on the machine now and then, without holding the event loop: the pids
// listed in /proc, one callback each, a yield to the loop every SCAN_CHUNK, scans never
// overlapping, again every interval until stopped. Receivers that attach to programs as they
// appear share it (jvm_usdt finds JVMs, socket_trace finds OpenSSL).
import { listDir } from './read.ts';

/** Processes looked at between two yields to the event loop. */
const SCAN_CHUNK = 64;

export interface ProcessScanOptions {
  /** /proc, or a host's mounted elsewhere. */
  procRoot: string;
  /** Between the end of a scan and the next; 0 or less: scan only when asked. */
  intervalMs: number;
  /** Looks at one process (it may be gone by now). */
  look(pid: number): void;
  /** A scan went through every process: the pids it saw. */
  done?(pids: Set<number>): void;
}

export class ProcessScan {
  readonly #o: ProcessScanOptions;
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ProcessScanOptions) {
    this.#o = options;
  }

  /** Scans now (resolves when done), then every interval. */
  async start(): Promise<void> {
    await this.scan();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#stopped || this.#o.intervalMs <= 0) return;
    this.#timer = setTimeout(() => void this.scan().finally(() => this.#schedule()), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** Looks at every process once. Scans never overlap. */
  scan(): Promise<void> {
    this.#scanning ??= this.#scan().finally(() => (this.#scanning = undefined));
    return this.#scanning;
  }

  async #scan(): Promise<void> {
    const pids = listDir(this.#o.procRoot).filter((n) => /^\d+$/.test(n)).map(Number);
    for (let i = 0; i < pids.length; i++) {
      if (this.#stopped) return;
      this.#o.look(pids[i]!);
      if (i % SCAN_CHUNK === SCAN_CHUNK - 1) await new Promise((r) => setImmediate(r));
    }
    this.#o.done?.(new Set(pids));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
