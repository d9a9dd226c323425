import type { PackSpec } from '@backstage-dex/plugin-dex-common';
import type { PackMaterial } from './material';
import { labels, objectNames } from './names';
import type { KubeObject } from './render';

/** The data key of a TLS Secret's certificate in the `<instance>-certificates` ConfigMap. */
export const CERTIFICATE_KEY_SUFFIX = '.crt';

/**
 * The pack's public certificates (CA and serving certificates, never a key) in a ConfigMap, keyed
 * `<secret name>.crt`: what the status card shows about certificates, readable without any access
 * to Secrets.
 */
export function certificatesConfigMap(
  spec: PackSpec,
  material: PackMaterial,
): KubeObject {
  const n = objectNames(spec);
  const data: Record<string, string> = {
    [`${n.caSecret}${CERTIFICATE_KEY_SUFFIX}`]: material.ca.certPem,
    [`${n.tlsSecret}${CERTIFICATE_KEY_SUFFIX}`]: material.dexTls.certPem,
  };
  if (spec.authenticator.enabled && material.authenticatorTls) {
    data[`${n.authenticatorTlsSecret}${CERTIFICATE_KEY_SUFFIX}`] =
      material.authenticatorTls.certPem;
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: n.certificatesConfigMap,
      namespace: spec.namespace,
      labels: labels(spec, 'shared'),
    },
    data,
  };
}
