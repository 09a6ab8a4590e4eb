// The pipeline examples a team copies (deploy/pipelines/): each parses (YAML, or the Jenkinsfile's
// declarative shape), calls only guardgate commands and flags that exist (asked of the built command's
// --help), documents the exit codes the command really has, and does what the README says: build and push
// the image, release with --wait, check the preview, promote, check the live version, roll back or abort
// and notify on failure.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { REPOSITORY } from '../../src/deploy/assets.js';
import { CLI } from '../helpers/cli.js';

const DIR = join(REPOSITORY, 'deploy/pipelines');
const FILES = ['github-actions.yml', 'gitlab-ci.yml', 'Jenkinsfile'];
const text = (file: string) => readFileSync(join(DIR, file), 'utf8');

/** Every guardgate invocation: its command words and its flags. */
function invocations(source: string): Array<{ words: string[]; flags: string[]; line: string }> {
  const found: Array<{ words: string[]; flags: string[]; line: string }> = [];
  for (const line of source.split('\n')) {
    if (/^\s*(#|\/\/)/.test(line)) continue;
    for (const match of line.matchAll(/\bguardgate((?: [a-z][a-z0-9-]*)+)((?: [^|;&}']*)?)/g)) {
      const words = match[1]!.trim().split(' ');
      const command = words.slice(0, words[0] === 'k8s' || words[0] === 'gates' ? 2 : 1);
      found.push({ words: command, flags: [...(match[1]! + match[2]!).matchAll(/ (--[a-z][a-z-]*)/g)].map((m) => m[1]!), line: line.trim() });
    }
  }
  return found.filter((i) => !['release:', 'ci'].includes(i.words[0]!) && !/^guardgate[-_]/.test(i.words[0]!));
}

const help = new Map<string, string>();
const helpOf = (words: string[]): { status: number | null; text: string } => {
  const key = words.join(' ');
  if (!help.has(key)) {
    const run = spawnSync(process.execPath, [CLI, ...words, '--help'], { encoding: 'utf8' });
    help.set(key, run.status === 0 ? run.stdout : `FAILED ${run.stderr}`);
  }
  const value = help.get(key)!;
  return { status: value.startsWith('FAILED') ? 1 : 0, text: value };
};

describe('the pipeline examples', () => {
  it.each(FILES)('%s calls only commands and flags guardgate has', (file) => {
    const calls = invocations(text(file));
    expect(calls.length).toBeGreaterThan(5);
    for (const call of calls) {
      const answer = helpOf(call.words);
      expect(answer.status, `guardgate ${call.words.join(' ')}: ${answer.text}`).toBe(0);
      for (const flag of call.flags) expect(answer.text, `${call.line}: ${flag}`).toContain(flag);
    }
    // The release path: release and wait, the preview proven, promote and wait, the live version checked, and the ways back.
    const commands = calls.map((c) => c.words.join(' '));
    for (const needed of ['release', 'validate', 'bench', 'promote', 'rollback', 'abort']) expect(commands, file).toContain(needed);
    expect(calls.find((c) => c.words[0] === 'release')!.flags).toEqual(expect.arrayContaining(['--image', '--wait']));
    expect(calls.find((c) => c.words[0] === 'promote')!.flags).toContain('--wait');
    expect(text(file)).toMatch(/docker build -f deploy\/Dockerfile/);
    expect(text(file)).toMatch(/docker push/);
    expect(text(file)).toMatch(/NOTIFY_WEBHOOK/);
  });

  it.each(FILES)('%s keeps its credentials off command lines and out of steps that do not need them', (file) => {
    const source = text(file);
    // A URL or token as an argument is visible to every process on the runner (ps) and in logs.
    expect(source).not.toMatch(/curl[^\n]*"\$\{?NOTIFY_WEBHOOK/);
    expect(source).not.toMatch(/https:\/\/[^"\s]*\$\{?GITOPS_TOKEN/);
    if (file === 'Jenkinsfile') expect(/environment \{[^}]*\}/.exec(source)![0]).not.toContain('credentials(');
    if (file === 'github-actions.yml') {
      const jobs = (parse(source) as { jobs: Record<string, { env?: Record<string, string> }> }).jobs;
      for (const [name, job] of Object.entries(jobs)) expect(JSON.stringify(job.env ?? {}), name).not.toContain('secrets.');
    }
  });

  it.each(FILES)('%s documents the exit codes guardgate has', (file) => {
    const header = text(file);
    expect(header).toContain(`${EXIT.ok} ok; ${EXIT.failure} failure; ${EXIT.usage} usage`);
    expect(header).toContain(`${EXIT.gateFailed} gate failed`);
    expect(header).toContain(`${EXIT.rolledBack} rolled back`);
    expect(header).toContain(`${EXIT.unreachable} the`);
  });

  it('the GitHub Actions workflow parses, every step runs or uses a pinned action, and failures notify', () => {
    const workflow = parse(text('github-actions.yml')) as { on: unknown; jobs: Record<string, { 'runs-on': string; needs?: string | string[]; if?: string; steps: Array<{ run?: string; uses?: string }> }> };
    expect(workflow.on).toBeDefined();
    const jobs = Object.entries(workflow.jobs);
    for (const [name, job] of jobs) {
      expect(job['runs-on'], name).toMatch(/^ubuntu-/);
      for (const need of [job.needs ?? []].flat()) expect(Object.keys(workflow.jobs), `${name} needs ${need}`).toContain(need);
      for (const step of job.steps) {
        expect(step.run !== undefined || step.uses !== undefined, JSON.stringify(step)).toBe(true);
        if (step.uses) expect(step.uses).toMatch(/@v\d+$/);
      }
    }
    expect(workflow.jobs.notify!.if).toBe('failure()');
  });

  it('the GitLab pipeline parses, and every job runs in a declared stage', () => {
    const pipeline = parse(text('gitlab-ci.yml')) as Record<string, any>;
    const stages = pipeline.stages as string[];
    const jobs = Object.entries(pipeline).filter(([name, value]) => !['stages', 'variables'].includes(name) && !name.startsWith('.') && typeof value === 'object');
    expect(jobs.length).toBeGreaterThanOrEqual(5);
    for (const [name, job] of jobs) {
      expect(stages, name).toContain(job.stage);
      expect(job.script?.length, name).toBeGreaterThan(0);
      if (job.extends) expect(Object.keys(pipeline), name).toContain(job.extends);
    }
    expect(pipeline.notify.rules[0].when).toBe('on_failure');
  });

  it('the Jenkinsfile has the declarative shape: balanced blocks, stages with steps, a failure post', () => {
    const source = text('Jenkinsfile');
    // Blocks balance outside strings and comments.
    let depth = 0;
    let min = 0;
    const code = source.replace(/\/\/.*$/gm, '').replace(/'''[\s\S]*?'''|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'/g, '""');
    for (const char of code) {
      if (char === '{') depth++;
      if (char === '}') depth--;
      min = Math.min(min, depth);
    }
    expect(depth).toBe(0);
    expect(min).toBe(0);
    expect(code.trimStart()).toMatch(/^pipeline \{/);
    const stages = [...source.matchAll(/stage\('([^']+)'\) \{/g)].map((m) => m[1]);
    expect(stages).toEqual(['Test', 'Image', 'Release', 'Verify live']);
    expect(source.match(/steps \{/g)).toHaveLength(stages.length);
    expect(code).toMatch(/post \{\s*failure \{/);
  });
});
