// Turns instruction pointers into frames without any service: kernel addresses through
// /proc/kallsyms, user addresses through the process's mappings and the ELF symbols of the mapped
// file (cached per file), JIT code through /tmp/perf-PID.map. What cannot be resolved becomes
// `module+0xoffset` (or the raw address): a frame never disappears.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import type { Frame, FrameKind } from '../../../src/pdata/profiles.ts';
import { Demangler } from './demangle.ts';
import { fileOffsetToVaddr, lookupSymbol } from './elf.ts';
import { ElfCache } from './files.ts';
import { KernelSymbols } from './kallsyms.ts';
import { kernelAddress } from '../kernel.ts';
import { isJvm, jcmd } from './jvm-attach.ts';
import { PerfMap } from './perf-map.ts';
import { type ProcessInfo, readProcess } from './processes.ts';
import { type Mapping, findMapping, isFileMapping, readMaps } from './proc-maps.ts';

export interface SymbolizerOptions {
  maxFiles: number;
  maxProcesses: number;
  perfMaps: boolean;
  /** Ask JVMs whose JIT frames cannot be named for their perf map (jcmd Compiler.perfmap), at most once per interval. */
  jvmPerfMaps?: boolean;
  jvmPerfMapIntervalMs?: number;
  /** Told when asking a JVM for its perf map failed. */
  onJvmPerfMapError?: (pid: number, error: Error) => void;
  /** /proc, or where the host's /proc is mounted in a container. */
  procRoot?: string;
  kallsymsPath?: string;
}

export interface SymbolizerStats {
  processes: number;
  files: number;
  filesFailed: number;
  kernelSymbols: number;
}

/** Minimum age of a copy of a process's mappings before an unknown address makes us read them again. */
const MAPS_REFRESH_MS = 1000;
const KERNEL_FRAME_CACHE = 100_000;
/** Frames of ELF files kept (all files together); past it the cache starts again. */
const FILE_FRAME_CACHE = 100_000;
/** A process not sampled for this long is forgotten once /proc says it is gone. */
const GONE_AFTER_MS = 60_000;

/** The kind of a JIT symbol: interpreter entries and stubs of the JVM and V8 count as interpreted. */
export function jitKind(name: string): FrameKind {
  return /^Interpreter\b|InterpreterEntryTrampoline|^BytecodeHandler:|^(?:JS|LazyCompile|Function):~/.test(name) ? 'interpreted' : 'jit';
}

export class Symbolizer {
  readonly #options: SymbolizerOptions & { procRoot: string };
  readonly #files: ElfCache;
  readonly #processes = new Map<number, ProcessInfo>();
  readonly #kernelFrames = new Map<number, Frame>();
  /** Frames of ELF files by file and offset (key: offset * 2 + 1 for a leaf): shared by every process mapping the file. */
  #fileFrames = new Map<string, Map<number, Frame>>();
  #fileFrameCount = 0;
  #lastSweep = Date.now();
  #kernel: KernelSymbols | undefined;
  /** Processes whose perf map was re-read in this round (reads are bounded to one per round). */
  #perfMapRead = new Set<number>();
  readonly #demangler = new Demangler();
  /** ELF files of announced processes not read yet: read in the background, one per event-loop turn. */
  readonly #pendingFiles = new Map<string, { paths: string[]; root: string }>();
  #loading: NodeJS.Immediate | undefined;

  constructor(options: SymbolizerOptions) {
    this.#options = { procRoot: '/proc', ...options };
    this.#files = new ElfCache(options.maxFiles);
  }

  stats(): SymbolizerStats {
    return {
      processes: this.#processes.size,
      files: this.#files.size,
      filesFailed: this.#files.failed,
      kernelSymbols: this.#kernel?.size ?? 0,
    };
  }

  /** Starts a round of symbolization (one drain): bounds the re-reads of perf maps, forgets processes gone. */
  beginRound(): void {
    this.#perfMapRead.clear();
    const now = Date.now();
    if (now - this.#lastSweep < GONE_AFTER_MS / 4) return;
    this.#lastSweep = now;
    for (const [tgid, p] of this.#processes) {
      if (now - p.lastSeen > GONE_AFTER_MS && !existsSync(`${this.#options.procRoot}/${tgid}`)) {
        this.#processes.delete(tgid);
        this.#jvmAsked.delete(tgid);
      }
    }
  }

  /** Ends a round: the mangled names of its frames are demangled, in one go. */
  endRound(): Promise<void> {
    return this.#demangler.flush();
  }

  /** Stops the background reading of files. */
  close(): void {
    this.#demangler.close();
    if (this.#loading) clearImmediate(this.#loading);
    this.#loading = undefined;
    this.#pendingFiles.clear();
  }

  /**
   * A process seen for the first time (or after an exec): copies its mappings now, while it lives
   * (one read of /proc/PID/maps, so announcements are handled fast), and queues the ELF files they
   * map to be read in the background while the process still lives: even a process that exits
   * before the next drain keeps its names.
   */
  announce(tgid: number, comm: string, cgroupId: bigint): ProcessInfo {
    const info = readProcess(tgid, comm, cgroupId, this.#options.procRoot);
    const known = this.#processes.get(tgid);
    // Announced again as it exits (its maps already gone): the copy we have is worth more.
    if (info.maps.length === 0 && known && known.maps.length) {
      known.alive = info.alive;
      return known;
    }
    this.#remember(info);
    for (const m of info.maps) if (isFileMapping(m)) this.#queueFile(info, m);
    return info;
  }

  #filePaths(proc: ProcessInfo, m: Mapping): { paths: string[]; root: string } {
    const root = `${this.#options.procRoot}/${proc.tgid}/root`;
    const paths = [`${this.#options.procRoot}/${proc.tgid}/map_files/${m.start.toString(16)}-${m.end.toString(16)}`, `${root}${m.path}`];
    if (!m.deleted) paths.push(m.path);
    return { paths, root };
  }

  #queueFile(proc: ProcessInfo, m: Mapping): void {
    const key = m.fileKey;
    if (this.#files.has(key) || this.#pendingFiles.has(key)) return;
    this.#pendingFiles.set(key, this.#filePaths(proc, m));
    this.#loading ??= setImmediate(() => this.#loadNext());
  }

  #loadNext(): void {
    this.#loading = undefined;
    const next = this.#pendingFiles.entries().next().value;
    if (!next) return;
    const [key, where] = next;
    this.#pendingFiles.delete(key);
    if (!this.#files.has(key)) this.#files.get(key, where.paths, where.root);
    if (this.#pendingFiles.size) this.#loading = setImmediate(() => this.#loadNext());
  }

  /** The process a sample came from: known, or read now. */
  process(tgid: number, comm: string, cgroupId: bigint): ProcessInfo {
    const known = this.#processes.get(tgid);
    if (known) {
      this.#processes.delete(tgid);
      this.#processes.set(tgid, known);
      known.lastSeen = Date.now();
      return known;
    }
    return this.announce(tgid, comm, cgroupId);
  }

  /** Forgets a process (its pid will name another one). */
  forget(tgid: number): void {
    this.#processes.delete(tgid);
  }

  #remember(info: ProcessInfo): void {
    this.#processes.delete(info.tgid);
    this.#processes.set(info.tgid, info);
    while (this.#processes.size > this.#options.maxProcesses) {
      this.#processes.delete(this.#processes.keys().next().value as number);
    }
  }

  /** Frames of a kernel stack (addresses' low 48 bits, as decodeStack gives them), leaf first. */
  kernelFrames(ips: readonly number[]): Frame[] {
    this.#kernel ??= new KernelSymbols(this.#options.kallsymsPath);
    return ips.map((ip, i) => this.#kernelFrame(ip, i === 0));
  }

  #kernelFrame(ip: number, leaf: boolean): Frame {
    const key = ip * 2 + (leaf ? 1 : 0);
    const hit = this.#kernelFrames.get(key);
    if (hit) return hit;
    const sym = this.#kernel!.lookup(leaf ? ip : ip - 1);
    const address = kernelAddress(ip);
    const frame: Frame = sym
      ? { function: sym.name, kind: 'kernel', module: sym.module, address }
      : { function: `[kernel]+0x${address.toString(16)}`, kind: 'kernel', module: '[kernel.kallsyms]', address };
    if (this.#kernelFrames.size >= KERNEL_FRAME_CACHE) this.#kernelFrames.clear();
    this.#kernelFrames.set(key, frame);
    return frame;
  }

  /** Frames of a user stack of `proc` (addresses as numbers), leaf first. */
  userFrames(proc: ProcessInfo, ips: readonly number[]): Frame[] {
    return ips.map((ip, i) => this.#userFrame(proc, ip, i === 0));
  }

  #userFrame(proc: ProcessInfo, ip: number, leaf: boolean): Frame {
    // A return address points after the call: the call itself is one byte before.
    const at = leaf ? ip : ip - 1;
    let m = findMapping(proc.maps, at);
    if (!m && this.#refreshMaps(proc)) m = findMapping(proc.maps, at);
    if (!m) return { function: `[unknown] 0x${ip.toString(16)}`, kind: 'unknown', module: '[unknown]', address: BigInt(ip) };
    if (isFileMapping(m)) return this.#fileFrame(proc, m, at - m.start + m.offset, leaf);
    // Anonymous executable memory: JIT code. Not cached: code there is freed and compiled again.
    const perfMap = this.#perfMap(proc);
    let name = perfMap?.lookup(at);
    if (name === undefined && perfMap && !this.#perfMapRead.has(proc.tgid)) {
      this.#perfMapRead.add(proc.tgid);
      perfMap.refresh();
      name = perfMap.lookup(at);
    }
    if (name !== undefined) return { function: name, kind: jitKind(name), module: perfMap!.path, address: BigInt(ip) };
    if (this.#options.jvmPerfMaps) this.#askJvm(proc);
    const region = m.path || '[anon]';
    return { function: `${region}+0x${(at - m.start).toString(16)}`, kind: 'unknown', module: region, address: BigInt(ip) };
  }

  /**
   * The frame of a file offset (of the instruction, or of the call for a return address). Cached per
   * file, so processes of one program share their frames; the address is the one the file was
   * linked at (the same in every process), or the file offset when the file could not be read.
   */
  #fileFrame(proc: ProcessInfo, m: Mapping, fileOffset: number, leaf: boolean): Frame {
    const fileKey = m.fileKey;
    let frames = this.#fileFrames.get(fileKey);
    const key = fileOffset * 2 + (leaf ? 1 : 0);
    const hit = frames?.get(key);
    if (hit) return hit;
    const elf = this.#elf(proc, m);
    let frame: Frame;
    if ('info' in elf) {
      const vaddr = fileOffsetToVaddr(elf.info, fileOffset);
      const sym = vaddr === undefined ? undefined : lookupSymbol(elf.info.symbols, vaddr);
      frame = {
        function: sym ? sym.name : `${basename(m.path)}+0x${fileOffset.toString(16)}`,
        kind: 'native',
        module: m.path,
        address: BigInt(vaddr ?? fileOffset),
      };
      if (elf.info.buildId) frame.buildId = elf.info.buildId;
      this.#demangler.add(frame);
    } else {
      frame = { function: `${basename(m.path)}+0x${fileOffset.toString(16)}`, kind: 'native', module: m.path, address: BigInt(fileOffset) };
    }
    if (this.#fileFrameCount >= FILE_FRAME_CACHE) {
      this.#fileFrames = new Map();
      this.#fileFrameCount = 0;
      frames = undefined;
    }
    if (!frames) {
      frames = new Map();
      this.#fileFrames.set(fileKey, frames);
    }
    frames.set(key, frame);
    this.#fileFrameCount++;
    return frame;
  }

  #elf(proc: ProcessInfo, m: Mapping) {
    const key = m.fileKey;
    if (this.#files.has(key)) return this.#files.get(key, []);
    // Paths queued at the announcement first (they name the file the process mapped).
    const queued = this.#pendingFiles.get(key);
    this.#pendingFiles.delete(key);
    const where = this.#filePaths(proc, m);
    const paths = [...new Set([...(queued?.paths ?? []), ...where.paths])];
    return this.#files.get(key, paths, queued?.root ?? where.root);
  }

  /** Reads the mappings again (a library loaded since), at most once a second; false when nothing changed. */
  #refreshMaps(proc: ProcessInfo): boolean {
    if (!proc.alive || performance.now() - proc.mapsReadAt < MAPS_REFRESH_MS) return false;
    const maps = readMaps(proc.tgid, this.#options.procRoot);
    proc.mapsReadAt = performance.now();
    if (!maps) {
      proc.alive = false;
      return false;
    }
    proc.maps = maps;
    return true;
  }

  /** JVMs asked for their perf map: when last asked, and whether an answer is awaited. */
  readonly #jvmAsked = new Map<number, { at: number; pending: boolean }>();

  #askJvm(proc: ProcessInfo): void {
    if (!proc.alive || !isJvm(proc.maps.map((m) => m.path))) return;
    const state = this.#jvmAsked.get(proc.tgid);
    const now = Date.now();
    if (state && (state.pending || now - state.at < (this.#options.jvmPerfMapIntervalMs ?? 60_000))) return;
    const entry = { at: now, pending: true };
    this.#jvmAsked.set(proc.tgid, entry);
    jcmd({ pid: proc.tgid, nsPid: proc.nsPid, procRoot: this.#options.procRoot }, 'Compiler.perfmap').then(
      () => {
        entry.pending = false;
        proc.perfMap = undefined; // the JVM rewrote the file: read it whole at the next lookup
        this.#perfMapRead.delete(proc.tgid);
      },
      (err: unknown) => {
        entry.pending = false;
        this.#options.onJvmPerfMapError?.(proc.tgid, err as Error);
      },
    );
  }

  #perfMap(proc: ProcessInfo): PerfMap | undefined {
    if (!this.#options.perfMaps) return undefined;
    if (!proc.perfMap) {
      // Not there yet (a JVM writes it when asked): looked for again once per round.
      if (proc.perfMap === null && this.#perfMapRead.has(proc.tgid)) return undefined;
      this.#perfMapRead.add(proc.tgid);
      proc.perfMap = null;
      // Named by the pid the process has in its own namespace, in its own /tmp; the host's /tmp
      // when the process is gone (the file outlives it).
      const candidates = [`${this.#options.procRoot}/${proc.tgid}/root/tmp/perf-${proc.nsPid}.map`, `/tmp/perf-${proc.tgid}.map`];
      for (const path of candidates) {
        const map = new PerfMap(path);
        if (map.refresh()) {
          proc.perfMap = map;
          break;
        }
      }
    }
    return proc.perfMap ?? undefined;
  }
}
