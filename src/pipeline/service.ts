// Starts and stops a built graph in the Collector's order: extensions, exporters, processors,
// receivers up; receivers first down, then processors from the front of each pipeline (so what
// they hold drains downstream), then exporters, then extensions.
import type { Component, Extension, Host } from '../component/component.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { Graph, Node } from './graph.ts';

export type ServiceState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

export class Service {
  private readonly graph: Graph;
  private readonly logger: Logger;
  private readonly started: Node[] = [];
  private stopping?: Promise<void>;
  private stateValue: ServiceState = 'created';

  constructor(graph: Graph, logger: Logger) {
    this.graph = graph;
    this.logger = logger;
  }

  get state(): ServiceState {
    return this.stateValue;
  }

  private startOrder(): Node[] {
    const processorsLastFirst = [...this.graph.processors].flatMap((p) => [...p].reverse());
    return [...this.graph.extensions, ...this.graph.exporters, ...processorsLastFirst, ...this.graph.receivers];
  }

  /** Starts everything; on a failure, stops what had started and rejects with the cause. */
  async start(): Promise<void> {
    this.stateValue = 'starting';
    const host: Host = { getExtension: (id): Extension | undefined => this.graph.extensionsById.get(id) };
    for (const node of this.startOrder()) {
      this.logger.debug('starting', { component: node.label });
      try {
        await node.component.start(host);
      } catch (error) {
        this.stateValue = 'failed';
        this.logger.error('start failed', { component: node.label, error: String(error) });
        await this.stopNodes([...this.started].reverse());
        throw new Error(`${node.label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      this.started.push(node);
    }
    this.stateValue = 'running';
  }

  /** Stops everything once, draining what is in flight; safe to call again and before start. */
  shutdown(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.stateValue !== 'failed') this.stateValue = 'stopping';
      const order = [
        ...this.graph.receivers,
        ...this.graph.processors.flat(),
        ...this.graph.exporters,
        ...[...this.graph.extensions].reverse(),
      ];
      await this.stopNodes(order.filter((n) => this.started.includes(n)));
      if (this.stateValue !== 'failed') this.stateValue = 'stopped';
    })();
    return this.stopping;
  }

  private async stopNodes(nodes: Node[]): Promise<void> {
    for (const node of nodes) {
      try {
        await node.component.shutdown();
      } catch (error) {
        this.logger.error('shutdown failed', { component: node.label, error: String(error) });
      }
    }
  }
}

export type { Component };
