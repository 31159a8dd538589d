// A program of a loaded BpfObject, with one attach method per hook kind (implemented one file per
// kind in attach/, as cilium/ebpf does). Links are kept by the object: close() detaches them all.
import { attachPerfEvent, type PerfEventOptions } from './attach/perf-event.ts';
import { attachRawTracepoint } from './attach/raw-tracepoint.ts';
import type { AttachTarget } from './attach/target.ts';
import { attachTracepoint } from './attach/tracepoint.ts';
import { attachUprobe, type UprobeOptions } from './attach/uprobe.ts';
import { attachUsdt, type UsdtOptions } from './attach/usdt.ts';
import type { Link } from './link.ts';
import type { NativeObject, NativeProgramInfo } from './native.ts';

export class BpfProgram implements AttachTarget {
  readonly name: string;
  /** ELF section, e.g. "tracepoint/skb/kfree_skb". */
  readonly section: string;
  /** enum bpf_prog_type */
  readonly type: number;
  /** Kernel program id (`bpftool prog show`). */
  readonly id: number;
  readonly #native: () => NativeObject;
  readonly #track: (link: Link) => Link;
  // Keeps the object reachable while a program or link is.
  readonly #object: object;

  /** @internal BpfObject.program() makes these. */
  constructor(native: () => NativeObject, info: NativeProgramInfo, object: object, track: (link: Link) => Link) {
    this.#native = native;
    this.name = info.name;
    this.section = info.section;
    this.type = info.type;
    this.id = info.id;
    this.#object = object;
    this.#track = track;
  }

  /** @internal */
  native(): NativeObject {
    return this.#native();
  }

  /** @internal */
  get object(): object {
    return this.#object;
  }

  /** A tracepoint, e.g. attachTracepoint('skb', 'kfree_skb'). */
  attachTracepoint(category: string, name: string): Link {
    return this.#track(attachTracepoint(this, category, name));
  }

  /** A raw tracepoint, e.g. attachRawTracepoint('sys_enter'). */
  attachRawTracepoint(name: string): Link {
    return this.#track(attachRawTracepoint(this, name));
  }

  /** Sampling perf events on every online CPU (or options.cpus), by frequency or period. */
  attachPerfEvent(options: PerfEventOptions): Link {
    return this.#track(attachPerfEvent(this, options));
  }

  attachUprobe(options: UprobeOptions): Link {
    return this.#track(attachUprobe(this, options));
  }

  attachUsdt(options: UsdtOptions): Link {
    return this.#track(attachUsdt(this, options));
  }
}
