// The protocols socket_trace parses, by config name and by the kernel's sniff result.
import { KernelProtocol } from '../layout.ts';
import { dns } from './dns.ts';
import { http1 } from './http1.ts';
import { http2 } from './http2.ts';
import { kafka } from './kafka.ts';
import { mysql } from './mysql.ts';
import { postgres } from './postgres.ts';
import { redis } from './redis.ts';
import type { ProtocolModule, ProtocolName } from './types.ts';

export const MODULES: Record<ProtocolName, ProtocolModule<any, any>> = { http: http1, postgresql: postgres, mysql, redis, http2, kafka, dns };

/** The module for a kernel protocol id (ST_PROTO_*). */
export const BY_KERNEL_ID: ReadonlyMap<number, ProtocolModule<any, any>> = new Map<number, ProtocolModule<any, any>>([
  [KernelProtocol.HTTP1, http1],
  [KernelProtocol.POSTGRES, postgres],
  [KernelProtocol.MYSQL, mysql],
  [KernelProtocol.REDIS, redis],
  [KernelProtocol.HTTP2, http2],
  [KernelProtocol.KAFKA, kafka],
  [KernelProtocol.DNS, dns],
]);
