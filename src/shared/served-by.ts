// Which environment gave an answer: every instance names its color and version in its response headers (the
// router puts its pool's there too), so that a gate can check that the side it meant answered.
/** The color that answered, on every answer of an instance (and the router). */
export const COLOR_HEADER = 'x-guardgate-color';
/** The version that answered. */
export const VERSION_HEADER = 'x-guardgate-version';

/** Who answered, as the answer says. */
export interface ServedBy {
  color: string | undefined;
  version: string | undefined;
}

type Headers = Record<string, string | string[] | undefined>;

const first = (value: string | string[] | undefined): string | undefined => (Array.isArray(value) ? value[0] : value);

/** The color and version an answer names (undefined where an older instance names none). */
export const servedBy = (headers: Headers): ServedBy => ({
  color: first(headers[COLOR_HEADER]),
  version: first(headers[VERSION_HEADER]),
});

/** Why an answer is not the expected color's, or undefined when it is (or names no color: an older instance). Pure. */
export function wrongSide(answer: ServedBy, expected: string): string | undefined {
  if (answer.color === undefined || answer.color === expected) return undefined;
  return `answered by ${answer.color}${answer.version ? ` (${answer.version})` : ''}, not ${expected}`;
}
