/**
 * "Records changed": how an admin write on one instance reaches the others at once instead of at
 * their next poll. The signal carries no data — a receiver re-reads the store (the system of
 * record), so a lost or duplicated signal costs at most one extra read, never a wrong cache.
 */
export interface ChangeSignal {
  /** Start listening; rejects when the transport cannot be reached now. */
  start(): Promise<void>;
  /** Tell the other instances (coalesced: many calls in one tick send one message). */
  publish(): void;
  /** `listener` runs when another instance published, and after a reconnect (signals may have been missed). */
  subscribe(listener: () => void): void;
  close(): Promise<void>;
}

/** The listeners of one signal: each is called, and one that throws does not keep the others from refreshing. */
export class ChangeListeners {
  private readonly listeners: (() => void)[] = [];

  add(listener: () => void): void {
    this.listeners.push(listener);
  }

  notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // The others still refresh.
      }
    }
  }
}
