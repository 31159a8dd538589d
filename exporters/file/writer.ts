// One open file, shared by every signal (and every file exporter) that writes to its path.
// Records are written in the order they arrive; records that arrive while a write is under way
// go out together in the next one. A record is in the file (the kernel's page cache) before its
// write resolves, so a failed write reaches the caller; every flush_interval the file is fsynced,
// and on shutdown it is fsynced and closed. With rotation, a record that would take the file past
// max_megabytes first moves the file aside (lumberjack's naming) and starts a new one.
import { constants } from 'node:fs';
import { access, type FileHandle, mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Component } from '../../src/component/component.ts';
import type { Logger } from '../../src/telemetry/logger.ts';
import type { RotationConfig } from './config.ts';
import { backupName, removeOldBackups } from './rotation.ts';

const MIB = 1024 * 1024;

export interface WriterOptions {
  path: string;
  append: boolean;
  rotation?: RotationConfig;
  flushIntervalMs: number;
  createDirectory: boolean;
  logger: Logger;
}

interface Pending {
  bytes: Uint8Array;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function exists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}

export class FileWriter implements Component {
  readonly path: string;
  private readonly options: WriterOptions;
  private handle: FileHandle | undefined;
  private size = 0;
  private queue: Pending[] = [];
  private drainScheduled = false;
  /** Every file operation runs on this chain, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private cleanup: Promise<unknown> = Promise.resolve();

  constructor(options: WriterOptions) {
    this.options = options;
    this.path = options.path;
  }

  async start(): Promise<void> {
    // With rotation the file is continued, as lumberjack does; otherwise `append` decides.
    const continueFile = this.options.append || this.options.rotation !== undefined;
    try {
      if (this.options.createDirectory) await mkdir(dirname(this.path), { recursive: true });
      this.handle = await open(this.path, continueFile ? 'a' : 'w');
      this.size = continueFile ? (await this.handle.stat()).size : 0;
    } catch (error) {
      throw new Error(`cannot open "${this.path}" for writing: ${reason(error)}`, { cause: error });
    }
    this.timer = setInterval(() => void this.sync(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Resolves once `bytes` is written to the file, in order with every other write. */
  write(bytes: Uint8Array): Promise<void> {
    if (!this.handle || this.closing) {
      return Promise.reject(new Error(`"${this.path}" is not open (${this.closing ? 'shut down' : 'not started'})`));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      if (!this.drainScheduled) {
        this.drainScheduled = true;
        void this.run(async () => {
          this.drainScheduled = false;
          await this.drain();
        });
      }
    });
  }

  async shutdown(): Promise<void> {
    if (this.closing) return this.chain;
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.run(async () => {
      await this.drain();
      const handle = this.handle;
      this.handle = undefined;
      if (!handle) return;
      try {
        await handle.datasync();
      } finally {
        await handle.close();
      }
    });
    await this.cleanup;
  }

  private run(op: () => Promise<void>): Promise<void> {
    const result = this.chain.then(op);
    this.chain = result.catch(() => {});
    return result;
  }

  private sync(): Promise<void> {
    return this.run(async () => {
      if (!this.dirty || !this.handle) return;
      this.dirty = false;
      await this.handle.datasync();
    }).catch((error: unknown) => this.options.logger.warn('fsync failed', { path: this.path, error }));
  }

  private get maxBytes(): number {
    return this.options.rotation ? this.options.rotation.max_megabytes * MIB : Infinity;
  }

  /** Writes what is queued: as one write while it fits the current file, rotating in between. */
  private async drain(): Promise<void> {
    const batch = this.queue.splice(0);
    let i = 0;
    while (i < batch.length) {
      if (this.size > 0 && this.size + batch[i]!.bytes.length > this.maxBytes) await this.rotate();
      const run: Pending[] = [];
      let bytes = 0;
      // A record larger than max_megabytes still gets written, alone in a fresh file: losing it
      // would be worse than an oversized file.
      while (i < batch.length && (run.length === 0 || this.size + bytes + batch[i]!.bytes.length <= this.maxBytes)) {
        run.push(batch[i]!);
        bytes += batch[i]!.bytes.length;
        i++;
      }
      try {
        await this.writeAll(Buffer.concat(run.map((p) => p.bytes)));
        this.size += bytes;
        this.dirty = true;
        for (const p of run) p.resolve();
      } catch (error) {
        for (const p of run) p.reject(error);
      }
    }
  }

  private async writeAll(buffer: Buffer): Promise<void> {
    if (!this.handle) throw new Error(`"${this.path}" is not open`);
    let offset = 0;
    while (offset < buffer.length) {
      const { bytesWritten } = await this.handle.write(buffer, offset, buffer.length - offset, null);
      if (bytesWritten <= 0) throw new Error(`no bytes written to "${this.path}"`);
      offset += bytesWritten;
    }
  }

  /** Renames the file to its backup name and starts a new one; on failure keeps writing where it was. */
  private async rotate(): Promise<void> {
    const rotation = this.options.rotation!;
    const old = this.handle;
    try {
      // Two rotations in one millisecond must not overwrite a backup: move the stamp on.
      let when = Date.now();
      let target = backupName(this.path, new Date(when), rotation.localtime);
      while (await exists(target)) target = backupName(this.path, new Date(++when), rotation.localtime);
      await rename(this.path, target);
      this.handle = await open(this.path, 'w');
      this.size = 0;
      this.dirty = false;
      if (old) {
        await old.datasync().catch(() => {});
        await old.close().catch(() => {});
      }
      this.options.logger.debug('rotated file', { path: this.path, backup: target });
    } catch (error) {
      this.handle = old;
      this.options.logger.error('rotating the file failed; writing on to the current one', { path: this.path, error });
      return;
    }
    this.cleanup = this.cleanup.then(() =>
      removeOldBackups(this.path, {
        maxBackups: rotation.max_backups,
        maxDays: rotation.max_days,
        localtime: rotation.localtime,
      }).catch((error: unknown) => this.options.logger.warn('removing old rotated files failed', { path: this.path, error })),
    );
  }
}
