// The gate runner: `POST /admin/gates/run` on its own, for a cluster where Argo Rollouts moves the traffic
// and Guardgate only proves candidates (`guardgate gates serve`). The same endpoint as `up`'s admin API,
// with `live` and `preview` the Services it was given. The admin token is both what callers present and
// what the gate requests carry (instances accept it by digest).
import type { Logger } from 'pino';
import { Authenticator } from '../auth/authenticator.js';
import { requireScope } from '../auth/fastify.js';
import { adminApp } from '../api/admin-app.js';
import { authSchema, resolveAuth } from '../config/auth.js';
import { EVIDENCE_HEADER } from '../shared/headers.js';
import type { TextMode } from '../store/audit/record.js';
import { registerGateEndpoint } from './endpoint.js';

/** The gate runner on its own: its endpoints, credential and listener. */
export interface GateServerOptions {
  /** The live Service (Argo's activeService) and the candidate's (previewService). */
  live: string;
  preview: string;
  /** More endpoints a caller may name by URL. */
  allow: readonly string[];
  adminToken: string;
  host: string;
  port: number;
  auditText: TextMode;
  /** Certificates gate requests trust besides the system's (a private CA); read at each run. */
  trust?: (() => string[]) | undefined;
}

/** A started gate runner. */
export interface RunningGateServer {
  url: string;
  close(): Promise<void>;
}

/** Start the gate runner (`guardgate gates serve`). */
export async function startGateServer(options: GateServerOptions, log: Logger): Promise<RunningGateServer> {
  const authenticator = await Authenticator.create(resolveAuth(authSchema.parse({ anonymous: false }), {}), {
    adminToken: options.adminToken,
  });
  const app = adminApp(log, 'gate-runner');
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.register(async (admin) => {
    requireScope(admin, authenticator, 'admin');
    registerGateEndpoint(admin, {
      endpoints: () => ({
        live: { url: options.live.replace(/\/$/, ''), headers: {} },
        preview: { url: options.preview.replace(/\/$/, ''), headers: {} },
      }),
      allowed: () => options.allow,
      credentials: () => ({ authorization: `Bearer ${options.adminToken}`, [EVIDENCE_HEADER]: '1' }),
      auditText: options.auditText,
      trust: options.trust,
      log,
    });
  });
  const url = await app.listen({ host: options.host, port: options.port });
  return {
    url,
    close: async () => {
      await app.close();
      authenticator.close();
    },
  };
}
