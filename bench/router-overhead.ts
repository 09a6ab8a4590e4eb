// Router overhead: one trivial upstream, the same load (wrk from Debian, in its own process) sent
// directly, through the guardgate router, and through nginx (proxy_pass with upstream keep-alive), in one
// run with alternating rounds. Prints req/s, p50 and p99 of each and the ratios router/nginx and router/direct.
// --workers N runs the router as N processes (node:cluster) and nginx with N workers.
// Run: npx tsx bench/router-overhead.ts [--seconds 8] [--connections 32] [--rounds 3] [--workers 1]
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { argValue, median, startServerProcess } from './load.js';

const run = promisify(execFile);
const seconds = argValue('seconds', 8);
const connections = argValue('connections', 32);
const rounds = argValue('rounds', 3);
const workers = argValue('workers', 1);
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const cli = here('../dist/cli/main.js');

for (const tool of ['wrk', 'nginx']) {
  try {
    await run('sh', ['-c', `command -v ${tool}`]);
  } catch {
    console.error(`${tool} is not installed: apt-get install -y wrk nginx-light`);
    process.exit(2);
  }
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** wrk's --latency report: Requests/sec and the 50% and 99% lines, in ms. */
async function wrk(url: string): Promise<Figures> {
  const { stdout } = await run('wrk', ['-t', '1', '-c', String(connections), '-d', `${seconds}s`, '--latency', '-s', here('./fixtures/post.lua'), url]);
  const ms = (label: string) => {
    const match = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout);
    if (match === null) return NaN;
    const value = Number(match[1]);
    return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50: ms('50'),
    p99: ms('99'),
    errors: (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
  };
}

async function startNginx(upstream: string): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'guardgate-nginx-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes ${workers};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream instances { server ${new URL(upstream).host}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://instances; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  const child = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGQUIT') };
}

const upstream = await startServerProcess(here('./fixtures/trivial-upstream.ts'), []);
const router = spawn(process.execPath, [cli, 'router', '--port', '0', '--admin-port', '0', '--blue', upstream.url, '--workers', String(workers), '--log-level', 'info'], {
  env: { ...process.env, GUARDGATE_ADMIN_TOKEN: 'bench-admin-token-0123456789' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const routerUrl = await new Promise<string>((resolve) => {
  let out = '';
  router.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const match = /"msg":"guardgate router ready"/.test(out) ? /"url":"([^"]+)"/.exec(out) : null;
    if (match) resolve(match[1]!);
  });
});
const nginx = await startNginx(upstream.url);

const targets = { direct: upstream.url, router: routerUrl, nginx: nginx.url } as const;
const results: Record<keyof typeof targets, Figures[]> = { direct: [], router: [], nginx: [] };
try {
  for (const url of Object.values(targets)) await wrk(`${url}/predict`); // warm up
  for (let round = 1; round <= rounds; round++) {
    for (const [name, url] of Object.entries(targets) as Array<[keyof typeof targets, string]>) {
      const figures = await wrk(`${url}/predict`);
      results[name].push(figures);
      console.log(`round ${round} ${name.padEnd(7)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50.toFixed(2)} ms  p99 ${figures.p99.toFixed(2)} ms  errors ${figures.errors}`);
    }
  }
} finally {
  nginx.stop();
  router.kill('SIGTERM');
  await upstream.stop();
}

const summary = (name: keyof typeof targets) => ({
  rps: median(results[name].map((r) => r.rps)),
  p50: median(results[name].map((r) => r.p50)),
  p99: median(results[name].map((r) => r.p99)),
});
const s = { direct: summary('direct'), router: summary('router'), nginx: summary('nginx') };
console.log(`\nmedian of ${rounds} rounds; wrk 1 thread, ${connections} connections, ${seconds} s; router and nginx ${workers} worker(s) each; 2 cores shared by all`);
for (const name of ['direct', 'router', 'nginx'] as const) {
  console.log(`${name.padEnd(7)} ${s[name].rps.toFixed(0).padStart(7)} req/s  p50 ${s[name].p50.toFixed(2)} ms  p99 ${s[name].p99.toFixed(2)} ms`);
}
console.log(`router/nginx throughput ${(s.router.rps / s.nginx.rps).toFixed(2)}, p99 ${(s.router.p99 / s.nginx.p99).toFixed(2)}`);
console.log(`router/direct throughput ${(s.router.rps / s.direct.rps).toFixed(2)}, p99 ${(s.router.p99 / s.direct.p99).toFixed(2)}`);
