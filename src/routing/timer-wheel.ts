/**
 * One shared, coarse timer for the deadlines of the hot path (attempt deadlines, stream idle
 * checks). A deadline is an entry in a slot of `tickMs`; a single unref'd Node timer is armed for
 * the earliest slot. Scheduling is a Map lookup and a Set insert, cancelling a Set delete: no
 * per-attempt `setTimeout`, no `Promise.race`. Deadlines fire up to one tick late, never early —
 * fine for timeouts measured in seconds, and the tick is small enough for tests' 10 ms ones.
 */

export interface WheelTimer {
  cancel(): void;
}

class Entry implements WheelTimer {
  constructor(
    readonly wheel: TimerWheel,
    readonly slot: number,
    readonly fire: () => void,
  ) {}

  cancel(): void {
    this.wheel.remove(this);
  }
}

export class TimerWheel {
  private readonly slots = new Map<number, Set<Entry>>();
  private timer: NodeJS.Timeout | undefined;
  /** The slot the Node timer is armed for (Infinity: not armed). */
  private armedSlot = Infinity;

  constructor(
    private readonly tickMs = 5,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Run `fire` once, no sooner than `ms` from now (rounded up to the next tick). */
  schedule(ms: number, fire: () => void): WheelTimer {
    const slot = Math.ceil((this.now() + ms) / this.tickMs);
    const entry = new Entry(this, slot, fire);
    let set = this.slots.get(slot);
    if (set === undefined) {
      set = new Set();
      this.slots.set(slot, set);
    }
    set.add(entry);
    if (slot < this.armedSlot) this.arm(slot);
    return entry;
  }

  /** Entries waiting (for tests and diagnostics). */
  get size(): number {
    let n = 0;
    for (const set of this.slots.values()) n += set.size;
    return n;
  }

  remove(entry: Entry): void {
    const set = this.slots.get(entry.slot);
    if (set === undefined || !set.delete(entry)) return;
    if (set.size === 0) this.slots.delete(entry.slot);
    // The armed timer is left as it is: firing into an empty slot costs less than re-arming.
  }

  private arm(slot: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedSlot = slot;
    this.timer = setTimeout(() => this.tick(), Math.max(0, slot * this.tickMs - this.now()));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    this.armedSlot = Infinity;
    const current = Math.floor(this.now() / this.tickMs);
    let next = Infinity;
    const due: Entry[] = [];
    for (const [slot, set] of this.slots) {
      if (slot <= current) {
        for (const entry of set) due.push(entry);
        this.slots.delete(slot);
      } else if (slot < next) next = slot;
    }
    if (next !== Infinity) this.arm(next);
    for (const entry of due) entry.fire();
  }
}

/** The process's wheel: every call's deadlines share its one timer. */
export const sharedWheel = new TimerWheel();
