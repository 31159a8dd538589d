// Uprobes: a program run on entry (or return) of a function in a user-space binary or library,
// found by symbol name (libbpf reads the ELF symbol table) or by file offset.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Link } from '../link.ts';
import type { AttachTarget } from './target.ts';

export interface UprobeOptions {
  /** The executable or shared library holding the function. */
  binaryPath: string;
  /** Function name; `offset` is then relative to it. */
  symbol?: string;
  /** File offset in the binary when no symbol is given, else an offset inside the function. */
  offset?: number | bigint;
  /** Only this process (-1, the default: every process mapping the binary). */
  pid?: number;
  /** Run at function return (a uretprobe). */
  retprobe?: boolean;
}

export function attachUprobe(program: AttachTarget, options: UprobeOptions): Link {
  if (options.symbol === undefined && options.offset === undefined) {
    throw new Error('attachUprobe: give a symbol or an offset');
  }
  const path = resolve(options.binaryPath);
  if (!existsSync(path)) throw new Error(`attachUprobe: binary ${path} does not exist`);
  const retprobe = options.retprobe ?? false;
  const link = program
    .native()
    .attachUprobe(program.name, path, options.symbol ?? null, options.offset ?? 0, options.pid ?? -1, retprobe);
  const where = options.symbol !== undefined ? `${options.symbol}${options.offset ? `+${options.offset}` : ''}` : `0x${options.offset?.toString(16)}`;
  return new Link(link, `${retprobe ? 'uretprobe' : 'uprobe'} ${path}:${where}`, program);
}
