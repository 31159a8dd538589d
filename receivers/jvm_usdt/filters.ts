// Which JVMs the receiver watches: every list of `filters` that is not empty must match (a list
// matches when one of its entries does). A process whose fact is unknown (no main class, say)
// does not match a list about that fact.
import type { JvmUsdtConfig } from './config.ts';

/** What the filters look at, read from /proc when a JVM is found. */
export interface ProcessFacts {
  pid: number;
  /** Executable path as the process sees it (/proc/PID/exe). */
  exe?: string;
  /** Main class, -jar path or module class (from the command line). */
  mainClass?: string;
  /** cgroup path (v2, else v1). */
  cgroupPath?: string;
}

/** A glob (`*` any text, `?` one character) as an anchored regular expression. */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.');
  return new RegExp(`^${body}$`);
}

export type JvmFilter = (facts: ProcessFacts) => boolean;

export function compileFilters(filters: JvmUsdtConfig['filters']): JvmFilter {
  const pids = new Set(filters.pids);
  const exes = filters.executables.map(globToRegExp);
  const mains = filters.main_classes.map(globToRegExp);
  const cgroups = filters.cgroups.map((p) => p.replace(/\/+$/, '') || '/');
  const underCgroup = (path: string, prefix: string) => prefix === '/' || path === prefix || path.startsWith(`${prefix}/`);
  return (f) => {
    if (pids.size && !pids.has(f.pid)) return false;
    if (exes.length) {
      const exe = f.exe;
      const base = exe?.split('/').pop();
      if (!exe || !exes.some((re) => re.test(exe) || (base !== undefined && re.test(base)))) return false;
    }
    if (mains.length && (!f.mainClass || !mains.some((re) => re.test(f.mainClass!)))) return false;
    if (cgroups.length && (!f.cgroupPath || !cgroups.some((p) => underCgroup(f.cgroupPath!, p)))) return false;
    return true;
  };
}

/** True when no filter is set (every JVM is watched). */
export function filtersEmpty(filters: JvmUsdtConfig['filters']): boolean {
  return !filters.pids.length && !filters.executables.length && !filters.main_classes.length && !filters.cgroups.length;
}
