// One instance behind several per-signal creations, as the Collector's sharedcomponent:
// the otlp receiver, say, serves traces, metrics and logs on one port. Start runs once, on
// the first start; shutdown runs once, on the first shutdown, and forgets the instance.
import type { Component, Host } from './component.ts';

export class SharedComponents<T extends Component> {
  private readonly instances = new Map<string, { component: T; started?: Promise<void>; stopped?: Promise<void> }>();

  /** The instance for `key`, made by `create` the first time. */
  getOrCreate(key: string, create: () => T): { component: T; handle: Component } {
    let entry = this.instances.get(key);
    if (!entry) {
      entry = { component: create() };
      this.instances.set(key, entry);
    }
    const e = entry;
    const handle: Component = {
      start: (host: Host) => (e.started ??= e.component.start(host)),
      shutdown: () => {
        this.instances.delete(key);
        return (e.stopped ??= e.component.shutdown());
      },
    };
    return { component: e.component, handle };
  }
}
