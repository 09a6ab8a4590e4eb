// `guardgate validate` and `guardgate bench`: the audit suite and the load measurement against any
// endpoint, for any CI (the seed's e2e audit and wrk steps).
import { Command } from 'commander';
import { runFunctionalGate } from '../release/gates/functional.js';
import { measureLoad } from '../release/gates/load.js';
import { loadSuite } from '../release/suite.js';
import { EXIT } from './exit-codes.js';
import { EVIDENCE_HEADER } from '../shared/headers.js';

/** The credential for the endpoint: --token, else GUARDGATE_TOKEN; none when neither is set. */
const credentialHeaders = (token: string | undefined): Record<string, string> => {
  const value = token ?? process.env.GUARDGATE_TOKEN;
  return value ? { authorization: `Bearer ${value}` } : {};
};

export function validateCommand(): Command {
  return new Command('validate')
    .description('run the audit suite against an endpoint (exit 3 when it fails)')
    .requiredOption('--endpoint <url>', 'the instance or router to test, e.g. http://127.0.0.1:8080')
    .option('--suite <file>', 'audit suite YAML (default: the shipped suite)')
    .option('--min-pass-rate <rate>', 'share of cases that must pass', '1')
    .option('--token <token>', 'API key or JWT for the endpoint (also GUARDGATE_TOKEN)')
    .option('--preview', 'aim at the standby through the router (the token needs the preview scope)')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { endpoint: string; suite?: string; minPassRate: string; token?: string; preview?: boolean; json?: boolean }) => {
      const headers = { ...credentialHeaders(flags.token), ...(flags.preview ? { 'x-guardgate-preview': '1' } : {}) };
      const report = await runFunctionalGate(flags.endpoint, loadSuite(flags.suite), { minPassRate: Number(flags.minPassRate), headers });
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else {
        for (const c of report.evidence.cases) {
          const got = 'error' in c.got ? c.got.error : `${c.got.safety} ${c.got.categories.join(', ') || 'None'}${c.got.refusal === null ? '' : ` refusal ${c.got.refusal}`}`;
          process.stdout.write(`${c.passed ? 'PASS' : 'FAIL'}  ${c.name.padEnd(24)} ${got}\n`);
        }
        process.stdout.write(`${report.passed ? 'passed' : 'FAILED'}: ${report.summary}\n`);
      }
      process.exitCode = report.passed ? EXIT.ok : EXIT.gateFailed;
    });
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('measure P50, P99 and QPS of POST /predict against an endpoint')
    .requiredOption('--endpoint <url>', 'the instance or router to load')
    .option('--duration <seconds>', 'how long', '10')
    .option('--connections <n>', 'concurrent connections', '16')
    .option('--token <token>', 'API key or JWT for the endpoint (also GUARDGATE_TOKEN)')
    .option('--json', 'print JSON')
    .action(async (flags: { endpoint: string; duration: string; connections: string; token?: string; json?: boolean }) => {
      // Marked as evidence: with an admin credential it is kept out of the audit and judged by the engine, not the cache.
      const headers = { ...credentialHeaders(flags.token), [EVIDENCE_HEADER]: '1' };
      const figures = await measureLoad(flags.endpoint, { durationSeconds: Number(flags.duration), connections: Number(flags.connections), headers });
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(figures)}\n`
          : `requests ${figures.requests}  QPS ${figures.qps.toFixed(0)}  p50 ${figures.p50} ms  p99 ${figures.p99} ms  errors ${(100 * figures.errorRate).toFixed(2)}%\n`,
      );
      process.exitCode = figures.errorRate > 0 ? EXIT.failure : EXIT.ok;
    });
}
