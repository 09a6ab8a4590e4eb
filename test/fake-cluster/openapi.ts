// The OpenAPI v3 documents the API server publishes (/openapi/v3 and one per group-version), as far as kubectl
// reads them to decide how to validate: a kind whose PATCH operation takes the `fieldValidation` query parameter is
// validated by the server (kubectl sends fieldValidation=Strict and the server refuses unknown fields), not by a
// schema kubectl would otherwise fetch as OpenAPI v2 protobuf. Schemas of the objects themselves are not served.
import { createHash } from 'node:crypto';
import type { ResourceType } from './api-server.js';

const pathOf = (type: ResourceType) =>
  type.group === '' ? `api/${type.version}` : `apis/${type.group}/${type.version}`;

const QUERY = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

/** The document of one group-version (`api/v1`, `apis/apps/v1`): each kind's object path and its PATCH operation. */
export function groupVersionDocument(types: ResourceType[], groupVersionPath: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const type of types.filter((t) => pathOf(t) === groupVersionPath)) {
    const scope = type.namespaced ? '/namespaces/{namespace}' : '';
    paths[`/${groupVersionPath}${scope}/${type.plural}/{name}`] = {
      patch: {
        operationId: `patch${type.kind}`,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: type.group, version: type.version, kind: type.kind },
        parameters: QUERY.map((name) => ({
          name,
          in: 'query',
          schema: { type: name === 'force' ? 'boolean' : 'string' },
        })),
        responses: { '200': { description: 'OK' } },
      },
    };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.4' }, paths };
}

/** The index: one entry a group-version, each with the address of its document (a hash of it, as the real one has). */
export function openApiIndex(types: ResourceType[]): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const path of new Set(types.map(pathOf))) {
    const hash = createHash('sha512')
      .update(JSON.stringify(groupVersionDocument(types, path)))
      .digest('hex')
      .toUpperCase();
    paths[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hash}` };
  }
  return { paths };
}
