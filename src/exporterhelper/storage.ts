// What a storage extension (file_storage) offers the persistent queue, as the Collector's
// extension/xextension/storage: a key-value client per component and signal.
import type { Extension } from '../component/component.ts';

export interface StoredKey {
  key: string;
  /** Bytes the value takes. */
  size: number;
}

export interface StorageClient {
  /** Where the client keeps its data, for error messages. */
  readonly location: string;
  /** Stores `value` durably: once this resolves, the value survives a kill -9 (and, with fsync, a power loss). */
  set(key: string, value: Uint8Array): Promise<void>;
  /** The value, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Removes the key; a missing key is no error. */
  delete(key: string): Promise<void>;
  /** Every stored key with its size, in no particular order. */
  list(): Promise<StoredKey[]>;
  close(): Promise<void>;
}

export interface ClientOwner {
  kind: 'exporter' | 'receiver' | 'processor';
  /** `type[/name]` of the component. */
  id: string;
  /** What the component stores (the queue's signal). */
  name: string;
}

export interface StorageExtension extends Extension {
  getClient(owner: ClientOwner): Promise<StorageClient>;
}

export function isStorageExtension(extension: unknown): extension is StorageExtension {
  return typeof (extension as StorageExtension | undefined)?.getClient === 'function';
}
