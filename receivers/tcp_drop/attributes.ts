// The attributes of a flow key: who (process.pid, process.executable.name, container.cgroup.id)
// and between which endpoints (network.*), as the semantic conventions name them.
import type { KeyValue } from '../../src/pdata/common.ts';
import { type CidrFilter, endpointsOf } from './endpoints.ts';
import type { FlowKey } from './layout.ts';
import type { FlowAttributes } from './metrics.ts';
import type { ProcessNames } from './process-names.ts';

/** The cgroup v2 id (inode number of the cgroup's directory) of the socket's owner. */
export const CGROUP_ID_ATTRIBUTE = 'container.cgroup.id';

export interface DescribeOptions {
  cidrs: CidrFilter;
  names: ProcessNames;
}

/** Attributes of `key`, or undefined when the CIDR filter leaves it out. */
export function describeFlow(key: FlowKey, options: DescribeOptions): FlowAttributes | undefined {
  const e = endpointsOf(key);
  if (!options.cidrs.keeps(e)) return undefined;
  // Port 0: folded by the kernel program (an ephemeral port), or a packet without ports.
  const ports = { local: e.localPort || undefined, peer: e.peerPort || undefined };
  const attributes: KeyValue[] = [
    { key: 'network.type', value: { stringValue: e.type } },
    { key: 'network.local.address', value: { stringValue: e.localAddress } },
  ];
  if (ports.local !== undefined) attributes.push({ key: 'network.local.port', value: { intValue: BigInt(ports.local) } });
  attributes.push({ key: 'network.peer.address', value: { stringValue: e.peerAddress } });
  if (ports.peer !== undefined) attributes.push({ key: 'network.peer.port', value: { intValue: BigInt(ports.peer) } });
  if (key.pid > 0) {
    attributes.push({ key: 'process.pid', value: { intValue: BigInt(key.pid) } });
    // As the kernel saw it when the socket got its owner; /proc only when the kernel had no name.
    const name = key.exe || options.names.get(key.pid);
    if (name !== undefined) attributes.push({ key: 'process.executable.name', value: { stringValue: name } });
  }
  if (key.cgroup_id > 0n) attributes.push({ key: CGROUP_ID_ATTRIBUTE, value: { intValue: key.cgroup_id } });
  const id = `${e.type}|${e.localAddress}|${ports.local ?? ''}|${e.peerAddress}|${ports.peer ?? ''}|${key.pid}|${key.cgroup_id}`;
  return { key: id, attributes };
}
