// Names of the kernel's drop and reset reasons, read from the running kernel's BTF (enum
// skb_drop_reason, enum sk_rst_reason): a newer kernel's new reasons show up by their own name.
import { kernelEnumNames } from '../../src/bpf/btf.ts';

export class ReasonNames {
  readonly #drops: Map<number, string>;
  readonly #resets: Map<number, string>;

  constructor() {
    this.#drops = kernelEnumNames('skb_drop_reason', 'SKB_DROP_REASON_');
    // Kernels before 6.10 have no reset reasons: every reset is then NOT_SPECIFIED (reason 0).
    try {
      this.#resets = kernelEnumNames('sk_rst_reason', 'SK_RST_REASON_');
    } catch {
      this.#resets = new Map([[0, 'NOT_SPECIFIED']]);
    }
  }

  /** `NO_SOCKET`, `NETFILTER_DROP`...; `UNKNOWN_<n>` for a value the kernel's BTF does not name. */
  drop(value: number): string {
    return this.#drops.get(value) ?? `UNKNOWN_${value}`;
  }

  reset(value: number): string {
    return this.#resets.get(value) ?? `UNKNOWN_${value}`;
  }
}
