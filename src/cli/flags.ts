// Flag values every command reads the same way.
import { CliExit } from './client.js';
import { EXIT } from './exit-codes.js';

/** An http(s) URL with its scheme, without a trailing slash: a usage error (exit 2) otherwise. */
export function httpUrl(flag: string, text: string): string {
  if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol))
    throw new CliExit(
      EXIT.usage,
      `${flag} needs a URL with its scheme, like http://127.0.0.1:8080 (got ${text.slice(0, 100)})`,
    );
  return text.replace(/\/$/, '');
}

/** A repeatable option's values, in order (commander's argument parser). */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];
