// Reading the kernel's pseudo-files (/proc, /sys, cgroupfs) fast and without throwing.
//
// These files are generated on read and never wait on a disk, so reading them synchronously costs
// microseconds; a collection reads hundreds of them. readFileSync with an encoding opens, reads and
// closes in one call into Node's C++ side (measured: 15% cheaper than open/read/close from
// JavaScript). A file that vanished (a process or cgroup that just went away) or that we may not
// read is simply absent: callers get undefined.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The whole content of a small kernel file as text, or undefined when it cannot be read. */
export function readSmall(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** A file holding one number (`max` and other words give undefined). */
export function readNumber(path: string): number | undefined {
  const text = readSmall(path);
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isFinite(n) ? n : undefined;
}

/** Entry names of a directory, or [] when it cannot be read. */
export function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** Target of a symbolic link (`net:[4026531840]`), or undefined. */
export function readLink(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/** `key value` lines (cpu.stat, memory.stat, /proc/PID/io with `key: value`) as numbers. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, line.charCodeAt(space - 1) === 58 /* : */ ? space - 1 : space);
    const value = Number(line.slice(space + 1).trim());
    if (Number.isFinite(value)) out.set(key, value);
  }
  return out;
}
