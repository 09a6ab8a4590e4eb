// Router overhead: one trivial upstream, the same load (wrk from Debian, in its own process) sent
// directly, through the guardgate router, and through nginx (proxy_pass with upstream keep-alive), in one
// run with alternating rounds. Prints req/s, p50, p99 and CPU time per request of each (from /proc: what a
// 2-core machine shared by load, upstream and proxy bounds) and the ratios router/nginx and router/direct.
// --workers N runs the router as N processes (node:cluster) and nginx with N workers. --tracing 1 adds a second
// router with OpenTelemetry on (every request sampled, spans sent to a sink on loopback): the cost of tracing.
// Run: npx tsx bench/router-overhead.ts [--seconds 8] [--connections 32] [--rounds 3] [--workers 1] [--tracing 1]
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const tracing = argValue('tracing', 0) > 0;
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
  /** CPU time (user + system) the proxy's processes spent per request, in µs; what contention does not change much. */
  cpuUs: number;
}

const TICK_US = 1e6 / 100; // USER_HZ
/** CPU time of a process and all its descendants (cluster workers, nginx workers), in µs, from /proc. */
function cpuOfTree(root: number): number {
  const stats = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        // Fields after the command (which may hold spaces): state ppid … utime(14) stime(15).
        const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()!.split(' ');
        return [{ pid: Number(pid), ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) }];
      } catch {
        return [];
      }
    });
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of stats)
      if (!tree.has(s.pid) && tree.has(s.ppid)) {
        tree.add(s.pid);
        grew = true;
      }
  }
  return stats.filter((s) => tree.has(s.pid)).reduce((sum, s) => sum + s.ticks, 0) * TICK_US;
}

/** wrk's --latency report: Requests/sec and the 50% and 99% lines, in ms. */
async function wrk(url: string, pid: number): Promise<Figures> {
  const cpuBefore = cpuOfTree(pid);
  const { stdout } = await run('wrk', [
    '-t',
    '1',
    '-c',
    String(connections),
    '-d',
    `${seconds}s`,
    '--latency',
    '-s',
    here('./fixtures/post.lua'),
    url,
  ]);
  const ms = (label: string) => {
    const match = new RegExp(`\\s${label}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout);
    if (match === null) return NaN;
    const value = Number(match[1]);
    return match[2] === 'us' ? value / 1000 : match[2] === 's' ? value * 1000 : value;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  return {
    cpuUs: (cpuOfTree(pid) - cpuBefore) / requests,
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50: ms('50'),
    p99: ms('99'),
    errors: (errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
  };
}

/** A server under load: its URL, the process whose tree's CPU is counted, and how to stop it. */
interface Target {
  url: string;
  pid: number;
  stop: () => void;
}

async function startNginx(upstream: string): Promise<Target> {
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
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => child.kill('SIGQUIT') };
}

const upstream = await startServerProcess(here('./fixtures/trivial-upstream.ts'), []);
/** A router process in front of the upstream; its URL once it says it is ready. */
async function startRouter(env: NodeJS.ProcessEnv): Promise<Target> {
  const child = spawn(
    process.execPath,
    [
      cli,
      'router',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--blue',
      upstream.url,
      '--workers',
      String(workers),
      '--log-level',
      'info',
    ],
    {
      env: { ...process.env, GUARDGATE_ADMIN_TOKEN: 'bench-admin-token-0123456789', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const url = await new Promise<string>((resolve) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /"msg":"guardgate router ready"/.test(out) ? /"url":"([^"]+)"/.exec(out) : null;
      if (match) resolve(match[1]!);
    });
  });
  return { url, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

// A sink for spans: takes every OTLP export and answers 200, as a collector would.
let spanBytes = 0;
const sink = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (spanBytes += chunk.length));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
});
await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
const router = await startRouter({});
const traced = tracing
  ? await startRouter({
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(sink.address() as AddressInfo).port}`,
      OTEL_TRACES_SAMPLER_ARG: '1',
    })
  : undefined;
const nginx = await startNginx(upstream.url);

// For "direct", the CPU counted is the upstream's own: what one bare node:http server spends per request.
const targets: Record<string, Target> = {
  direct: { url: upstream.url, pid: upstream.child.pid!, stop: () => {} },
  router,
  ...(traced ? { traced } : {}),
  nginx,
};
const results: Record<string, Figures[]> = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
try {
  for (const { url, pid } of Object.values(targets)) await wrk(`${url}/predict`, pid); // warm up
  for (let round = 1; round <= rounds; round++) {
    for (const [name, { url, pid }] of Object.entries(targets)) {
      const figures = await wrk(`${url}/predict`, pid);
      results[name]!.push(figures);
      console.log(
        `round ${round} ${name.padEnd(7)} ${figures.rps.toFixed(0).padStart(7)} req/s  p50 ${figures.p50.toFixed(2)} ms  p99 ${figures.p99.toFixed(2)} ms  cpu ${figures.cpuUs.toFixed(1)} µs/req  errors ${figures.errors}`,
      );
    }
  }
} finally {
  nginx.stop();
  router.stop();
  traced?.stop();
  sink.close();
  await upstream.stop();
}

const summary = (name: string) => ({
  rps: median(results[name]!.map((r) => r.rps)),
  p50: median(results[name]!.map((r) => r.p50)),
  p99: median(results[name]!.map((r) => r.p99)),
  cpuUs: median(results[name]!.map((r) => r.cpuUs)),
});
const s = Object.fromEntries(Object.keys(targets).map((name) => [name, summary(name)])) as Record<
  'direct' | 'router' | 'nginx',
  ReturnType<typeof summary>
> & { traced?: ReturnType<typeof summary> };
console.log(
  `\nmedian of ${rounds} rounds; wrk 1 thread, ${connections} connections, ${seconds} s; router and nginx ${workers} worker(s) each; 2 cores shared by all`,
);
for (const [name, f] of Object.entries(s)) {
  console.log(
    `${name.padEnd(7)} ${f.rps.toFixed(0).padStart(7)} req/s  p50 ${f.p50.toFixed(2)} ms  p99 ${f.p99.toFixed(2)} ms  cpu ${f.cpuUs.toFixed(1)} µs/req`,
  );
}
console.log(
  `router/nginx throughput ${(s.router.rps / s.nginx.rps).toFixed(2)}, p99 ${(s.router.p99 / s.nginx.p99).toFixed(2)}`,
);
console.log(
  `CPU per request: router ${s.router.cpuUs.toFixed(1)} µs, nginx ${s.nginx.cpuUs.toFixed(1)} µs, one bare node:http server ${s.direct.cpuUs.toFixed(1)} µs (router/nginx ${(s.router.cpuUs / s.nginx.cpuUs).toFixed(2)}, router/bare node ${(s.router.cpuUs / s.direct.cpuUs).toFixed(2)})`,
);
console.log(
  `router/direct throughput ${(s.router.rps / s.direct.rps).toFixed(2)}, p99 ${(s.router.p99 / s.direct.p99).toFixed(2)}`,
);
if (s.traced)
  console.log(
    `traced/router throughput ${(s.traced.rps / s.router.rps).toFixed(2)}, p99 ${(s.traced.p99 / s.router.p99).toFixed(2)} (every request sampled; ${(spanBytes / 1e6).toFixed(1)} MB of spans exported)`,
  );
