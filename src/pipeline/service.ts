// Starts and stops a built graph: extensions first, then the graph's nodes downstream first
// (exporters, connectors, processors from the back of each pipeline, receivers); stopping runs
// the reverse, so receivers stop first and what processors hold drains downstream.
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
    return [...this.graph.extensions, ...this.graph.nodes];
  }

  /** Starts everything; on a failure, stops what had started and rejects with the cause. */
  async start(): Promise<void> {
    this.stateValue = 'starting';
    const host: Host = { getExtension: (id): Extension | undefined => this.graph.extensionsById.get(id) };
    for (const node of this.startOrder()) {
      this.logger.debug('starting', { component: node.label });
      const began = performance.now();
      try {
        await node.component.start(host);
        // Receivers are what attach to the kernel or bind ports: say each one as it is ready.
        const ms = Math.round(performance.now() - began);
        if (node.label.startsWith('receiver ')) this.logger.info(`${node.label} started`, { duration_ms: ms });
        else this.logger.debug(`${node.label} started`, { duration_ms: ms });
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
      await this.stopNodes([...this.startOrder()].reverse().filter((n) => this.started.includes(n)));
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
