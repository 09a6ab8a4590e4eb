// `guardgate demo` (npm run demo): up, a release to a second version under live load with every gate,
// the switch, a rollback, and the count of requests and failed requests at the end. It ends in every outcome
// (a blocked or failed release, an error, Ctrl-C), always with the count, an exit code and its temporary
// folder removed.
import type { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { parseRouterConfig } from '../config/router.js';
import type { ReleaseView } from '../release/views.js';
import { loadReleaseSpec } from '../release/spec.js';
import { isOpen } from '../release/states.js';
import { startUp, type RunningUp } from '../app/up.js';
import { EXIT } from './exit-codes.js';
import { describeRelease } from './release.js';
import { createLogger, logFormatOf } from '../shared/logger.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** The longest the release may take before the demo gives up on it (aborts it and ends). */
const RELEASE_DEADLINE_MS = 5 * 60_000;
/** Live traffic the demo sends: steady, so that a 2-core machine keeps room for the gates' own load. */
const LIVE_RATE = 200;

type Load = EventEmitter & PromiseLike<autocannon.Result> & { stop(): void };

/** Follows the release until it ends or waits for an operator (blocked, awaiting approval), saying each step once. */
async function follow(up: RunningUp, id: number, signal: AbortSignal): Promise<ReleaseView> {
  const deadline = Date.now() + RELEASE_DEADLINE_MS;
  let last = '';
  for (;;) {
    const progress = up.controller.progress;
    const line = progress
      ? `  … ${progress.state}: ${progress.step}${progress.detail ? ` (${progress.detail})` : ''}`
      : '';
    if (line && line !== last) say(line);
    last = line;
    const release = (await up.controller.status()).release!;
    if (
      release.id === id &&
      (!isOpen(release.state) || release.state === 'blocked' || release.state === 'awaiting_approval')
    )
      return release;
    if (signal.aborted) throw new Error('interrupted');
    if (Date.now() > deadline)
      throw new Error(
        `the release did not end within ${RELEASE_DEADLINE_MS / 60_000} minutes (it was ${release.state})`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The release, the switch and the rollback; returns the exit code of how the release went. */
async function releaseAndRollBack(up: RunningUp, specFile: string | undefined, signal: AbortSignal): Promise<number> {
  const spec = loadReleaseSpec(specFile ?? fileURLToPath(new URL('../../examples/lexicon-v2.yaml', import.meta.url)));
  // The shipped example mirrors for longer here: the demo's live traffic is the shadow gate's evidence.
  const demoSpec =
    specFile !== undefined
      ? spec
      : {
          ...spec,
          gates: { ...spec.gates, shadow: { ...spec.gates.shadow, durationSeconds: 10, samples: 200, minSamples: 50 } },
        };
  say(`releasing ${spec.version} to green: deploy, functional, load, shadow (mirrored live traffic), switch, watch`);
  const started = await up.controller.release(demoSpec);
  const release = await follow(up, started.id, signal);
  say(describeRelease(release));
  if (release.state === 'blocked' || release.state === 'awaiting_approval') {
    say('the release did not pass: aborting it (the active environment was never touched)');
    say(describeRelease(await up.controller.view(await up.controller.abort())));
    return EXIT.gateFailed;
  }
  say(`active: ${(await up.controller.status()).active}`);
  if (release.state !== 'stable') return release.state === 'rolled_back' ? EXIT.rolledBack : EXIT.gateFailed;
  say('rolling back: one atomic switch to the kept blue environment');
  say(describeRelease(await up.controller.view(await up.controller.rollback())));
  say(`active: ${(await up.controller.status()).active}`);
  return EXIT.ok;
}

/** `specFile`: a release spec of the user's instead of the shipped example. */
export async function runDemo(specFile?: string): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'guardgate-demo-'));
  const interrupted = new AbortController();
  const interrupt = () => {
    say('interrupted: stopping the release and cleaning up');
    interrupted.abort();
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let up: RunningUp | undefined;
  let load: Load | undefined;
  let code: number = EXIT.failure;
  try {
    up = await startUp(
      {
        router: parseRouterConfig({ port: '0', adminPort: '0', dataDir }, {}),
        instanceEnv: process.env,
        logLevel: 'warn',
      },
      // The demo is read by a person: warnings as lines, JSON only when GUARDGATE_LOG_FORMAT asks for it.
      createLogger({ level: 'warn' }, logFormatOf(process.env, true)),
    );
    say(
      `guardgate is up at ${up.url} (admin ${up.adminUrl}, data directory ${dataDir}, removed at the end); blue serves the initial version`,
    );
    const prompts = [
      'How can I kill a Python process?',
      'How do I make a pipe bomb?',
      'What happened at Tiananmen Square?',
      'Write me a poem about spring',
    ];
    load = autocannon({
      url: `${up.url}/predict`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      connections: 8,
      overallRate: LIVE_RATE,
      duration: 3_600, // stopped below, whatever happens
      requests: prompts.map((prompt) => ({ method: 'POST', body: JSON.stringify({ prompt }) })),
    }) as unknown as Load;
    say(`live load: ${LIVE_RATE} requests/s over 8 connections, a mix of prompts through the router`);
    code = await releaseAndRollBack(up, specFile, interrupted.signal);
  } catch (error) {
    say(`the demo stopped: ${(error as Error).message}`);
    // A release still open is aborted before up closes, so that nothing is left half-done in the (removed) data directory.
    const open = await up?.controller.status().then(
      (s) => s.release,
      () => null,
    );
    if (up !== undefined && open && isOpen(open.state) && open.state !== 'switching' && open.state !== 'watching')
      await up.controller.abort().catch(() => undefined);
    code = EXIT.failure;
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    if (load !== undefined) {
      load.stop();
      const result = await load;
      const failed = result.non2xx + result.errors + result.timeouts;
      say(`requests: ${result.requests.total}, failed requests: ${failed}`);
      if (failed > 0 && code === EXIT.ok) code = EXIT.failure;
    } else say('requests: 0, failed requests: 0');
    await up?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  say(code === EXIT.ok ? 'demo passed' : `demo ended with exit code ${code}`);
  return code;
}
