// Loads the native addon (bpf/build/bpfcol_native.node, built by `make -C bpf` from scripts/setup.sh)
// and describes its surface. The addon is a thin, generic layer over libbpf; the typed API that
// receivers use is in object.ts, map.ts, ringbuf.ts, btf.ts and probe.ts.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const ADDON_PATH = fileURLToPath(new URL('../../bpf/build/bpfcol_native.node', import.meta.url));
/** Directory of the compiled BPF objects: receivers' objects at its top, test programs in test/. */
export const BPF_BUILD_DIR = fileURLToPath(new URL('../../bpf/build/', import.meta.url));

/** An Error thrown by the addon: errno-based failures carry `errno` and `code` ("ENOENT", ...). */
export interface NativeError extends Error {
  errno?: number;
  code?: string;
}

export interface NativeProgramInfo {
  name: string;
  section: string;
  type: number;
  autoload: boolean;
  /** Kernel program id once loaded (as `bpftool prog show` prints it), 0 before. */
  id: number;
}

export interface NativeMapInfo {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  internal: boolean;
  perCpu: boolean;
  id: number;
}

export interface NativeRodataVariable {
  name: string;
  section: string;
  offset: number;
  size: number;
}

export interface NativeStructLayout {
  size: number;
  members: { name: string; offset: number; size: number; bitfieldSize: number }[];
}

export interface NativeBulk {
  count: number;
  keys: Buffer;
  values: Buffer;
  batched?: boolean;
}

export interface NativeLink {
  destroy(): void;
  attached(): boolean;
  /** One entry per kernel attachment: fd and bpf_link id (0 for a bare perf event fd). */
  info(): { fd: number; id: number }[];
}

export interface NativeRingStats {
  delivered: number;
  batches: number;
  wakeups: number;
  timerDrains: number;
  stopped: boolean;
}

export interface NativeRingBuffer {
  drain(): void;
  stop(): void;
  stats(): NativeRingStats;
}

export type NativeBatchCallback = (buffer: ArrayBuffer, byteLength: number, count: number) => void;

export interface NativeObject {
  rodataVariables(): NativeRodataVariable[];
  setRodata(name: string, bytes: Buffer): void;
  setMaxEntries(map: string, maxEntries: number): void;
  setAutoload(program: string, autoload: boolean): void;
  load(): void;
  programs(): NativeProgramInfo[];
  maps(): NativeMapInfo[];
  structLayout(name: string): NativeStructLayout | null;
  close(): void;
  attachTracepoint(program: string, category: string, name: string): NativeLink;
  attachRawTracepoint(program: string, name: string): NativeLink;
  attachPerfEvent(
    program: string,
    type: number,
    config: number | bigint,
    sample: number | bigint,
    isFrequency: boolean,
    cpus: number[],
    pid: number,
  ): NativeLink;
  attachUprobe(
    program: string,
    binaryPath: string,
    symbol: string | null,
    offset: number | bigint,
    pid: number,
    retprobe: boolean,
  ): NativeLink;
  attachUsdt(
    program: string,
    binaryPath: string,
    pid: number,
    provider: string,
    name: string,
    cookie: number | bigint,
  ): NativeLink;
  mapLookup(map: string, key: Buffer): Buffer | null;
  mapUpdate(map: string, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(map: string, key: Buffer): boolean;
  mapKeys(map: string): { count: number; keys: Buffer };
  mapEntries(map: string): NativeBulk;
  mapLookupAndDeleteAll(map: string): NativeBulk;
  openRingBuffer(
    map: string,
    batchBytes: number,
    safetyIntervalMs: number,
    onBatch: NativeBatchCallback,
  ): NativeRingBuffer;
}

export interface NativeAddon {
  NativeObject: new (path: string) => NativeObject;
  ensureTracefs(): { eventsDir: string; mountedNow: boolean };
  tracefsStatus(): { eventsDir: string; mounted: boolean; mountPointExists: boolean };
  kernelEnum(name: string): [string, number | bigint][] | null;
  possibleCpus(): number;
  /** null when the kernel can create a map of this type, else why not. */
  probeMapType(type: number): string | null;
  /** null when a sampling perf event of this type/config opens on CPU 0, else why not. */
  probePerfEvent(type: number, config: number): string | null;
  libbpfVersion(): string;
}

let cached: NativeAddon | undefined;

/** The addon, loaded once. Throws a message saying how to build it when it is missing. */
export function native(): NativeAddon {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) {
    throw new Error(
      `bpfcol's native eBPF addon is not built (${ADDON_PATH} is missing): run 'bash scripts/setup.sh'`,
    );
  }
  const require = createRequire(import.meta.url);
  try {
    cached = require(ADDON_PATH) as NativeAddon;
  } catch (err) {
    throw new Error(
      `bpfcol's native eBPF addon (${ADDON_PATH}) failed to load: ${(err as Error).message}; ` +
        `rebuild it with 'bash scripts/setup.sh'`,
      { cause: err },
    );
  }
  return cached;
}
