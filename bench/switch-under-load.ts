// Zero failed requests across switches: load from autocannon (in this process; the router and the
// instances are processes of their own) while the active color flips blue/green at least 100 times.
// Prints total requests, non-2xx, socket errors, p50 and p99. The figure that matters: 0 failed.
// Run (after npm run build): npx tsx bench/switch-under-load.ts [--flips 120] [--interval-ms 100] [--connections 32]
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { argValue } from './load.js';

const flips = argValue('flips', 120);
const intervalMs = argValue('interval-ms', 100);
const connections = argValue('connections', 32);
const token = 'bench-admin-token-0123456789';
const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const children: ChildProcess[] = [];

/** Start `guardgate <args>` and wait for the JSON log line `msg`; return that line. */
function start(args: string[], msg: string): Promise<Record<string, string>> {
  const child = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, GUARDGATE_ADMIN_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n'))
        if (line.includes(`"msg":"${msg}"`)) resolve(JSON.parse(line) as Record<string, string>);
      buffer = buffer.slice(buffer.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`guardgate ${args[0]} exited with ${code}`)));
  });
}

try {
  const [blue, green] = await Promise.all(
    (['blue', 'green'] as const).map((color, i) =>
      start(
        ['serve', '--port', '0', '--color', color, '--service-version', `v${i + 1}`],
        'guardgate instance listening',
      ),
    ),
  );
  const router = await start(
    [
      'router',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--blue',
      blue!.url!,
      '--green',
      green!.url!,
      '--blue-version',
      'v1',
      '--green-version',
      'v2',
    ],
    'guardgate router ready',
  );
  const seconds = Math.ceil((flips * intervalMs) / 1000) + 2;
  const load = autocannon({
    url: `${router.url}/predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt: 'How can I kill a Python process that hangs?' }),
    connections,
    duration: seconds,
  });
  await new Promise((r) => setTimeout(r, 1_000));
  let done = 0;
  let refused = 0;
  for (; done < flips; done++) {
    const response = await fetch(`${router.adminUrl}/admin/switch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ color: done % 2 === 0 ? 'green' : 'blue' }),
    });
    if (response.status !== 200) refused++;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const result = await load;
  const failed = result.non2xx + result.errors + result.timeouts;
  console.log(
    `switches: ${done} (${refused} refused) every ${intervalMs} ms, ${connections} connections, ${seconds} s`,
  );
  console.log(`requests: ${result.requests.total}  (${result.requests.average.toFixed(0)} req/s)`);
  console.log(`non-2xx: ${result.non2xx}  socket errors: ${result.errors}  timeouts: ${result.timeouts}`);
  console.log(`latency p50 ${result.latency.p50} ms  p99 ${result.latency.p99} ms  max ${result.latency.max} ms`);
  console.log(`failed requests: ${failed}`);
  process.exitCode = failed === 0 && refused === 0 ? 0 : 1;
} finally {
  for (const child of children) child.kill('SIGTERM');
}
