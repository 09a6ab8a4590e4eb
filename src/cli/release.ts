// The release commands: release, status, promote, abort, rollback, switch, history. They talk to the
// running controller's admin API; --json prints the API's answer; exit codes say how a release ended.
import { Command } from 'commander';
import type { ControllerStatus, Progress, ReleaseView } from '../release/views.js';
import type { OperatorAction } from '../release/store.js';
import { adminClient, CliExit, type AdminClient } from './client.js';
import { EXIT } from './exit-codes.js';
import { COLORS } from '../vocabulary/colors.js';

/** The flags every admin command takes. */
export interface Common {
  dataDir: string;
  adminUrl?: string;
  json?: boolean;
}

/** Add the flags every admin command takes. */
export const withCommon = (command: Command): Command =>
  command
    .option(
      '--data-dir <dir>',
      'the data directory of the running guardgate up (also GUARDGATE_DATA_DIR)',
      process.env.GUARDGATE_DATA_DIR ?? '.guardgate',
    )
    .option('--admin-url <url>', 'the admin API (also GUARDGATE_ADMIN_URL)')
    .option('--json', 'print JSON');

/** The answer as JSON with --json, else as `text` says it. */
export const print = (flags: Common, value: unknown, text: () => string): void => {
  process.stdout.write(`${flags.json ? JSON.stringify(value, null, 2) : text()}\n`);
};

/** For a blocked release: which cases or figures failed, and what the operator can do now. */
function blockedAdvice(release: ReleaseView): string[] {
  const failed = release.gates.find((g) => !g.passed);
  const lines: string[] = [];
  const cases = (
    failed?.evidence as
      | {
          cases?: Array<{
            name: string;
            passed: boolean;
            expected: { safety: unknown };
            got: { safety?: string; error?: string };
          }>;
        }
      | undefined
  )?.cases;
  for (const c of (cases ?? []).filter((c) => !c.passed).slice(0, 10)) {
    lines.push(
      `    failed case ${c.name}: expected ${JSON.stringify(c.expected.safety)}, got ${c.got.safety ?? c.got.error}`,
    );
  }
  const blockedAt = Date.parse(release.transitions.at(-1)?.at ?? release.updatedAt);
  const waiting = release.transitions.at(-1)?.note?.includes('waiting for an operator');
  const teardown = waiting
    ? 'it waits for you'
    : `otherwise the candidate is torn down at ${new Date(blockedAt + release.spec.abortTeardownDelay).toISOString()}`;
  lines.push(`  next: guardgate promote --force (switch anyway, recorded as forced) or guardgate abort; ${teardown}`);
  return lines;
}

/** A gate's result on one line: verdict, gate, samples, summary. */
const gateLine = (gate: ReleaseView['gates'][number]): string =>
  `  ${(gate.inconclusive ? 'INCONCLUSIVE' : gate.passed ? 'PASS' : 'FAIL').padEnd(12)} ${gate.gate.padEnd(10)}${gate.samples === undefined ? '' : ` n=${gate.samples}`} ${gate.summary}`;

/** A release in one line for a person. */
export const describeRelease = (release: ReleaseView): string => {
  // A note may start with the state's own name ("stable; blue is kept until ..."): not said twice.
  const note = release.note?.startsWith(`${release.state}; `)
    ? release.note.slice(release.state.length + 2)
    : release.note;
  const lines = [
    `release #${release.id} ${release.version} → ${release.candidate}: ${release.state}${release.forced ? ' (forced)' : ''}${note ? ` — ${note}` : ''}`,
  ];
  for (const gate of release.gates) lines.push(gateLine(gate));
  if (release.state === 'blocked') lines.push(...blockedAdvice(release));
  return lines.join('\n');
};

const exitCodeOf = (state: string): number =>
  state === 'rolled_back' ? EXIT.rolledBack : state === 'aborted' || state === 'blocked' ? EXIT.gateFailed : EXIT.ok;

/**
 * Follow a release until it settles (or waits for an operator): a live line for the step it is on (samples
 * compared, requests sent, time left, as the gate reports them), and each gate's result as it comes.
 */
async function follow(client: AdminClient, id: number, flags: Common): Promise<ReleaseView> {
  const tty = process.stderr.isTTY && !flags.json;
  let last = '';
  let shownGates = 0;
  for (;;) {
    const status = await client.call<ControllerStatus & { progress: Progress | null }>('GET', '/admin/controller');
    const release = status.release!;
    if (release.id !== id) throw new CliExit(EXIT.failure, `release #${id} is no longer the latest`);
    const progress = status.progress;
    const elapsed = progress ? `${((Date.now() - Date.parse(progress.startedAt)) / 1000).toFixed(0)}s` : '';
    // The step says its state when it starts with it ("deploying v2 to green"); else the state leads.
    const step =
      progress === null
        ? ''
        : progress.step.startsWith(release.state.split('_')[0]!)
          ? progress.step
          : `${release.state}: ${progress.step}`;
    const line = progress ? `${step}${progress.detail ? ` (${progress.detail})` : ''}` : release.state;
    if (!flags.json) {
      for (; shownGates < release.gates.length; shownGates++)
        process.stderr.write(`${tty ? '\r\x1b[2K' : ''}${gateLine(release.gates[shownGates]!)}\n`);
      if (tty) process.stderr.write(`\r\x1b[2K${line} ${elapsed}`);
      else if (line !== last) process.stderr.write(`${line}\n`);
    }
    last = line;
    if (['stable', 'aborted', 'rolled_back', 'blocked', 'awaiting_approval'].includes(release.state)) {
      if (tty) process.stderr.write('\n');
      return release;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** `release`, `status`, `promote`, `abort`, `rollback`, `history`. */
export function releaseCommands(): Command[] {
  const release = withCommon(new Command('release'))
    .description(
      'release a new version: deploy it beside the live one, prove it, switch, watch (exit 3 gate failed, 4 rolled back)',
    )
    .argument('<spec>', 'the release spec (YAML)')
    .option('--wait', 'follow the release until it settles')
    .option('--image <ref>', "driver kubernetes: the Guardgate image of this release (overrides the spec's image)")
    .option(
      '--fleet <file>',
      'release over the targets of a fleet file, in its waves; a failed target rolls back every target that switched',
    )
    .action(async (file: string, flags: Common & { wait?: boolean; image?: string; fleet?: string }) => {
      // Suite files are read here and sent inline: the controller never reads a path a caller names.
      const { inlineSuites, loadReleaseSpec } = await import('../release/spec.js');
      const spec = inlineSuites(loadReleaseSpec(file));
      if (flags.image !== undefined) spec.image = flags.image;
      if (flags.fleet !== undefined) {
        const { fleetRelease } = await import('../fleet/cli.js');
        const outcome = await fleetRelease(spec, flags.fleet, (line) => {
          if (!flags.json) process.stderr.write(`${line}\n`);
        });
        print(flags, outcome, () =>
          [
            `fleet release ${outcome.version}: ${outcome.outcome}${outcome.reason ? ` (${outcome.reason})` : ''}`,
            ...Object.entries(outcome.targets).map(([name, state]) => `  ${name}: ${state}`),
          ].join('\n'),
        );
        process.exitCode = outcome.outcome === 'stable' ? EXIT.ok : EXIT.rolledBack;
        return;
      }
      const client = adminClient(flags);
      const started = await client.call<ReleaseView>('POST', '/admin/releases', spec);
      if (!flags.wait) return print(flags, started, () => describeRelease(started));
      const settled = await follow(client, started.id, flags);
      print(flags, settled, () => describeRelease(settled));
      process.exitCode = exitCodeOf(settled.state);
    });

  const status = withCommon(new Command('status'))
    .description('the active color, both environments, and the latest release')
    .action(async (flags: Common) => {
      const value = await adminClient(flags).call<ControllerStatus & { progress: Progress | null }>(
        'GET',
        '/admin/controller',
      );
      print(flags, value, () => {
        const lines = [`active: ${value.active}`];
        for (const color of COLORS) {
          const env = value.environments[color];
          lines.push(
            `${color.padEnd(5)}: ${env ? `${env.version}, ${env.instances.filter((i) => i.state === 'ready').length}/${env.replicas} ready${env.retireAt ? `, kept until ${env.retireAt}` : ''}` : 'not deployed'}`,
          );
        }
        if (value.release) lines.push(describeRelease(value.release));
        if (value.progress)
          lines.push(`now: ${value.progress.step}${value.progress.detail ? ` (${value.progress.detail})` : ''}`);
        return lines.join('\n');
      });
    });

  const simple = (name: string, description: string, path: string) =>
    withCommon(new Command(name))
      .description(description)
      .option('--wait', 'follow the release until it settles (exit 0 stable, 3 aborted or blocked, 4 rolled back)')
      .action(async (flags: Common & { force?: boolean; wait?: boolean }) => {
        const client = adminClient(flags);
        const value = await client.call<ReleaseView>(
          'POST',
          path,
          flags.force === undefined ? undefined : { force: flags.force },
        );
        if (!flags.wait) return print(flags, value, () => describeRelease(value));
        const settled = await follow(client, value.id, flags);
        print(flags, settled, () => describeRelease(settled));
        process.exitCode = exitCodeOf(settled.state);
      });

  const switchCommand = withCommon(new Command('switch'))
    .description('switch traffic to a deployed color (recorded)')
    .argument('<color>', 'blue or green')
    .option('--force', 'even if it has no healthy instance')
    .action(async (color: string, flags: Common & { force?: boolean }) => {
      const value = await adminClient(flags).call('POST', '/admin/switch', { color, force: flags.force === true });
      print(flags, value, () => `active: ${color}`);
    });

  /** One operator action, in words. */
  const describeAction = (a: OperatorAction): string => {
    if (a.action === 'switch')
      return `manual switch ${a.detail.from} → ${a.detail.to}${a.detail.forced ? ' (forced)' : ''}`;
    const { outcome, pods, unverified, reason } = a.detail;
    if (outcome === 'failed') return `credential rotation failed (both values stay accepted): ${reason}`;
    return `credentials rotated: ${pods?.length ?? 0} pod(s) took the new values${unverified?.length ? `, ${unverified.length} could not be asked (${unverified.join(', ')})` : ''}`;
  };

  const history = withCommon(new Command('history'))
    .description(
      'every release with its transitions and gate evidence, every manual switch and credential rotation: the change record',
    )
    .option('--limit <n>', 'how many releases and operator actions', '20')
    .action(async (flags: Common & { limit: string }) => {
      const client = adminClient(flags);
      const releases = await client.call<ReleaseView[]>('GET', `/admin/releases?limit=${Number(flags.limit)}`);
      const actions = await client.call<OperatorAction[]>('GET', `/admin/actions?limit=${Number(flags.limit)}`);
      print(flags, { releases, actions }, () => {
        const releaseLines = releases.map((r) =>
          [
            describeRelease(r),
            ...r.transitions.map(
              (t) => `    ${t.at} ${t.from ?? '-'} → ${t.to} (${t.actor})${t.note ? `: ${t.note}` : ''}`,
            ),
          ].join('\n'),
        );
        const actionLines = actions.map((a) => `${a.at} ${describeAction(a)} by ${a.actor}`);
        return (
          [
            ...releaseLines,
            ...(actionLines.length ? ['operator actions:', ...actionLines.map((l) => `  ${l}`)] : []),
          ].join('\n') || 'no releases yet'
        );
      });
    });

  return [
    release,
    status,
    simple(
      'promote',
      'approve a release that awaits approval, or force one past a failed gate',
      '/admin/promote',
    ).option('--force', 'promote past a failed gate (recorded as forced)'),
    simple('abort', 'stop the release in progress; the active environment is untouched', '/admin/abort'),
    simple('pause', 'hold the canary step in progress at its weight', '/admin/pause'),
    simple('resume', 'let a paused canary go on', '/admin/resume'),
    simple('rollback', 'switch back to the previous environment (instant while it is kept)', '/admin/rollback'),
    switchCommand,
    history,
  ];
}
