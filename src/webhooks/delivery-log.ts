/** A bounded set of recently seen delivery ids (oldest forgotten first). */
export class DeliveryLog {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 1000) {}

  /** Records `id`; returns true when it had been seen before. */
  seen(id: string): boolean {
    if (this.ids.has(id)) {
      // Refresh its position so a redelivered id stays remembered.
      this.ids.delete(id);
      this.ids.add(id);
      return true;
    }
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
    return false;
  }
}
