// Rotated file names and their clean-up, as lumberjack (the Collector's rotating writer) does
// it: `dir/name.ext` is renamed to `dir/name-2006-01-02T15-04-05.000.ext`, and old backups are
// removed beyond max_backups and past max_days.
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** lumberjack's backup time format, `2006-01-02T15-04-05.000`, in UTC or local time. */
export function backupTimestamp(date: Date, localtime: boolean): string {
  const [y, mo, d, h, mi, s, ms] = localtime
    ? [date.getFullYear(), date.getMonth() + 1, date.getDate(), date.getHours(), date.getMinutes(), date.getSeconds(), date.getMilliseconds()]
    : [
        date.getUTCFullYear(),
        date.getUTCMonth() + 1,
        date.getUTCDate(),
        date.getUTCHours(),
        date.getUTCMinutes(),
        date.getUTCSeconds(),
        date.getUTCMilliseconds(),
      ];
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}-${pad(mi)}-${pad(s)}.${pad(ms, 3)}`;
}

function parts(path: string): { dir: string; prefix: string; ext: string } {
  const ext = extname(path);
  return { dir: dirname(path), prefix: basename(path, ext) + '-', ext };
}

export function backupName(path: string, date: Date, localtime: boolean): string {
  const { dir, prefix, ext } = parts(path);
  return join(dir, `${prefix}${backupTimestamp(date, localtime)}${ext}`);
}

const STAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})$/;

/** The time encoded in a backup's name, or undefined when the name is not one of ours. */
export function backupTime(path: string, file: string, localtime: boolean): Date | undefined {
  const { prefix, ext } = parts(path);
  if (!file.startsWith(prefix) || !file.endsWith(ext)) return undefined;
  const m = STAMP.exec(file.slice(prefix.length, file.length - ext.length));
  if (!m) return undefined;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  return localtime ? new Date(y, mo - 1, d, h, mi, s, ms) : new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms));
}

/** The backups of `path`, newest first. */
export async function listBackups(path: string, localtime: boolean): Promise<{ file: string; time: Date }[]> {
  const dir = dirname(path);
  const out: { file: string; time: Date }[] = [];
  for (const name of await readdir(dir)) {
    const time = backupTime(path, name, localtime);
    if (time) out.push({ file: join(dir, name), time });
  }
  return out.sort((a, b) => b.time.getTime() - a.time.getTime());
}

/** Removes backups beyond `maxBackups` (0 keeps all) and older than `maxDays` (0 keeps all); returns what it removed. */
export async function removeOldBackups(
  path: string,
  options: { maxBackups: number; maxDays: number; localtime: boolean; now?: Date },
): Promise<string[]> {
  const backups = await listBackups(path, options.localtime);
  const cutoff = (options.now ?? new Date()).getTime() - options.maxDays * 24 * 3600 * 1000;
  const doomed = backups.filter(
    (b, i) => (options.maxBackups > 0 && i >= options.maxBackups) || (options.maxDays > 0 && b.time.getTime() < cutoff),
  );
  for (const b of doomed) await unlink(b.file).catch(() => {});
  return doomed.map((b) => b.file);
}
