// A storage client: one directory per component and signal, one file per key. A value is written
// to `<key>.tmp`, fsynced, renamed to `<key>` and the directory fsynced, so a key either holds
// its whole value or does not exist, whenever the process or the machine stops. Removing a key
// is an unlink: nothing to compact. A LOCK file keeps two processes out of one directory.
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StorageClient, StoredKey } from '../../src/exporterhelper/storage.ts';
import type { Logger } from '../../src/telemetry/logger.ts';

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TMP = '.tmp';
const LOCK = 'LOCK';

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory's LOCK file, waiting up to timeoutMs for a live owner to let go. */
async function lock(dir: string, timeoutMs: number): Promise<string> {
  const path = join(dir, LOCK);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return path;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    if (!Number.isInteger(owner) || owner <= 0 || (owner !== process.pid && !isAlive(owner))) {
      // Left by a process that died (kill -9): take it over.
      await unlink(path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw new Error(`cannot take over ${path}, left by a process that is gone: ${error.message}`, { cause: error });
      });
      continue;
    }
    if (Date.now() >= deadline) {
      const who = owner === process.pid ? 'this process (two components with the same id?)' : `process ${owner}`;
      throw new Error(`${dir} is in use by ${who}; waited ${timeoutMs} ms (timeout)`);
    }
    await new Promise((r) => setTimeout(r, Math.min(50, Math.max(1, deadline - Date.now()))));
  }
}

export class FileClient implements StorageClient {
  readonly location: string;
  private readonly fsync: boolean;
  private readonly lockPath: string;
  private readonly dirHandle: FileHandle;
  private closed = false;

  private constructor(dir: string, fsync: boolean, lockPath: string, dirHandle: FileHandle) {
    this.location = dir;
    this.fsync = fsync;
    this.lockPath = lockPath;
    this.dirHandle = dirHandle;
  }

  static async open(dir: string, options: { fsync: boolean; timeoutMs: number; logger: Logger }): Promise<FileClient> {
    // Not recursive: the extension's directory exists, and a plain mkdir reports the real cause (EROFS, EACCES, ENOSPC).
    await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw new Error(`cannot create ${dir}: ${error.message}`, { cause: error });
    });
    const lockPath = await lock(dir, options.timeoutMs);
    try {
      // A .tmp file is a write that never completed: its batch was never acknowledged.
      for (const name of await readdir(dir)) {
        if (name.endsWith(TMP)) {
          options.logger.warn('file_storage: removing an incomplete write left by a previous run', { file: join(dir, name) });
          await unlink(join(dir, name)).catch(() => {});
        }
      }
      const dirHandle = await open(dir, 'r');
      return new FileClient(dir, options.fsync, lockPath, dirHandle);
    } catch (error) {
      await unlink(lockPath).catch(() => {});
      throw error;
    }
  }

  private path(key: string): string {
    if (!KEY.test(key) || key === LOCK || key.endsWith(TMP)) throw new Error(`file_storage: "${key}" cannot be a key (letters, digits, . _ -)`);
    return join(this.location, key);
  }

  private check(): void {
    if (this.closed) throw new Error(`file_storage: the client for ${this.location} is closed`);
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    this.check();
    const final = this.path(key);
    const tmp = final + TMP;
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(value);
        if (this.fsync) await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
      if (this.fsync) await this.dirHandle.sync();
    } catch (error) {
      await unlink(tmp).catch(() => {});
      throw new Error(`cannot store ${key} in ${this.location}: ${errorText(error)}`, { cause: error });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    this.check();
    try {
      return await readFile(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    this.check();
    try {
      await unlink(this.path(key));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  async list(): Promise<StoredKey[]> {
    this.check();
    const keys: StoredKey[] = [];
    for (const name of await readdir(this.location)) {
      if (name === LOCK || name.endsWith(TMP) || !KEY.test(name)) continue;
      const info = await stat(join(this.location, name)).catch(() => undefined);
      if (info?.isFile()) keys.push({ key: name, size: info.size });
    }
    return keys;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.dirHandle.close().catch(() => {});
    await unlink(this.lockPath).catch(() => {});
  }
}
