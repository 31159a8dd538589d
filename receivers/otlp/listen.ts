// What both servers need to come up: TLS material read from the config's files, and a
// listening error that says which endpoint and why in words.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ServerTls } from '../../src/config/types.ts';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** CAs that client certificates must chain to; set means clients must present one. */
  clientCa?: Buffer;
}

/** Reads the files a `tls` block names, relative to the config's directory. */
export async function loadServerTls(tls: ServerTls, configDir: string, where: string): Promise<TlsMaterial | undefined> {
  if (!tls) return undefined;
  const read = async (key: string, file: string) => {
    try {
      return await readFile(resolve(configDir, file));
    } catch (error) {
      throw new Error(`${where}.tls.${key}: cannot read "${file}": ${(error as Error).message}`, { cause: error });
    }
  };
  const material: TlsMaterial = { cert: await read('cert_file', tls.cert_file), key: await read('key_file', tls.key_file) };
  if (tls.client_ca_file) material.clientCa = await read('client_ca_file', tls.client_ca_file);
  return material;
}

const REASONS: Record<string, string> = {
  EADDRINUSE: 'address in use',
  EACCES: 'permission denied',
  EADDRNOTAVAIL: 'address not available on this machine',
};

/** "cannot listen on 127.0.0.1:4317: address in use" from a listen or bind error. */
export function listenErrorMessage(endpoint: string, error: unknown): string {
  const code = (error as { code?: string }).code;
  const text = error instanceof Error ? error.message : String(error);
  const reason =
    (code && REASONS[code]) ??
    Object.entries(REASONS).find(([c]) => text.includes(c))?.[1] ??
    text;
  return `cannot listen on ${endpoint}: ${reason}`;
}
