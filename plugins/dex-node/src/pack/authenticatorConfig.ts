import { PackSpec } from '@backstage-dex/plugin-dex-common';
import {
  AUTHENTICATOR_PORT,
  authenticatorRedirectUri,
  authenticatorUrl,
  issuerUrl,
} from './names';

export const AUTHENTICATOR_PATHS = {
  configDir: '/app/config',
  config: '/app/config/config.yaml',
  tlsCert: '/app/tls/tls.crt',
  tlsKey: '/app/tls/tls.key',
  dexCa: '/app/dex-ca/ca.crt',
};

/** The env var the authenticator substitutes (`${...}`) with the client secret from a Secret. */
export const AUTHENTICATOR_SECRET_ENV = 'DEX_CLIENT_SECRET';

/**
 * dex-k8s-authenticator's config.yaml. It holds no secret: the client secret is a `${VAR}`
 * reference the authenticator fills from its environment (a secretKeyRef), so the config can
 * live in a ConfigMap.
 */
/** The path the authenticator serves under, with a trailing slash ("/" or e.g. "/login/"). */
export function authenticatorWebPathPrefix(spec: PackSpec): string {
  const prefix = new URL(authenticatorUrl(spec)).pathname || '/';
  return prefix.endsWith('/') ? prefix : `${prefix}/`;
}

export function authenticatorConfig(spec: PackSpec): Record<string, unknown> {
  const cluster: Record<string, unknown> = {
    name: spec.cluster,
    short_description: spec.cluster,
    description: `Kubernetes cluster ${spec.cluster}, signed in through Dex at ${issuerUrl(spec)}`,
    issuer: issuerUrl(spec),
    client_id: spec.clientId,
    client_secret: `\${${AUTHENTICATOR_SECRET_ENV}}`,
    redirect_uri: authenticatorRedirectUri(spec),
  };
  if (spec.authenticator.apiServerUrl)
    cluster.k8s_master_uri = spec.authenticator.apiServerUrl;
  if (spec.authenticator.apiServerCaPem)
    cluster.k8s_ca_pem = spec.authenticator.apiServerCaPem;
  return {
    listen: `https://0.0.0.0:${AUTHENTICATOR_PORT}`,
    web_path_prefix: authenticatorWebPathPrefix(spec),
    tls_cert: AUTHENTICATOR_PATHS.tlsCert,
    tls_key: AUTHENTICATOR_PATHS.tlsKey,
    // Its own calls to Dex (discovery, code exchange) trust the system pool plus this file only;
    // the image's /certs alternative needs root, which the pod does not have.
    trusted_root_ca_file: AUTHENTICATOR_PATHS.dexCa,
    // Only copied into the kubeconfigs it hands out.
    idp_ca_pem_file: AUTHENTICATOR_PATHS.dexCa,
    clusters: [cluster],
  };
}
