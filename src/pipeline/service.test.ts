import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Component } from '../component/component.ts';
import { nopLogger } from '../telemetry/logger.ts';
import type { Graph, Node } from './graph.ts';
import { Service } from './service.ts';

function graphRecording(events: string[], failOn?: string): Graph {
  const node = (name: string): Node => {
    const component: Component = {
      async start() {
        if (name === failOn) throw new Error(`${name} cannot start`);
        events.push(`start ${name}`);
      },
      async shutdown() {
        events.push(`stop ${name}`);
      },
    };
    return { label: name, component };
  };
  // Downstream first, as the graph builder records them.
  return { extensions: [node('ext')], nodes: [node('exp'), node('p2'), node('p1'), node('recv')], extensionsById: new Map() };
}

describe('service lifecycle', () => {
  it('starts extensions, exporters, processors (last first), receivers; stops in reverse, pipelines from the front', async () => {
    const events: string[] = [];
    const service = new Service(graphRecording(events), nopLogger);
    await service.start();
    assert.equal(service.state, 'running');
    await service.shutdown();
    await service.shutdown();
    assert.deepEqual(events, ['start ext', 'start exp', 'start p2', 'start p1', 'start recv', 'stop recv', 'stop p1', 'stop p2', 'stop exp', 'stop ext']);
    assert.equal(service.state, 'stopped');
  });

  it('a failed start stops what had started and names the component', async () => {
    const events: string[] = [];
    const service = new Service(graphRecording(events, 'p1'), nopLogger);
    await assert.rejects(service.start(), /p1: p1 cannot start/);
    assert.deepEqual(events, ['start ext', 'start exp', 'start p2', 'stop p2', 'stop exp', 'stop ext']);
    assert.equal(service.state, 'failed');
  });

  it('shutdown before start is safe', async () => {
    const events: string[] = [];
    await new Service(graphRecording(events), nopLogger).shutdown();
    assert.deepEqual(events, []);
  });
});
