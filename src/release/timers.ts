// Timers keyed by color that may wait longer than setTimeout can (2^31-1 ms, 24.8 days: a longer delay fires at
// once), in steps; unref'd, so that they never keep the process up.
import type { Color } from '../vocabulary/colors.js';

/** setTimeout's longest delay. */
const MAX_TIMER_MS = 2_147_483_647;

/** One timer per color, of any length. */
export class ColorTimers {
  private readonly timers = new Map<Color, NodeJS.Timeout>();

  /** Run `due` once `delayMs` has passed; a timer already set for the color is replaced. */
  set(color: Color, delayMs: number, due: () => void): void {
    this.cancel(color);
    const step = Math.min(delayMs, MAX_TIMER_MS);
    const timer = setTimeout(() => {
      this.timers.delete(color);
      if (delayMs > step) this.set(color, delayMs - step, due);
      else due();
    }, step);
    timer.unref();
    this.timers.set(color, timer);
  }

  cancel(color: Color): void {
    clearTimeout(this.timers.get(color));
    this.timers.delete(color);
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}
