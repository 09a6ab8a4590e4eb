// Where clients come in: the live and preview Services (traffic service-selector, and Argo Rollouts' active
// and preview Services), the HTTPRoute on the operator's Gateway (traffic gateway-api), and an Ingress with
// TLS for a public host name (cert-manager makes the certificate when an issuer is named).
import { selectorService } from '../drivers/kubernetes/manifests.js';
import { httpRoute } from '../drivers/kubernetes/gateway.js';
import { meta, type KubeObject } from './meta.js';
import { secretNames, type RenderOptions } from './options.js';

/** The live Service `<app>` and the preview `<app>-preview`; blue live and green preview to start with. */
export function selectorServices(options: RenderOptions): KubeObject[] {
  return [selectorService(options, options.app, 'blue'), selectorService(options, `${options.app}-preview`, 'green')] as KubeObject[];
}

/** The route the controller writes, without its preview rule (it adds that with its own token). */
export const gatewayRoute = (options: RenderOptions): KubeObject =>
  httpRoute(options, { gateway: { ...options.gateway!, ...(options.host === undefined ? {} : { hostnames: [options.host] }) } }, 'blue') as KubeObject;

/** An Ingress to the Service `backend` on the public host, with TLS. */
export function ingress(options: RenderOptions, backend: string): KubeObject {
  const annotations = options.certManagerIssuer === undefined ? undefined : { 'cert-manager.io/cluster-issuer': options.certManagerIssuer };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: meta(options, options.app, {}, annotations),
    spec: {
      ...(options.ingressClass === undefined ? {} : { ingressClassName: options.ingressClass }),
      tls: [{ hosts: [options.host!], secretName: secretNames(options).tls }],
      rules: [{ host: options.host!, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: backend, port: { name: 'http' } } } }] } }],
    },
  };
}

/** An HTTPRoute straight to one Service (Argo Rollouts' active Service, whose selector Argo switches). */
export function routeTo(options: RenderOptions, service: string): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: meta(options, options.app),
    spec: {
      parentRefs: [{ name: options.gateway!.name, ...(options.gateway!.namespace ? { namespace: options.gateway!.namespace } : {}) }],
      ...(options.host === undefined ? {} : { hostnames: [options.host] }),
      rules: [{ backendRefs: [{ name: service, port: 80 }] }],
    },
  };
}
