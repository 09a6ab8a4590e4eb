// What every pod's configuration file says about access, the same whether the controller writes it (`up
// --driver kubernetes`) or `guardgate k8s render` does: references only. The admin token's digest and the
// router secret come from the Secret `<app>-env` the controller writes, read from its mount (ENV_SECRET_DIR) so
// that a rotation reaches running pods; API keys from the Secret the operator names (mounted at API_KEYS_FILE);
// the rest of the auth section is up's.
import type { AuthSettings } from '../../config/auth.js';
import { ADMIN_DIGEST_ENV, API_KEYS_FILE, ENV_SECRET_DIR, GATE_DIGEST_ENV, ROUTER_SECRET_ENV } from './manifests.js';

export { ADMIN_DIGEST_ENV, GATE_DIGEST_ENV, ROUTER_SECRET_ENV };

/** The auth section of the pods' configuration file: references only, never values. */
export function kubernetesPodConfig(auth: AuthSettings, apiKeysSecret: string | undefined): Record<string, unknown> {
  const { apiKeysFile: _local, adminToken: _token, adminTokenSha256: _digest, gateTokenSha256: _gate, ...rest } = auth;
  return {
    auth: {
      ...rest,
      ...(apiKeysSecret === undefined ? {} : { apiKeysFile: API_KEYS_FILE }),
      adminTokenSha256: { file: `${ENV_SECRET_DIR}/${ADMIN_DIGEST_ENV}` },
      gateTokenSha256: { file: `${ENV_SECRET_DIR}/${GATE_DIGEST_ENV}` },
    },
    routerSecret: { file: `${ENV_SECRET_DIR}/${ROUTER_SECRET_ENV}` },
    // Pods listen on the cluster network; with no credentials configured they serve anyone who reaches them there,
    // as up does on loopback (restrict them with a NetworkPolicy, or configure credentials).
    insecure: auth.anonymous === true,
  };
}
