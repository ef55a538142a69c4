/**
 * Calls admitted and not yet recorded, so a shutdown can wait for their records: closing the
 * server ends the connections, but a call cut at the deadline writes its record a moment later
 * (its upstream abort settles on a later tick), and the spend flush must come after that.
 */
export class InFlightCalls {
  private count = 0;
  private waiters: (() => void)[] = [];

  enter(): void {
    this.count += 1;
  }

  leave(): void {
    this.count = Math.max(0, this.count - 1);
    if (this.count === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  get size(): number {
    return this.count;
  }

  /** Resolves when no call is in flight, or after `timeoutMs` at the latest (false then). */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve(false);
      }, timeoutMs);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }
}
