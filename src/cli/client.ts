// How CLI commands reach the running controller: its admin URL (--admin-url, GUARDGATE_ADMIN_URL, or the
// data directory's controller.json) and token (GUARDGATE_ADMIN_TOKEN, or the data directory's admin-token).
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { controllerFile } from '../app/files.js';
import { EXIT } from './exit-codes.js';

/** A command's failure: its exit code, and the stable error code `--json` reports (the API's own when it answered one). */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

/** A client of the admin API. */
export interface AdminClient {
  url: string;
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

/** Where the admin API is and how to reach it. */
export interface ClientFlags {
  dataDir: string;
  adminUrl?: string;
  /** The admin token; default: GUARDGATE_ADMIN_TOKEN, or the data directory's admin-token. */
  token?: string;
}

/** A client of the running controller's admin API. */
export function adminClient(flags: ClientFlags): AdminClient {
  const file = controllerFile(flags.dataDir);
  const url =
    flags.adminUrl ??
    process.env.GUARDGATE_ADMIN_URL ??
    (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { adminUrl: string }).adminUrl : undefined);
  if (url === undefined) {
    throw new CliExit(
      EXIT.unreachable,
      `no running controller found in ${resolve(flags.dataDir)}: start guardgate up, or pass its --data-dir (or GUARDGATE_DATA_DIR), or set GUARDGATE_ADMIN_URL`,
    );
  }
  const tokenFile = join(flags.dataDir, 'admin-token');
  const token =
    flags.token ??
    process.env.GUARDGATE_ADMIN_TOKEN ??
    (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '');
  return {
    url,
    call: async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      let response: Response;
      try {
        response = await fetch(`${url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (error) {
        const cause = (error as Error & { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (error as Error).message;
        throw new CliExit(
          EXIT.unreachable,
          `nothing answers at ${url} (${why}): is guardgate up running? Start it with guardgate up (npm start), or pass its --data-dir or --admin-url`,
          'unreachable',
        );
      }
      const parsed = (await response.json().catch(() => ({}))) as T & { error?: { code: string; message: string } };
      if (!response.ok)
        throw new CliExit(
          response.status < 500 ? EXIT.usage : EXIT.failure,
          parsed.error?.message ?? `the controller answered HTTP ${response.status}`,
          parsed.error?.code ?? `http_${response.status}`,
        );
      return parsed;
    },
  };
}
