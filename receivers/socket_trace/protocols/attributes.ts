// Building attribute lists quickly (spans are made per request). Value objects of common values
// (small integers: ports, status codes; short repeated strings: methods, addresses, hosts) are
// made once and shared between spans: nothing in bpfcol changes a value object in place
// (setAttribute replaces a KeyValue's value), so sharing them only saves allocations.
import type { AnyValue, KeyValue } from '../../../src/pdata/common.ts';

const INTS: (AnyValue | undefined)[] = new Array(65536);
const STRINGS = new Map<string, AnyValue>();
const MAX_STRINGS = 8192;

/** An intValue, shared for 0..65535. */
export function intValue(n: number): AnyValue {
  if (n >= 0 && n < 65536 && Number.isInteger(n)) return (INTS[n] ??= { intValue: BigInt(n) });
  return { intValue: BigInt(Math.trunc(n)) };
}

/** A stringValue shared between spans (for values that repeat; not for paths or queries). */
export function sharedString(s: string): AnyValue {
  let v = STRINGS.get(s);
  if (v) return v;
  if (STRINGS.size >= MAX_STRINGS) STRINGS.clear();
  v = { stringValue: s };
  if (s.length <= 256) STRINGS.set(s, v);
  return v;
}

export class Attrs {
  readonly list: KeyValue[] = [];

  /** A string attribute (skipped when undefined or empty). */
  str(key: string, value: string | undefined): this {
    if (value !== undefined && value !== '') this.list.push({ key, value: { stringValue: value } });
    return this;
  }

  /** A string attribute whose value repeats between spans. */
  common(key: string, value: string | undefined): this {
    if (value !== undefined && value !== '') this.list.push({ key, value: sharedString(value) });
    return this;
  }

  int(key: string, value: number | bigint | undefined): this {
    if (typeof value === 'bigint') this.list.push({ key, value: { intValue: value } });
    else if (value !== undefined && Number.isFinite(value)) this.list.push({ key, value: intValue(value) });
    return this;
  }

  strings(key: string, values: string[] | undefined): this {
    if (values?.length) this.list.push({ key, value: { arrayValue: { values: values.map((v) => ({ stringValue: v })) } } });
    return this;
  }
}

/**
 * `server.address`, `server.port`, `network.peer.*` of a connection, and the transport when it is
 * not TCP over IPv4 (the semantic conventions' defaults).
 */
export function addServerAndPeer(a: Attrs, c: { serverAddress?: string; serverPort?: number; peerAddress?: string; peerPort?: number; transport: string; networkType?: string }): void {
  a.common('server.address', c.serverAddress).int('server.port', c.serverPort);
  a.common('network.peer.address', c.peerAddress).int('network.peer.port', c.peerPort);
  if (c.transport !== 'tcp') a.common('network.transport', c.transport);
  if (c.networkType === 'ipv6') a.common('network.type', c.networkType);
}
