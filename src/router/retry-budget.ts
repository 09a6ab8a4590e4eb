// A retry budget: retries may add at most `ratio` of the recent request rate (with a small floor),
// so that a failing pool cannot make retries snowball.

/** How many retries the router may spend, as a share of requests. */
export interface RetryBudgetOptions {
  /** Retries allowed per request seen in the window: 0.2 lets retries add 20% load at most. */
  ratio: number;
  /** Retries always allowed per second, so that low traffic can still retry. */
  minPerSecond: number;
  /** Length of the sliding window. */
  windowSeconds: number;
}

/** Retries as a bounded share of recent requests: a failing color is not hammered. */
export class RetryBudget {
  private readonly requests: number[];
  private readonly retries: number[];
  private slot = 0;
  private slotSecond = 0;

  constructor(
    private readonly options: RetryBudgetOptions,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.requests = new Array<number>(options.windowSeconds).fill(0);
    this.retries = new Array<number>(options.windowSeconds).fill(0);
    this.slotSecond = Math.floor(this.now() / 1000);
  }

  private advance(): void {
    const second = Math.floor(this.now() / 1000);
    const steps = Math.min(second - this.slotSecond, this.options.windowSeconds);
    for (let i = 0; i < steps; i++) {
      this.slot = (this.slot + 1) % this.options.windowSeconds;
      this.requests[this.slot] = 0;
      this.retries[this.slot] = 0;
    }
    if (steps > 0) this.slotSecond = second;
  }

  recordRequest(): void {
    this.advance();
    this.requests[this.slot]!++;
  }

  /** Take one retry from the budget if there is one left. */
  tryRetry(): boolean {
    this.advance();
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const allowed = Math.max(
      this.options.minPerSecond * this.options.windowSeconds,
      this.options.ratio * sum(this.requests),
    );
    if (sum(this.retries) >= allowed) return false;
    this.retries[this.slot]!++;
    return true;
  }
}
