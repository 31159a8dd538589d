// A program's attachment. destroy() detaches it now; BpfObject.close() detaches every link of the
// object; a dying process detaches them all by itself (each link is an fd the kernel closes).
import type { NativeLink } from './native.ts';

export class Link {
  /** What it is attached to, e.g. "tracepoint skb:kfree_skb". */
  readonly description: string;
  readonly #native: NativeLink;
  // Keeps the program (and so its object) reachable for as long as the link is.
  readonly #owner: object;

  /** @internal made by the attach functions in attach/. */
  constructor(native: NativeLink, description: string, owner: object) {
    this.#native = native;
    this.description = description;
    this.#owner = owner;
  }

  get attached(): boolean {
    return this.#native.attached();
  }

  /** Kernel bpf_link ids (`bpftool link show`); 0 for an attachment that is a bare perf event fd. */
  linkIds(): number[] {
    return this.#native.info().map((l) => l.id);
  }

  /** Detaches. Idempotent. */
  destroy(): void {
    this.#native.destroy();
  }

  /** @internal */
  get owner(): object {
    return this.#owner;
  }
}
