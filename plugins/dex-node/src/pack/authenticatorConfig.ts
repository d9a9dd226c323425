import { PackSpec } from '@backstage-dex/plugin-dex-common';
import { AUTHENTICATOR_PORT, authenticatorRedirectUri, authenticatorUrl, issuerUrl } from './names';

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
export function authenticatorConfig(spec: PackSpec): Record<string, unknown> {
  const prefix = new URL(authenticatorUrl(spec)).pathname || '/';
  const cluster: Record<string, unknown> = {
    name: spec.cluster,
    short_description: spec.cluster,
    description: `Kubernetes cluster ${spec.cluster}, signed in through Dex at ${issuerUrl(spec)}`,
    issuer: issuerUrl(spec),
    client_id: spec.clientId,
    client_secret: `\${${AUTHENTICATOR_SECRET_ENV}}`,
    redirect_uri: authenticatorRedirectUri(spec),
  };
  if (spec.authenticator.apiServerUrl) cluster.k8s_master_uri = spec.authenticator.apiServerUrl;
  if (spec.authenticator.apiServerCaPem) cluster.k8s_ca_pem = spec.authenticator.apiServerCaPem;
  return {
    listen: `https://0.0.0.0:${AUTHENTICATOR_PORT}`,
    web_path_prefix: prefix.endsWith('/') ? prefix : `${prefix}/`,
    tls_cert: AUTHENTICATOR_PATHS.tlsCert,
    tls_key: AUTHENTICATOR_PATHS.tlsKey,
    idp_ca_pem_file: AUTHENTICATOR_PATHS.dexCa,
    clusters: [cluster],
  };
}
