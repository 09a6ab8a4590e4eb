// Where `guardgate up` keeps what other commands look for in its data directory.
import { join } from 'node:path';

/** Where the CLI finds the running controller. */
export const controllerFile = (dataDir: string): string => join(dataDir, 'controller.json');

/** Where `guardgate keys add` keeps API keys for `up` (digests only). */
export const apiKeysFile = (dataDir: string): string => join(dataDir, 'api-keys.json');
