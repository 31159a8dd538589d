// The TLS attacher: finds OpenSSL in the processes of the machine and attaches socket_trace's TLS
// uprobes (bpf/socket_trace_tls.h) to it: every mapped libssl.so* and every executable that
// exports SSL_write/SSL_read itself (OpenSSL linked statically, as Node's binary does).
//
// A uprobe is set on a file (an inode), not on a process: it fires in every process mapping that
// file, now or later. So each file is attached once, found by device and inode, whichever process
// showed it first; the links stay until shutdown. Processes are found by a scan of /proc at start
// and every rescan_interval (libraries loaded later with dlopen), and by the exec records of the
// kernel (sched_process_exec): a new process's libraries are mapped by the dynamic loader a few
// milliseconds after its exec, so it is looked at a few times, further apart, within attach_wait.
import { readlinkSync, statSync } from 'node:fs';
import { ProcessScan } from '../../src/host/process-scan.ts';
import { readSmall } from '../../src/host/read.ts';
import type { BpfObject } from '../../src/bpf/object.ts';
import type { Link } from '../../src/bpf/link.ts';
import { type TlsFunction, tlsFunctionOffsets } from './tls-elf.ts';

/** Entry program per hooked function; every one returns through tls_return. */
const ENTRY_PROGRAMS: Record<TlsFunction, string> = {
  SSL_read: 'tls_read_enter',
  SSL_read_ex: 'tls_read_ex_enter',
  SSL_write: 'tls_write_enter',
  SSL_write_ex: 'tls_write_ex_enter',
  SSL_do_handshake: 'tls_handshake_enter',
};
export const TLS_PROGRAMS = [...Object.values(ENTRY_PROGRAMS), 'tls_return', 'tls_on_exec'];

/** Delays of the looks at a process after its exec, within attach_wait. */
const LOOKS_MS = [10, 40, 160, 640, 2560];

export interface TlsTarget {
  /** The file as bpfcol found it: the path the process sees (`exe` or a mapped libssl). */
  path: string;
  kind: 'library' | 'executable';
  functions: TlsFunction[];
  /** The process that showed it. */
  pid: number;
}

export interface TlsAttacherOptions {
  object: BpfObject;
  attachWaitMs: number;
  rescanIntervalMs: number;
  /** A file was attached (for the log). */
  attached?(target: TlsTarget): void;
  /** A file exporting the functions could not be attached. */
  failed?(path: string, error: Error): void;
  procRoot?: string;
}

interface FileState {
  /** It exports the OpenSSL functions. */
  openssl?: boolean;
  /** The links attached (none: not OpenSSL, or the attachment failed). */
  links?: Link[];
}

/** Device and inode of a file: what a uprobe is set on. */
function fileKey(path: string): string | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

export class TlsAttacher {
  readonly #o: TlsAttacherOptions;
  /** By device:inode: files looked at, attached or not. */
  readonly #files = new Map<string, FileState>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #scan: ProcessScan;
  #stopped = false;
  /** Files attached. */
  attachedFiles = 0;
  /** Files exporting the functions that failed to attach. */
  failedFiles = 0;

  constructor(options: TlsAttacherOptions) {
    this.#o = options;
    this.#scan = new ProcessScan({
      procRoot: this.#proc,
      intervalMs: options.rescanIntervalMs,
      look: (pid) => {
        if (pid !== process.pid) this.lookAt(pid);
      },
    });
  }

  get #proc(): string {
    return this.#o.procRoot ?? '/proc';
  }

  /** Scans every process now (resolves when done), then every rescan_interval. */
  start(): Promise<void> {
    return this.#scan.start();
  }

  /** A process exec'd (the kernel's record): look at it a few times while its loader maps libraries. */
  exec(pid: number): void {
    if (this.#stopped) return;
    const start = Date.now();
    const look = (i: number) => {
      const delay = LOOKS_MS[i];
      if (delay === undefined || delay > this.#o.attachWaitMs) return;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (this.#stopped) return;
        if (this.lookAt(pid) !== 'none') return; // gone, or its OpenSSL found (attached now or before)
        look(i + 1);
      }, Math.max(0, start + delay - Date.now()));
      timer.unref();
      this.#timers.add(timer);
    };
    look(0);
  }

  /** Looks at every process once. Scans never overlap. */
  scan(): Promise<void> {
    return this.#scan.scan();
  }

  /**
   * Attaches to the OpenSSL files process `pid` maps and has not been attached yet. Says whether
   * the process is gone, uses OpenSSL (attached now or before), or shows none yet.
   */
  lookAt(pid: number): 'gone' | 'openssl' | 'none' {
    const proc = `${this.#proc}/${pid}`;
    const maps = readSmall(`${proc}/maps`);
    if (maps === undefined) return 'gone';
    // the executable: through /proc/PID/exe, the very file, whatever mount namespace it lives in
    let found = this.#consider(`${proc}/exe`, () => readlinkSafe(`${proc}/exe`) ?? `${proc}/exe`, 'executable', pid);
    // libssl.so*, through /proc/PID/map_files/<range>: the mapped file itself (an upgraded library
    // that replaced it on disk is another file)
    let at = maps.indexOf('/libssl.so');
    while (at >= 0) {
      const lineStart = maps.lastIndexOf('\n', at) + 1;
      const lineEnd = maps.indexOf('\n', at);
      const line = maps.slice(lineStart, lineEnd < 0 ? maps.length : lineEnd);
      const m = /^([0-9a-f]+-[0-9a-f]+) \S+ \S+ \S+ \d+\s+(\/.*\/libssl\.so[^/]*)$/.exec(line);
      if (m && this.#consider(`${proc}/map_files/${m[1]}`, () => m[2]!.replace(/ \(deleted\)$/, ''), 'library', pid)) found = true;
      at = lineEnd < 0 ? -1 : maps.indexOf('/libssl.so', lineEnd);
    }
    return found ? 'openssl' : 'none';
  }

  /** Attaches to the file if it is OpenSSL and new; returns whether it is OpenSSL (attached or failed, now or before). */
  #consider(path: string, name: () => string, kind: TlsTarget['kind'], pid: number): boolean {
    const key = fileKey(path);
    if (key === undefined) return false;
    const known = this.#files.get(key);
    if (known) return known.openssl === true;
    const state: FileState = {};
    this.#files.set(key, state);
    let offsets: Map<TlsFunction, number> | undefined;
    try {
      offsets = tlsFunctionOffsets(path);
    } catch {
      this.#files.delete(key); // gone meanwhile, or unreadable now: another look may do better
      return false;
    }
    if (!offsets) return false;
    state.openssl = true;
    const links: Link[] = [];
    try {
      for (const [fn, offset] of offsets) {
        links.push(this.#o.object.program(ENTRY_PROGRAMS[fn]).attachUprobe({ binaryPath: path, offset }));
        links.push(this.#o.object.program('tls_return').attachUprobe({ binaryPath: path, offset, retprobe: true }));
      }
    } catch (err) {
      for (const l of links) l.destroy();
      this.failedFiles++;
      this.#o.failed?.(name(), err as Error);
      return true;
    }
    state.links = links;
    this.attachedFiles++;
    this.#o.attached?.({ path: name(), kind, functions: [...offsets.keys()], pid });
    return true;
  }

  /** Uprobe links attached now. */
  links(): Link[] {
    const out: Link[] = [];
    for (const f of this.#files.values()) if (f.links) out.push(...f.links);
    return out;
  }

  /** Stops looking and detaches every uprobe. Idempotent. */
  stop(): void {
    this.#stopped = true;
    this.#scan.stop();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const f of this.#files.values()) for (const l of f.links ?? []) l.destroy();
    this.#files.clear();
  }
}

function readlinkSafe(path: string): string | undefined {
  try {
    return readlinkSync(path).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}
