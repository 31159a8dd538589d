// Socket addresses of the kernel records as the semantic conventions write them.
import { AF_INET, AF_INET6, AF_UNIX, ROLE_SERVER, type OpenEvent } from './layout.ts';
import type { ConnectionInfo } from './protocols/types.ts';

function ipv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function ipv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  // the longest run of zero groups becomes '::'
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** An address in the record's family; IPv4-mapped IPv6 addresses as IPv4. */
export function formatAddress(family: number, b: Uint8Array): { address: string; type: 'ipv4' | 'ipv6' } | undefined {
  if (family === AF_INET) return { address: ipv4(b), type: 'ipv4' };
  if (family === AF_INET6) {
    const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    return mapped ? { address: ipv4(b, 12), type: 'ipv4' } : { address: ipv6(b), type: 'ipv6' };
  }
  return undefined;
}

/** A Unix socket path; abstract names (leading NUL) as '@name'. */
export function unixPath(path: Uint8Array): string | undefined {
  if (path.length === 0) return undefined;
  if (path[0] === 0) {
    let end = path.length;
    while (end > 1 && path[end - 1] === 0) end--;
    return end > 1 ? `@${Buffer.from(path.subarray(1, end)).toString('utf8')}` : undefined;
  }
  const nul = path.indexOf(0);
  return Buffer.from(path.subarray(0, nul < 0 ? path.length : nul)).toString('utf8') || undefined;
}

export function connectionInfo(e: OpenEvent): ConnectionInfo {
  const server = e.role === ROLE_SERVER;
  if (e.family === AF_UNIX) {
    const path = unixPath(e.path);
    const info: ConnectionInfo = { role: server ? 'server' : 'client', transport: 'unix' };
    if (path !== undefined) {
      info.serverAddress = path;
      info.peerAddress = path;
    }
    return info;
  }
  const local = formatAddress(e.family, e.laddr);
  const remote = formatAddress(e.family, e.raddr);
  const info: ConnectionInfo = { role: server ? 'server' : 'client', transport: 'tcp' };
  if (remote) {
    info.networkType = remote.type;
    info.peerAddress = remote.address;
    info.peerPort = e.rport;
  }
  if (server) {
    if (local) info.serverAddress = local.address;
    info.serverPort = e.lport;
    if (remote) {
      info.clientAddress = remote.address;
      info.clientPort = e.rport;
    }
  } else if (remote) {
    info.serverAddress = remote.address;
    info.serverPort = e.rport;
  }
  return info;
}
