// Tell of a repeated event at most once per interval, with how many there were: a log that one line per event
// would flood (refused requests, a failing disk) stays readable and bounded.

/** Counts a repeated event and says when to tell of it. */
export class Tally {
  private count = 0;
  private toldAt = -Infinity;

  constructor(private readonly intervalMs: number) {}

  /** Count one; when it is time to tell, how many since the last telling (this one included), else undefined. */
  add(now = performance.now()): number | undefined {
    this.count++;
    if (now - this.toldAt < this.intervalMs) return undefined;
    this.toldAt = now;
    const count = this.count;
    this.count = 0;
    return count;
  }
}
