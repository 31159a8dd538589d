// USDT (user statically defined tracing) probes, e.g. the JVM's hotspot:gc__begin, through libbpf's
// attach_usdt: the program (SEC("usdt"), BPF_USDT from <bpf/usdt.bpf.h>) reads the probe arguments.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { Link } from '../link.ts';
import type { AttachTarget } from './target.ts';

export interface UsdtOptions {
  /** The executable or shared library defining the probe (in its .note.stapsdt section). */
  binaryPath: string;
  provider: string;
  name: string;
  /** Only this process (-1, the default: every process mapping the binary). */
  pid?: number;
  /** Value the program reads with bpf_usdt_cookie(ctx). */
  cookie?: number | bigint;
}

export function attachUsdt(program: AttachTarget, options: UsdtOptions): Link {
  const path = resolve(options.binaryPath);
  if (!existsSync(path)) throw new Error(`attachUsdt: binary ${path} does not exist`);
  const link = program
    .native()
    .attachUsdt(program.name, path, options.pid ?? -1, options.provider, options.name, options.cookie ?? 0);
  return new Link(link, `usdt ${path}:${options.provider}:${options.name}`, program);
}
