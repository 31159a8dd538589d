// Sends a receiver does not wait for (per-event logs from a ring buffer callback), tracked so that
// shutdown can wait until each is accepted or refused. A refusal is handed to `onError`, never thrown.
export class InFlight {
  readonly #pending = new Set<Promise<void>>();

  track(send: Promise<unknown>, onError: (error: unknown) => void): void {
    const p: Promise<void> = send.then(
      () => undefined,
      (error: unknown) => onError(error),
    ).finally(() => this.#pending.delete(p));
    this.#pending.add(p);
  }

  /** Resolves once every send tracked so far has settled. */
  async settled(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
