// What build this is: the package version, read once.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** What this build is: name, version and Node.js version. */
export const BUILD = { name: 'guardgate', version: pkg.version, node: process.version };
