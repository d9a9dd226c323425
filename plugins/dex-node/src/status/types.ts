import type {
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1Service,
} from '@kubernetes/client-node';

/** What a certificate's expiry needs: read from the certificate alone, never from a key. */
export interface CertificateSummary {
  subject: string;
  notAfter: Date;
}

/**
 * The certificates of one of a pack's TLS Secrets (its certificate and the pack's CA), as the pack
 * publishes them in its `<instance>-certificates` ConfigMap; the Secret itself is never read.
 */
export interface TlsSecretCertificates {
  namespace: string;
  /** The TLS Secret's name. */
  name: string;
  labels: Record<string, string>;
  /** The entity ref the ConfigMap was stamped with. */
  entityRef?: string;
  certificate?: CertificateSummary;
  ca?: CertificateSummary;
}

/**
 * The labelled objects of one entity on one cluster, as listed (one list per kind). No Secret is
 * listed, so a snapshot (and the cache that holds it) carries no secret data.
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
export type StatusResource =
  'deployments' | 'services' | 'ingresses' | 'configmaps';

/** One Kubernetes API call made by the status reader (for counters in tests and benchmarks). */
export interface KubernetesCall {
  cluster: string;
  resource: StatusResource;
  /** A list (the default), or the start of a watch (StatusWatches). */
  verb?: 'list' | 'watch';
}
