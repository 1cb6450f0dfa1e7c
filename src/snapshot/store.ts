/** The live snapshot: atomic swap and promotion listeners. */
import { diffSnapshots } from './build.js';
import type { Promotion, Snapshot } from './types.js';

/** Called after a new snapshot is live. */
export type PromotionListener = (promotion: Promotion) => void;

/** Holds the served snapshot. Readers take `current` once per request and never see a half-built one. */
export class SnapshotStore {
  private snapshot: Snapshot | null = null;
  private promoted: string | null = null;
  private lastPromotion: Promotion | null = null;
  private readonly listeners = new Set<PromotionListener>();

  constructor(private readonly now: () => Date = () => new Date()) {}

  /** The served snapshot, or null before the first one is loaded. */
  get current(): Snapshot | null {
    return this.snapshot;
  }

  /** ISO time the current snapshot went live. */
  get promotedAt(): string | null {
    return this.promoted;
  }

  /** The last promotion (null before the first). */
  get last(): Promotion | null {
    return this.lastPromotion;
  }

  /**
   * Makes `snapshot` live, then tells every listener which pairs changed. Returns the promotion. `promotedAt`
   * keeps the original time of a snapshot restored from disk.
   */
  promote(snapshot: Snapshot, promotedAt?: string): Promotion {
    const previous = this.snapshot;
    const changed = diffSnapshots(previous, snapshot);
    this.snapshot = snapshot;
    this.promoted = promotedAt ?? this.now().toISOString();
    const promotion: Promotion = {
      commit: snapshot.commit,
      previousCommit: previous?.commit ?? null,
      changed,
      promotedAt: this.promoted,
    };
    this.lastPromotion = promotion;
    for (const listener of [...this.listeners]) {
      try {
        listener(promotion);
      } catch {
        // A failing listener must not block the others nor undo the promotion.
      }
    }
    return promotion;
  }

  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: PromotionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
