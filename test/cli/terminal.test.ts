// What a person sees at a terminal: `guardgate up` in a pseudo-terminal (script(1)) writes readable log lines,
// not JSON, and its banner stands on its own, with no log line inside it; piped, the same logs are JSON.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logFormatOf, prettyLine } from '../../src/shared/logger.js';
import { CLI } from '../helpers/cli.js';
import { owned } from '../helpers/owned.js';

// eslint-disable-next-line no-control-regex
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

describe('log lines', () => {
  it('are pretty for a terminal and JSON otherwise, unless GUARDGATE_LOG_FORMAT says', () => {
    expect(logFormatOf({}, true)).toBe('pretty');
    expect(logFormatOf({}, false)).toBe('json');
    expect(logFormatOf({ GUARDGATE_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormatOf({ GUARDGATE_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it('read as time, level, source, message and fields; an error shows its message and, when serious, its stack', () => {
    const time = new Date(2026, 10, 30, 9, 5, 7, 42).getTime();
    expect(
      prettyLine(
        JSON.stringify({
          level: 30,
          time,
          service: 'guardgate-router',
          msg: 'instance in rotation',
          color: 'blue',
          instance: 'http://127.0.0.1:1',
          healthy: true,
        }),
        false,
      ),
    ).toBe('09:05:07.042 INFO  router     instance in rotation  color=blue instance=http://127.0.0.1:1 healthy=true');
    const error = prettyLine(
      JSON.stringify({
        level: 50,
        time,
        service: 'guardgate',
        component: 'change-webhook',
        msg: 'gave up',
        err: {
          message: 'connect ECONNREFUSED',
          stack: 'Error: connect ECONNREFUSED\n    at one (a.js:1:1)\n    at two (b.js:2:2)',
        },
        note: 'two words',
      }),
      false,
    );
    expect(error).toBe(
      '09:05:07.042 ERROR change-webhook gave up  err="connect ECONNREFUSED" note="two words"\n    at one (a.js:1:1)\n    at two (b.js:2:2)',
    );
    expect(prettyLine('not json', false)).toBe('not json');
    // What a request chose (a path, a header) never reaches the terminal as an escape sequence.
    const hostile = prettyLine(
      JSON.stringify({ level: 40, time, msg: 'no route GET /\x1b[2J', url: '/\x1b]0;owned\x07' }),
      false,
    );
    expect([...hostile].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    // Nor as a one-character control of the C1 range, which JSON leaves as it is.
    const c1 = prettyLine(JSON.stringify({ level: 30, time, msg: 'request completed', url: '/a\u009b2J' }), false);
    expect([...c1].some((c) => c.charCodeAt(0) >= 0x7f && c.charCodeAt(0) <= 0x9f)).toBe(false);
    expect(c1).toContain('url="/a\\u009b2J"');
    expect(hostile).toBe('09:05:07.042 WARN             no route GET /\\u001b[2J  url="/\\u001b]0;owned\\u0007"');
    expect(prettyLine(JSON.stringify({ level: 40, time, msg: 'x' }), true)).toContain('\x1b[33mWARN');
  });
});

describe('guardgate up at a terminal', () => {
  it('prints readable logs and a banner that stands on its own', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'guardgate-terminal-'));
    const command = `exec ${process.execPath} ${CLI} up --port 0 --admin-port 0 --data-dir ${dataDir}`;
    const child = owned(
      spawn('script', ['-qfec', command, '/dev/null'], {
        env: { ...process.env, GUARDGATE_LOG_FORMAT: '', TERM: 'xterm' },
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
      }),
    );
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no banner within 60 s; the terminal showed:\n${plain(out)}`)),
          60_000,
        );
        child.stdout!.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          // The banner and one line after it (its closing blank line), so that a line logged right after shows.
          if (/Guardgate is up\.[\s\S]*release .*--wait.*\r?\n\r?\n/.test(out)) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.on('exit', (code) => reject(new Error(`up exited (${code}) before its banner:\n${plain(out)}`)));
      });
    } finally {
      process.kill(-child.pid!, 'SIGINT');
      await new Promise((resolve) => child.once('close', resolve));
    }
    const lines = plain(out).split('\n');
    expect(
      lines.filter((l) => l.trimStart().startsWith('{"level"')),
      'no JSON log line at a terminal',
    ).toEqual([]);
    const start = lines.findIndex((l) => l.includes('Guardgate is up.'));
    const end = lines.findIndex((l, i) => i > start && l.trim() === '');
    const banner = lines.slice(start, end);
    expect(banner.map((l) => l.trim().split(/\s{2,}/)[0])).toEqual([
      'Guardgate is up.',
      'API and playground',
      'API access',
      'dashboard',
      'admin API',
      'admin token',
      'try',
      'release',
    ]);
    // Its release hint works as printed: it names this data directory.
    expect(banner.at(-1)).toContain(`--wait --data-dir ${dataDir}`);
    // Every log line before the banner reads as a pretty line.
    const logs = lines.slice(0, start).filter((l) => l.trim() !== '');
    expect(logs.length).toBeGreaterThan(2);
    for (const line of logs)
      expect(line).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S+\s+\S/);
  });
});
