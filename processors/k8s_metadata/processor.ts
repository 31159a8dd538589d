// The k8s_metadata processor: every resource and every item (span, data point, log record,
// sample) that names a process, cgroup, container, pod uid or pod IP gets the metadata of its pod
// (or, outside Kubernetes, of its process and container); every item that names a peer address
// gets the metadata of the peer's pod under the peer prefix. Values already present are kept.
import type { CreateSettings, Processor } from '../../src/component/component.ts';
import type { Consumer } from '../../src/component/consumer.ts';
import { anyValueToString, type KeyValue } from '../../src/pdata/common.ts';
import type { Signal, SignalData } from '../../src/pdata/signal.ts';
import { SpanKind } from '../../src/pdata/traces.ts';
import type { Counter } from '../../src/telemetry/self.ts';
import type { Resolved } from './associate.ts';
import type { K8sMetadataConfig, ProcessKey } from './config.ts';
import { type Core, coreFor } from './core.ts';
import type { ProcessInfo } from './host.ts';

interface Item {
  attributes: KeyValue[];
  kind?: SpanKind;
}

type Level = 'resource' | 'item' | 'peer';

function get(list: readonly KeyValue[], key: string): string | undefined {
  for (const kv of list) if (kv.key === key) return anyValueToString(kv.value);
  return undefined;
}

function insert(list: KeyValue[], key: string, value: string | number): void {
  if (list.some((kv) => kv.key === key)) return;
  list.push({ key, value: typeof value === 'number' ? { intValue: BigInt(value) } : { stringValue: value } });
}

function processValue(p: ProcessInfo, key: ProcessKey): string | number | undefined {
  switch (key) {
    case 'process.executable.name': return p.executableName;
    case 'process.executable.path': return p.executablePath;
    case 'process.command_line': return p.commandLine;
    case 'process.owner': return p.owner;
    case 'process.parent_pid': return p.parentPid;
  }
}

/** Resources and items of a batch of any signal. */
function* groups<S extends Signal>(signal: S, data: SignalData[S]): Generator<{ resource: KeyValue[]; items: () => Generator<Item> }> {
  switch (signal) {
    case 'traces':
      for (const rs of (data as SignalData['traces']).resourceSpans) {
        yield { resource: rs.resource.attributes, items: function* () { for (const ss of rs.scopeSpans) yield* ss.spans; } };
      }
      return;
    case 'metrics':
      for (const rm of (data as SignalData['metrics']).resourceMetrics) {
        yield { resource: rm.resource.attributes, items: function* () { for (const sm of rm.scopeMetrics) for (const m of sm.metrics) yield* m.data.dataPoints as Item[]; } };
      }
      return;
    case 'logs':
      for (const rl of (data as SignalData['logs']).resourceLogs) {
        yield { resource: rl.resource.attributes, items: function* () { for (const sl of rl.scopeLogs) yield* sl.logRecords; } };
      }
      return;
    default:
      for (const rp of (data as SignalData['profiles']).resourceProfiles) {
        yield { resource: rp.resource.attributes, items: function* () { for (const sp of rp.scopeProfiles) for (const p of sp.profiles) yield* p.samples; } };
      }
  }
}

export class K8sMetadataProcessor<S extends Signal> implements Processor<S> {
  readonly capabilities = { mutatesData: true };
  readonly #signal: S;
  readonly #next: Consumer<S>;
  readonly #core: Core;
  readonly #config: K8sMetadataConfig;
  readonly #associations: Counter;
  /** Attributes extracted per pod (and container) in the current batch: items of one pod share them. */
  readonly #extracted = new Map<string, Record<string, string>>();

  constructor(settings: CreateSettings, config: K8sMetadataConfig, signal: S, next: Consumer<S>) {
    this.#signal = signal;
    this.#next = next;
    this.#config = config;
    this.#core = coreFor(settings, config);
    this.#associations = settings.telemetry.counter('processor_k8s_metadata_associations', 'Resources, items and peers looked up, by level and whether a pod matched.', '{lookups}');
  }

  start(): Promise<void> {
    return this.#core.start();
  }

  shutdown(): Promise<void> {
    return this.#core.shutdown();
  }

  async consume(data: SignalData[S]): Promise<void> {
    const counts = new Map<string, number>();
    const count = (level: Level, matched: boolean) => {
      const k = `${level}|${matched}`;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    };
    const cache = new Map<string, Resolved | null>();
    this.#extracted.clear();
    const host = Object.entries(this.#core.hostAttributes);
    for (const group of groups(this.#signal, data)) {
      const r = this.#core.associator.resolve(group.resource, cache);
      if (r) this.#apply(group.resource, r);
      if (r || group.resource.length) count('resource', r?.pod !== undefined);
      for (const [k, v] of host) insert(group.resource, k, v);
      for (const item of group.items()) {
        const it = this.#core.associator.resolve(item.attributes, cache);
        if (it && !(r?.pod && it.pod?.pod.uid === r.pod.pod.uid && it.containerId === r.containerId)) {
          this.#apply(item.attributes, it);
          count('item', it.pod !== undefined);
        }
        if (this.#config.peer.enabled && this.#core.pods) {
          const found = this.#peer(item);
          if (found !== undefined) count('peer', found);
        }
      }
    }
    for (const [k, n] of counts) {
      const [level, matched] = k.split('|');
      this.#associations.add(n, { level, result: matched === 'true' ? 'matched' : 'unmatched' });
    }
    await this.#next.consume(data);
  }

  #apply(list: KeyValue[], r: Resolved): void {
    const extract = this.#config.extract;
    if (r.pod) {
      const key = `own\u0000${r.pod.pod.uid}\u0000${r.pod.container?.id ?? ''}`;
      let attrs = this.#extracted.get(key);
      if (!attrs) {
        attrs = this.#core.extractor.attributes(r.pod, extract.metadata, true);
        this.#extracted.set(key, attrs);
      }
      for (const [k, v] of Object.entries(attrs)) {
        if (k === 'service.name') this.#serviceName(list, v);
        else insert(list, k, v);
      }
    }
    if (r.containerId && extract.metadata.includes('container.id')) insert(list, 'container.id', r.containerId);
    if (r.process) {
      for (const key of extract.process) {
        const v = processValue(r.process, key);
        if (v !== undefined && v !== '') insert(list, key, v);
      }
    }
  }

  /** service.name from the workload when the source gave none (or the SDK's unknown_service default). */
  #serviceName(list: KeyValue[], name: string): void {
    const at = list.findIndex((kv) => kv.key === 'service.name');
    if (at < 0) list.push({ key: 'service.name', value: { stringValue: name } });
    else if (this.#config.extract.override_service_name || anyValueToString(list[at]!.value).startsWith('unknown_service')) list[at]!.value = { stringValue: name };
  }

  /** The peer's pod, from the item's peer address (and port, for host-network pods); undefined when the item names no peer. */
  #peer(item: Item): boolean | undefined {
    const c = this.#config.peer;
    const attrs = item.attributes;
    let address: string | undefined;
    let port: string | undefined;
    for (const a of c.address_attributes) if ((address = get(attrs, a)) !== undefined) break;
    for (const a of c.port_attributes) if ((port = get(attrs, a)) !== undefined) break;
    if (address === undefined && item.kind === SpanKind.CLIENT) [address, port] = [get(attrs, 'server.address'), get(attrs, 'server.port')];
    if (address === undefined && item.kind === SpanKind.SERVER) [address, port] = [get(attrs, 'client.address'), get(attrs, 'client.port')];
    if (address === undefined) return undefined;
    const pod = this.#core.pods!.byAddress(address, port === undefined ? undefined : Number(port));
    if (!pod) return false;
    const key = `peer\u0000${pod.uid}`;
    let attrsOfPeer = this.#extracted.get(key);
    if (!attrsOfPeer) {
      attrsOfPeer = this.#core.extractor.attributes({ pod }, c.metadata, false);
      this.#extracted.set(key, attrsOfPeer);
    }
    for (const [k, v] of Object.entries(attrsOfPeer)) insert(attrs, c.attribute_prefix + k, v);
    const service = attrsOfPeer['service.name'];
    if (c.set_peer_service && service) insert(attrs, 'peer.service', service);
    return true;
  }
}
