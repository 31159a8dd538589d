// Enums of the running kernel, read from its BTF (/sys/kernel/btf/vmlinux) through libbpf: names
// such as the drop reasons of `enum skb_drop_reason` come from the kernel itself, never from a
// hard-coded table, so a newer kernel's new reasons show up by name.
import { native } from './native.ts';

export interface KernelEnumEntry {
  name: string;
  value: number | bigint;
}

const cache = new Map<string, KernelEnumEntry[] | null>();

/** The enum's entries, or undefined when this kernel has no such enum. */
export function readKernelEnum(enumName: string): KernelEnumEntry[] | undefined {
  let entries = cache.get(enumName);
  if (entries === undefined) {
    const raw = native().kernelEnum(enumName);
    entries = raw ? raw.map(([name, value]) => ({ name, value })) : null;
    cache.set(enumName, entries);
  }
  return entries ?? undefined;
}

/**
 * Value -> name of a kernel enum, with a common prefix removed:
 * kernelEnumNames('skb_drop_reason', 'SKB_DROP_REASON_').get(3) === 'NO_SOCKET' (on kernels where
 * NO_SOCKET is 3). Throws when the kernel has no such enum. Values beyond 2^53 are left out.
 */
export function kernelEnumNames(enumName: string, stripPrefix = ''): Map<number, string> {
  const entries = readKernelEnum(enumName);
  if (!entries) throw new Error(`this kernel's BTF has no enum ${enumName}`);
  const out = new Map<number, string>();
  for (const { name, value } of entries) {
    if (typeof value !== 'number' || out.has(value)) continue; // first name wins for aliases
    out.set(value, stripPrefix && name.startsWith(stripPrefix) ? name.slice(stripPrefix.length) : name);
  }
  return out;
}
