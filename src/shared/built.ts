// Where a built file of this package is: the same path whether the caller runs from src/ (tests, through
// vitest) or from dist/ (installed). Child processes and worker threads need the built JavaScript.
import { fileURLToPath } from 'node:url';

/** The path of a file of the build (dist/), from any module of it. */
export const builtFile = (relative: string): string =>
  fileURLToPath(new URL(`../../dist/${relative}`, import.meta.url));
