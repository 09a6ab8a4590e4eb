// `guardgate validate` and `guardgate bench`: the audit suite and the load measurement against any
// endpoint, for any CI (the seed's e2e audit and wrk steps).
import { Command } from 'commander';
import { EXIT } from './exit-codes.js';
import { CliExit } from './client.js';
import { httpUrl } from './flags.js';
import { EVIDENCE_HEADER } from '../shared/headers.js';

/** The credential for the endpoint: --token, else GUARDGATE_TOKEN; none when neither is set. */
const credentialHeaders = (token: string | undefined): Record<string, string> => {
  const value = token ?? process.env.GUARDGATE_TOKEN;
  return value ? { authorization: `Bearer ${value}` } : {};
};

/** An endpoint is a URL with its scheme: a usage error otherwise (exit 2). */
const endpointOf = (text: string): string => httpUrl('--endpoint', text);

/** A whole number of at least `min`: a usage error otherwise. */
function wholeNumber(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new CliExit(EXIT.usage, `${flag} takes a whole number of at least ${min} (got ${text.slice(0, 40)})`);
  return value;
}

/** A dead endpoint is "unreachable" (exit 5), once, not a failure per case. */
async function reachable(endpoint: string): Promise<void> {
  try {
    await fetch(`${endpoint}/healthz`, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    throw new CliExit(
      EXIT.unreachable,
      `cannot reach ${endpoint}: ${((error as Error).cause as Error | undefined)?.message ?? (error as Error).message}`,
    );
  }
}

/** `guardgate validate`: the audit suite against an endpoint. */
export function validateCommand(): Command {
  return new Command('validate')
    .description('run the audit suite against an endpoint (exit 3 when it fails)')
    .requiredOption('--endpoint <url>', 'the instance or router to test, e.g. http://127.0.0.1:8080')
    .option('--suite <file>', 'audit suite YAML (default: the shipped suite)')
    .option('--min-pass-rate <rate>', 'share of cases that must pass', '1')
    .option('--token <token>', 'API key or JWT for the endpoint (also GUARDGATE_TOKEN)')
    .option('--preview', 'aim at the standby through the router (the token needs the preview scope)')
    .option('--json', 'print the report as JSON')
    .action(
      async (flags: {
        endpoint: string;
        suite?: string;
        minPassRate: string;
        token?: string;
        preview?: boolean;
        json?: boolean;
      }) => {
        const endpoint = endpointOf(flags.endpoint);
        const minPassRate = Number(flags.minPassRate);
        if (!(minPassRate >= 0 && minPassRate <= 1))
          throw new CliExit(
            EXIT.usage,
            `--min-pass-rate takes a number from 0 to 1 (got ${flags.minPassRate.slice(0, 40)})`,
          );
        const { loadSuite } = await import('../gates/suite.js');
        const { runFunctionalGate } = await import('../gates/functional.js');
        const suite = loadSuite(flags.suite);
        await reachable(endpoint);
        const headers = { ...credentialHeaders(flags.token), ...(flags.preview ? { 'x-guardgate-preview': '1' } : {}) };
        const report = await runFunctionalGate(endpoint, suite, { minPassRate, headers });
        if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else {
          for (const c of report.evidence.cases) {
            const got =
              'error' in c.got
                ? c.got.error
                : `${c.got.safety} ${c.got.categories.join(', ') || 'None'}${c.got.refusal === null ? '' : ` refusal ${c.got.refusal}`}`;
            process.stdout.write(`${c.passed ? 'PASS' : 'FAIL'}  ${c.name.padEnd(24)} ${got}\n`);
          }
          process.stdout.write(`${report.passed ? 'passed' : 'FAILED'}: ${report.summary}\n`);
        }
        process.exitCode = report.passed ? EXIT.ok : EXIT.gateFailed;
      },
    );
}

/** `guardgate bench`: a load against an endpoint. */
export function benchCommand(): Command {
  return new Command('bench')
    .description('measure P50, P99 and QPS of POST /predict against an endpoint')
    .requiredOption('--endpoint <url>', 'the instance or router to load')
    .option('--duration <seconds>', 'how long', '10')
    .option('--connections <n>', 'concurrent connections', '16')
    .option('--token <token>', 'API key or JWT for the endpoint (also GUARDGATE_TOKEN)')
    .option('--json', 'print JSON')
    .action(
      async (flags: { endpoint: string; duration: string; connections: string; token?: string; json?: boolean }) => {
        // Marked as evidence: with an admin credential it is kept out of the audit and judged by the engine, not the cache.
        const endpoint = endpointOf(flags.endpoint);
        const durationSeconds = wholeNumber('--duration', flags.duration, 1);
        const connections = wholeNumber('--connections', flags.connections, 1);
        await reachable(endpoint);
        const headers = { ...credentialHeaders(flags.token), [EVIDENCE_HEADER]: '1' };
        const { measureLoad } = await import('../gates/load.js');
        if (!flags.json)
          process.stderr.write(
            `loading ${endpoint}/predict for ${durationSeconds} s with ${connections} connections…\n`,
          );
        // A line a second on stderr, so that a long run shows it is alive (not with --json: output for programs).
        const onProgress = flags.json
          ? undefined
          : (p: { seconds: number; requests: number; failed: number }) =>
              process.stderr.write(`  ${p.seconds}/${durationSeconds} s  ${p.requests} requests  ${p.failed} failed\n`);
        const figures = await measureLoad(endpoint, {
          durationSeconds,
          connections,
          headers,
          ...(onProgress ? { onProgress } : {}),
        });
        process.stdout.write(
          flags.json
            ? `${JSON.stringify(figures)}\n`
            : `requests ${figures.requests}  QPS ${figures.qps.toFixed(0)}  p50 ${figures.p50} ms  p99 ${figures.p99} ms  errors ${(100 * figures.errorRate).toFixed(2)}%\n`,
        );
        process.exitCode = figures.errorRate > 0 ? EXIT.failure : EXIT.ok;
      },
    );
}
