// What the real API server refuses beyond the schemas (its validation code, apimachinery's validation rules), for
// the objects and fields Guardgate writes: names (DNS-1123 subdomains; DNS-1035 labels for Services), label keys
// and values, annotation size, a Deployment selector that must match its template's labels and never change, unique
// container and port names, ConfigMap and Secret keys, HTTPRoute weights. Messages as the API server words them.
import type { KubeObject } from './api-server.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** One refusal: the field path and why. */
export interface FieldError {
  field: string;
  detail: string;
}

const invalid = (field: string, value: unknown, why: string): FieldError => ({
  field,
  detail: `Invalid value: ${JSON.stringify(value)}: ${why}`,
});

function nameErrors(kind: string, name: unknown): FieldError[] {
  if (typeof name !== 'string' || name === '')
    return [{ field: 'metadata.name', detail: 'Required value: name or generateName is required' }];
  if (kind === 'Service' || kind === 'Namespace') {
    const pattern = kind === 'Service' ? DNS1035_LABEL : DNS1123_LABEL;
    if (name.length > 63 || !pattern.test(name))
      return [
        invalid(
          'metadata.name',
          name,
          `a ${kind === 'Service' ? 'DNS-1035' : 'DNS-1123'} label must consist of lower case alphanumeric characters or '-', start ${kind === 'Service' ? 'with an alphabetic character' : 'and end with an alphanumeric character'}, and be at most 63 characters`,
        ),
      ];
    return [];
  }
  if (name.length > 253 || !DNS1123_SUBDOMAIN.test(name))
    return [
      invalid(
        'metadata.name',
        name,
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
      ),
    ];
  return [];
}

function qualifiedNameErrors(field: string, key: string): FieldError[] {
  const slash = key.lastIndexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  const errors: FieldError[] = [];
  if (prefix !== undefined && (prefix.length > 253 || !DNS1123_SUBDOMAIN.test(prefix)))
    errors.push(invalid(field, key, 'prefix part a lowercase RFC 1123 subdomain'));
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name))
    errors.push(
      invalid(
        field,
        key,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)",
      ),
    );
  return errors;
}

function labelErrors(field: string, labels: Record<string, unknown> | undefined): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    errors.push(...qualifiedNameErrors(field, key));
    if (typeof value !== 'string' || value.length > 63 || !LABEL_VALUE.test(value))
      errors.push(
        invalid(
          `${field}.${key}`,
          value,
          "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)",
        ),
      );
  }
  return errors;
}

function metadataErrors(object: KubeObject): FieldError[] {
  const annotations = object.metadata.annotations ?? {};
  const size = Object.entries(annotations).reduce((n, [k, v]) => n + k.length + String(v).length, 0);
  return [
    ...(object.metadata.generateName !== undefined && object.metadata.name === undefined
      ? []
      : nameErrors(object.kind, object.metadata.name)),
    ...labelErrors('metadata.labels', object.metadata.labels),
    ...Object.keys(annotations).flatMap((k) => qualifiedNameErrors('metadata.annotations', k)),
    ...(size > 256 * 1024
      ? [{ field: 'metadata.annotations', detail: `Too long: must have at most 262144 bytes` }]
      : []),
  ];
}

function podSpecErrors(field: string, spec: any): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  for (const [i, container] of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])].entries()) {
    const at = `${field}.containers[${i}]`;
    if (typeof container.name !== 'string' || container.name.length > 63 || !DNS1123_LABEL.test(container.name))
      errors.push(invalid(`${at}.name`, container.name, 'a lowercase RFC 1123 label'));
    else if (names.has(container.name))
      errors.push({ field: `${at}.name`, detail: `Duplicate value: ${JSON.stringify(container.name)}` });
    names.add(container.name);
    const ports = new Set<string>();
    for (const [j, port] of (container.ports ?? []).entries()) {
      if (port.name === undefined) continue;
      if (port.name.length > 15 || !IANA_SVC_NAME.test(port.name) || !/[a-z]/.test(port.name))
        errors.push(
          invalid(
            `${at}.ports[${j}].name`,
            port.name,
            "must be no more than 15 characters, lower case alphanumeric or '-', with at least one letter",
          ),
        );
      else if (ports.has(port.name))
        errors.push({ field: `${at}.ports[${j}].name`, detail: `Duplicate value: ${JSON.stringify(port.name)}` });
      ports.add(port.name);
    }
  }
  return errors;
}

function kindErrors(object: KubeObject, current: KubeObject | undefined): FieldError[] {
  const spec = object.spec;
  switch (object.kind) {
    case 'Deployment':
    case 'ReplicaSet': {
      const selector = spec?.selector?.matchLabels ?? {};
      const labels = spec?.template?.metadata?.labels ?? {};
      const errors = [
        ...labelErrors('spec.selector.matchLabels', selector),
        ...labelErrors('spec.template.metadata.labels', labels),
        ...podSpecErrors('spec.template.spec', spec?.template?.spec),
      ];
      if (Object.keys(selector).length === 0 && (spec?.selector?.matchExpressions ?? []).length === 0)
        errors.push({ field: 'spec.selector', detail: 'Invalid value: empty selector is invalid for deployment' });
      if (!Object.entries(selector).every(([k, v]) => labels[k] === v))
        errors.push(invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
      if (current !== undefined && JSON.stringify(current.spec?.selector) !== JSON.stringify(spec?.selector))
        errors.push(invalid('spec.selector', spec?.selector, 'field is immutable'));
      return errors;
    }
    case 'Pod':
      return podSpecErrors('spec', spec);
    case 'Service': {
      const errors = labelErrors('spec.selector', spec?.selector);
      const names = (spec?.ports ?? []).map((p: { name?: string }) => p.name);
      if (names.length > 1 && names.some((n: string | undefined) => n === undefined))
        errors.push({ field: 'spec.ports', detail: 'Required value: every port of a multi-port Service needs a name' });
      if (
        current?.spec?.clusterIP !== undefined &&
        spec?.clusterIP !== undefined &&
        spec.clusterIP !== current.spec.clusterIP
      )
        errors.push(invalid('spec.clusterIP', spec.clusterIP, 'field is immutable'));
      return errors;
    }
    case 'ConfigMap':
    case 'Secret': {
      const keys = [...Object.keys(object.data ?? {}), ...Object.keys(object.stringData ?? {})];
      const size = JSON.stringify(object.data ?? {}).length;
      return [
        ...keys
          .filter((k) => !CONFIG_KEY.test(k) || k.length > 253)
          .map((k) =>
            invalid(`data[${k}]`, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"),
          ),
        ...(size > 1024 * 1024 ? [{ field: 'data', detail: 'Too long: must have at most 1048576 bytes' }] : []),
      ];
    }
    case 'HTTPRoute':
      return (spec?.rules ?? []).flatMap((rule: any, i: number) =>
        (rule.backendRefs ?? [])
          .filter(
            (b: { weight?: number }) =>
              b.weight !== undefined && (b.weight < 0 || b.weight > 1_000_000 || !Number.isInteger(b.weight)),
          )
          .map((b: { weight?: number }) =>
            invalid(`spec.rules[${i}].backendRefs.weight`, b.weight, 'must be an integer from 0 to 1000000'),
          ),
      );
    default:
      return [];
  }
}

/** Why the API server would refuse `object` (replacing `current`, when given), or an empty list. Pure. */
export function semanticErrors(object: KubeObject, current?: KubeObject): FieldError[] {
  return [...metadataErrors(object), ...kindErrors(object, current)];
}
