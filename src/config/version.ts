// A deployed version's name: printable ASCII, because it travels in response headers (x-guardgate-version),
// labels and queries; a newline or a non-Latin-1 letter there would fail every answer.
import { z } from 'zod';

/** A version name. */
export const versionSchema = z
  .string()
  .regex(
    /^[!-~](?:[ -~]{0,126}[!-~])?$/,
    'printable ASCII (letters, digits, punctuation), 1 to 128 characters, no spaces at either end: it travels in response headers',
  );
