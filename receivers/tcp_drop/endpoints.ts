// The two ends of a flow key as people read them: addresses as text (an IPv4-mapped IPv6 address
// is shown as the IPv4 address it is, so a dual-stack socket and the packet on the wire agree),
// the CIDR filter, and the ephemeral port range (the kernel program folds those ports).
import { readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { parseCidr } from './config.ts';
import type { FlowKey } from './layout.ts';

export interface Endpoints {
  type: 'ipv4' | 'ipv6';
  localAddress: string;
  peerAddress: string;
  localPort: number;
  peerPort: number;
}

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function v4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text of 16 bytes (longest run of zero groups as ::, lowercase hex). */
export function ipv6Text(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] ?? 0) << 8) | (b[i + 1] ?? 0));
  let bestAt = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestAt < 0) return hex(groups);
  return `${hex(groups.slice(0, bestAt))}::${hex(groups.slice(bestAt + bestLen))}`;
}

export function endpointsOf(key: FlowKey): Endpoints {
  if (key.family === 4) {
    return { type: 'ipv4', localAddress: v4(key.laddr), peerAddress: v4(key.raddr), localPort: key.lport, peerPort: key.rport };
  }
  if (isV4Mapped(key.laddr) && (isV4Mapped(key.raddr) || key.raddr.every((x) => x === 0))) {
    return { type: 'ipv4', localAddress: v4(key.laddr, 12), peerAddress: isV4Mapped(key.raddr) ? v4(key.raddr, 12) : '0.0.0.0', localPort: key.lport, peerPort: key.rport };
  }
  return { type: 'ipv6', localAddress: ipv6Text(key.laddr), peerAddress: ipv6Text(key.raddr), localPort: key.lport, peerPort: key.rport };
}

/** Keeps flows with the local or the peer address in one of the CIDRs; no CIDRs keeps everything. */
export class CidrFilter {
  readonly #list: BlockList | undefined;

  constructor(cidrs: readonly string[]) {
    if (cidrs.length === 0) return;
    this.#list = new BlockList();
    for (const text of cidrs) {
      const c = parseCidr(text);
      if (c) this.#list.addSubnet(c.address, c.prefix, c.type);
    }
  }

  keeps(e: Endpoints): boolean {
    if (!this.#list) return true;
    return this.#list.check(e.localAddress, e.type) || this.#list.check(e.peerAddress, e.type);
  }
}

/** The kernel's ephemeral port range (net.ipv4.ip_local_port_range, which IPv6 shares). */
export function ephemeralPortRange(path = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [lo, hi] = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
    if (lo !== undefined && hi !== undefined && Number.isInteger(lo) && Number.isInteger(hi)) return [lo, hi];
  } catch {
    // no procfs: Linux's default range
  }
  return [32768, 60999];
}
