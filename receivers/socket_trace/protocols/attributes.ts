// Small helpers for building attribute lists quickly (spans are made per request).
import type { KeyValue } from '../../../src/pdata/common.ts';

export class Attrs {
  readonly list: KeyValue[] = [];

  str(key: string, value: string | undefined): this {
    if (value !== undefined && value !== '') this.list.push({ key, value: { stringValue: value } });
    return this;
  }

  int(key: string, value: number | bigint | undefined): this {
    if (value !== undefined && (typeof value === 'bigint' || Number.isFinite(value))) {
      this.list.push({ key, value: { intValue: typeof value === 'bigint' ? value : BigInt(Math.trunc(value)) } });
    }
    return this;
  }

  strings(key: string, values: string[] | undefined): this {
    if (values?.length) this.list.push({ key, value: { arrayValue: { values: values.map((v) => ({ stringValue: v })) } } });
    return this;
  }
}

/** `server.address`, `server.port`, `network.peer.*`, `network.transport`, `network.type` of a connection. */
export function addServerAndPeer(a: Attrs, c: { serverAddress?: string; serverPort?: number; peerAddress?: string; peerPort?: number; transport: string; networkType?: string }): void {
  a.str('server.address', c.serverAddress).int('server.port', c.serverPort);
  a.str('network.peer.address', c.peerAddress).int('network.peer.port', c.peerPort);
  a.str('network.transport', c.transport).str('network.type', c.networkType);
}
