// What `up` waits for before it says it is up: the traffic routes to the active color (an instance passed the
// router's checks, or the Service or route has a ready pod and took it in). A restart on a busy machine, or an
// adopted pod not yet ready, would otherwise be announced while requests get 503. Past its deadline the wait says
// why and goes on: the admin API is up by then, and an operator can act.
import type { Logger } from 'pino';
import type { Traffic } from './traffic.js';

/** How long, and how often, `up` asks whether the active color serves. */
export interface ServingWait {
  timeoutMs: number;
  pollMs: number;
}

export const SERVING_WAIT: ServingWait = { timeoutMs: 30_000, pollMs: 250 };

/** True once the traffic routes to its active color; false past the deadline, said in the log with the last error. */
export async function untilServing(traffic: Traffic, log: Logger, wait: ServingWait = SERVING_WAIT): Promise<boolean> {
  const color = traffic.active;
  const deadline = Date.now() + wait.timeoutMs;
  let waited = false;
  let lastError: string | undefined;
  for (;;) {
    const count = await traffic.healthyCount(color).catch((error: Error) => {
      lastError = error.message;
      return 0;
    });
    if (count > 0) break;
    if (Date.now() >= deadline) {
      log.error(
        { color, waitedMs: wait.timeoutMs, ...(lastError === undefined ? {} : { lastError }) },
        lastError === undefined
          ? 'the active color has no instance that passes the health checks: requests are refused until one does'
          : 'could not see whether the active color serves: requests may be refused until it does',
      );
      return false;
    }
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, wait.pollMs));
  }
  // Ready only now: the switch at start had no ready pod to wait for the Service's endpoints or the route to take in.
  // Asked again, it waits for them; if it cannot (an API call failing), that is said, and the start goes on.
  if (waited && traffic.active === color)
    await traffic
      .switchTo(color, { force: true })
      .catch((error: Error) =>
        log.warn(
          { color, err: error },
          'the active color serves, but the switch to it could not be confirmed again: clients may wait for it to propagate',
        ),
      );
  return true;
}
