/**
 * At most one run at a time and one waiting: while a run is going, every trigger shares a single follow-up run
 * (it starts after the current one with the reason of the first trigger that asked for it).
 */
export class TriggerCoalescer<T> {
  #running: Promise<T> | null = null;
  #pending: Promise<T> | null = null;
  #closed = false;

  /** `run` must never reject; `skipped` answers triggers after `close()`. */
  constructor(
    private readonly run: (reason: string) => Promise<T>,
    private readonly skipped: T,
  ) {}

  get running(): boolean {
    return this.#running !== null;
  }

  get pending(): boolean {
    return this.#pending !== null;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Asks for a run; resolves with the outcome of the run that covers this trigger. */
  trigger(reason: string): Promise<T> {
    if (this.#closed) return Promise.resolve(this.skipped);
    if (this.#pending) return this.#pending;
    if (!this.#running) return this.#start(reason);
    this.#pending = this.#running.then(() => {
      this.#pending = null;
      return this.#closed ? this.skipped : this.#start(reason);
    });
    return this.#pending;
  }

  #start(reason: string): Promise<T> {
    const run = this.run(reason).finally(() => {
      if (this.#running === run) this.#running = null;
    });
    this.#running = run;
    return run;
  }

  /** Resolves once no run goes or waits. */
  async settled(): Promise<void> {
    while (this.#running || this.#pending) await (this.#pending ?? this.#running);
  }

  /** Refuses new triggers at once, then waits for the running and pending runs. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#pending;
    await this.#running;
  }
}
