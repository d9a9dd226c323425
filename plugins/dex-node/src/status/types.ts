import type { V1ConfigMap, V1Deployment, V1Ingress, V1Service } from '@kubernetes/client-node';

/** What a certificate's expiry needs: read from the certificate alone, never from a key. */
export interface CertificateSummary {
  subject: string;
  notAfter: Date;
}

/** A kubernetes.io/tls Secret reduced to its certificates (tls.crt, ca.crt); key and data dropped. */
export interface TlsSecretCertificates {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  certificate?: CertificateSummary;
  ca?: CertificateSummary;
}

/**
 * The labelled objects of one entity on one cluster, as listed (one list per kind). Secrets are
 * already reduced to their certificates, so a snapshot (and the cache that holds it) carries no
 * secret data.
 */
export interface ClusterSnapshot {
  deployments: V1Deployment[];
  services: V1Service[];
  ingresses: V1Ingress[];
  tlsSecrets: TlsSecretCertificates[];
  /** Only the `<instance>-apiserver-settings` ConfigMaps. */
  configMaps: V1ConfigMap[];
}

/** The kinds the status reader lists, one call each per cluster. */
export type StatusResource = 'deployments' | 'services' | 'ingresses' | 'secrets' | 'configmaps';

/** One Kubernetes API call made by the status reader (for counters in tests and benchmarks). */
export interface KubernetesCall {
  cluster: string;
  resource: StatusResource;
}
