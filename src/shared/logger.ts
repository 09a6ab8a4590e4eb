// Logs people can read at a terminal, JSON everywhere else. `pretty` turns each pino JSON line into
// `12:04:05.120 INFO  router  instance in rotation  color=blue instance=http://…` (colours when the output is a
// terminal); `json` leaves pino's lines as they are, for collectors. The format is decided once at each
// process's edge: GUARDGATE_LOG_FORMAT, else pretty when stdout is a terminal.
import { Writable } from 'node:stream';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** How log lines are written: JSON, or pretty for a terminal. */
export type LogFormat = 'json' | 'pretty';

/** GUARDGATE_LOG_FORMAT (json or pretty), else pretty for a terminal. Pure. */
export function logFormatOf(env: NodeJS.ProcessEnv, isTerminal: boolean): LogFormat {
  const asked = env.GUARDGATE_LOG_FORMAT?.trim().toLowerCase();
  if (asked === 'json' || asked === 'pretty') return asked;
  return isTerminal ? 'pretty' : 'json';
}

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
const DIM = '\x1b[2m';
const RESET = '\x1b[0m';
/** Fields every line has, said by the line's layout instead. */
const LAYOUT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'v']);

const clock = (time: unknown): string => {
  const date = new Date(typeof time === 'number' ? time : Date.now());
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
};

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
// eslint-disable-next-line no-control-regex
const HAS_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** Text a request may have chosen (a path, a header) never reaches the terminal as escape sequences. */
const printable = (text: string): string =>
  text.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

const valueText = (value: unknown): string => {
  if (typeof value === 'string')
    return /[\s"=]/.test(value) || value === '' || HAS_CONTROL.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? String(value);
};

/** One JSON log line as a readable line (and, for an error with a stack, the stack under it). Pure. */
export function prettyLine(line: string, color: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const [label, tint] = LEVELS[Number(record.level)] ?? ['LOG  ', ''];
  const source =
    typeof record.component === 'string'
      ? record.component
      : typeof record.service === 'string'
        ? record.service.replace(/^guardgate-?/, '') || 'guardgate'
        : '';
  const fields: string[] = [];
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (LAYOUT.has(key) || key === 'component' || value === undefined) continue;
    if (key === 'err' && typeof value === 'object' && value !== null) {
      const err = value as { message?: string; stack?: string; type?: string };
      fields.push(`err=${valueText(err.message ?? err.type ?? 'error')}`);
      if (Number(record.level) >= 50 && err.stack) stack = `\n${err.stack.split('\n').slice(1, 6).join('\n')}`;
      continue;
    }
    fields.push(`${key}=${valueText(value)}`);
  }
  const paint = (text: string, code: string) => (color ? `${code}${text}${RESET}` : text);
  const rest = fields.length > 0 ? `  ${paint(printable(fields.join(' ')), DIM)}` : '';
  return `${paint(clock(record.time), DIM)} ${paint(label, tint)} ${printable(source.padEnd(10))} ${printable(String(record.msg ?? ''))}${rest}${stack.split('\n').map(printable).join('\n')}`;
}

/** A destination that writes pino's lines prettily to `out`. */
export function prettyStream(out: NodeJS.WritableStream & { isTTY?: boolean }): DestinationStream {
  let pending = '';
  const color = out.isTTY === true;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      pending += chunk.toString('utf8');
      let at: number;
      let text = '';
      while ((at = pending.indexOf('\n')) >= 0) {
        text += `${prettyLine(pending.slice(0, at), color)}\n`;
        pending = pending.slice(at + 1);
      }
      // Written now, not when the terminal has taken it: a line logged before a banner is printed before it.
      if (text !== '') out.write(text);
      done();
    },
  });
}

/** A logger for a command: pino, written as `format` says to stdout. */
export function createLogger(options: LoggerOptions, format: LogFormat): Logger {
  return format === 'pretty' ? pino(options, prettyStream(process.stdout)) : pino(options);
}
