/**
 * Who runs what: per environment, the client ids seen with the commit each was last served and when. Bounded
 * (entries per environment, oldest first out) and expiring (entries older than the TTL are dropped on reads and
 * on sweeps), so a flood of made-up ids costs a fixed amount of memory.
 */

/** One client of an environment. */
export interface ClientEntry {
  commit: string;
  /** Last time it was served (ms since the epoch). */
  lastSeen: number;
}

export interface InventoryOptions {
  /** Client ids kept per environment (default 50,000). */
  maxEntries?: number;
  /** Forget a client not seen for this long (default 1 hour). */
  ttlMs?: number;
  /** Longest accepted client id; longer ids are cut (default 128). */
  maxIdLength?: number;
}

export class ClientInventory {
  private readonly envs = new Map<string, Map<string, ClientEntry>>();
  private lastSweep = 0;
  readonly maxEntries: number;
  readonly ttlMs: number;
  readonly maxIdLength: number;

  constructor(
    options: InventoryOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxEntries = options.maxEntries ?? 50_000;
    this.ttlMs = options.ttlMs ?? 3_600_000;
    this.maxIdLength = options.maxIdLength ?? 128;
  }

  /** Records that `clientId` was served `commit` in `env`. */
  seen(env: string, clientId: string, commit: string): void {
    let clients = this.envs.get(env);
    if (!clients) this.envs.set(env, (clients = new Map()));
    const id = clientId.length > this.maxIdLength ? clientId.slice(0, this.maxIdLength) : clientId;
    const t = this.now();
    const entry = clients.get(id);
    if (entry) {
      entry.commit = commit;
      // Re-inserted (to the young end) only now and then: a Map delete + set on every read costs throughput.
      if (t - entry.lastSeen > this.ttlMs / 4) {
        clients.delete(id);
        clients.set(id, entry);
      }
      entry.lastSeen = t;
      return;
    }
    clients.set(id, { commit, lastSeen: t });
    if (clients.size > this.maxEntries) {
      // A full sweep at most once per tenth of the TTL: a flood of new ids must not sweep on every insert.
      if (t - this.lastSweep > this.ttlMs / 10) {
        this.lastSweep = t;
        this.sweep(clients, t);
      }
      // Still full: the oldest entries go.
      for (const key of clients.keys()) {
        if (clients.size <= this.maxEntries) break;
        clients.delete(key);
      }
    }
  }

  /** The live clients of `env`, most recently seen first. */
  list(env: string): Array<{ id: string } & ClientEntry> {
    const clients = this.envs.get(env);
    if (!clients) return [];
    this.sweep(clients, this.now());
    return [...clients]
      .map(([id, e]) => ({ id, commit: e.commit, lastSeen: e.lastSeen }))
      .sort((a, b) => b.lastSeen - a.lastSeen || a.id.localeCompare(b.id));
  }

  /** Live clients of `env` per commit. */
  countByCommit(env: string): Map<string, number> {
    const counts = new Map<string, number>();
    const clients = this.envs.get(env);
    if (!clients) return counts;
    this.sweep(clients, this.now());
    for (const e of clients.values()) counts.set(e.commit, (counts.get(e.commit) ?? 0) + 1);
    return counts;
  }

  /** Environments with live clients. */
  environments(): string[] {
    return [...this.envs.keys()].sort();
  }

  /** Number of entries held (all environments). */
  get size(): number {
    let n = 0;
    for (const clients of this.envs.values()) n += clients.size;
    return n;
  }

  private sweep(clients: Map<string, ClientEntry>, t: number): void {
    for (const [id, e] of clients) if (t - e.lastSeen > this.ttlMs) clients.delete(id);
  }
}
