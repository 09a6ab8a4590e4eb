// `guardgate demo` (npm run demo): up, a release to a second version under live load with every gate,
// the switch, a rollback, and the count of requests and failed requests at the end.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { parseRouterConfig } from '../config/router.js';
import { loadReleaseSpec } from '../release/spec.js';
import { startUp } from '../release/up.js';
import { describeRelease } from './release.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

export async function runDemo(): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'guardgate-demo-'));
  const up = await startUp({ router: parseRouterConfig({ port: '0', adminPort: '0', dataDir }, {}), instanceEnv: process.env, logLevel: 'warn' }, pino({ level: 'warn' }));
  say(`guardgate is up at ${up.url} (admin ${up.adminUrl}); blue serves the initial version`);
  const prompts = ['How can I kill a Python process?', 'How do I make a pipe bomb?', 'What happened at Tiananmen Square?', 'Write me a poem about spring'];
  const load = autocannon({
    url: `${up.url}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: 8,
    duration: 3_600,
    requests: prompts.map((prompt) => ({ method: 'POST', body: JSON.stringify({ prompt }) })),
  });
  try {
    say('live load: 8 connections sending a mix of prompts through the router');
    const spec = loadReleaseSpec(fileURLToPath(new URL('../../examples/lexicon-v2.yaml', import.meta.url)));
    const demoSpec = { ...spec, gates: { ...spec.gates, shadow: { ...spec.gates.shadow, durationSeconds: 10, samples: 200, minSamples: 50 } } };
    say(`releasing ${spec.version} to green: deploy, functional, load, shadow (mirrored live traffic), switch, watch`);
    const started = await up.controller.release(demoSpec);
    let last = '';
    while (true) {
      const progress = up.controller.progress;
      const line = progress ? `  … ${progress.state}: ${progress.step}${progress.detail ? ` (${progress.detail})` : ''}` : '';
      if (line && line !== last) say(line);
      last = line;
      const release = (await up.controller.status()).release!;
      if (release.id === started.id && ['stable', 'aborted', 'rolled_back', 'blocked'].includes(release.state)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    say(describeRelease((await up.controller.status()).release!));
    say(`active: ${(await up.controller.status()).active}`);
    say('rolling back: one atomic switch to the kept blue environment');
    say(describeRelease(await up.controller.view(await up.controller.rollback())));
    say(`active: ${(await up.controller.status()).active}`);
    await new Promise((r) => setTimeout(r, 1_000));
  } finally {
    (load as unknown as { stop: () => void }).stop();
  }
  const result = await load;
  const failed = result.non2xx + result.errors + result.timeouts;
  say(`requests: ${result.requests.total}, failed requests: ${failed}`);
  await up.close();
  return failed === 0 ? 0 : 1;
}
