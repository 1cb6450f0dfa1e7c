/** The order in which the client first saw commits: what "older" means for a client that cannot read git. */

/** How many commits are remembered. */
const MAX_REMEMBERED_COMMITS = 1000;

export class CommitOrder {
  readonly #order = new Map<string, number>();
  #next = 0;
  #newest?: string;

  /** The newest full commit id seen: sent as `Gitcfg-Min-Commit`, so another replica never answers with an older one. */
  get newest(): string | undefined {
    return this.#newest;
  }

  /** The order of `commit` (numbered on first sight); -1 for no commit. */
  observe(commit: string | undefined): number {
    if (commit === undefined) return -1;
    let order = this.#order.get(commit);
    if (order === undefined) {
      order = this.#next++;
      this.#order.set(commit, order);
      if (/^[0-9a-f]{40}$/.test(commit)) this.#newest = commit;
      // Bounded memory for long-lived services: forget the oldest commits (a Map iterates in insertion order).
      if (this.#order.size > MAX_REMEMBERED_COMMITS) {
        this.#order.delete(this.#order.keys().next().value as string);
      }
    }
    return order;
  }
}
