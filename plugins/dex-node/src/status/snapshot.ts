import type {
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1Service,
} from '@kubernetes/client-node';
import {
  ANNOTATION_OWNER_ENTITY_REF,
  LABEL_INSTANCE,
} from '@backstage-dex/plugin-dex-common';
import type { ProtoMessage } from '../cluster/protobuf';
import { certificateInfo } from '../pack/certificates';
import { CERTIFICATE_KEY_SUFFIX } from '../pack/publishedCertificates';
import { LISTED_FIELDS } from './listedFields';
import {
  CertificateSummary,
  ClusterSnapshot,
  StatusResource,
  TlsSecretCertificates,
} from './types';

/** The kinds the status reader lists, each cluster-wide in one call, and the fields it reads. */
export const LISTED: Record<
  StatusResource,
  { apiVersion: string; kind: string; fields: ProtoMessage }
> = {
  deployments: {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    fields: LISTED_FIELDS.deployments,
  },
  services: {
    apiVersion: 'v1',
    kind: 'Service',
    fields: LISTED_FIELDS.services,
  },
  ingresses: {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    fields: LISTED_FIELDS.ingresses,
  },
  configmaps: {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    fields: LISTED_FIELDS.configmaps,
  },
};

function summary(pem: string | undefined): CertificateSummary | undefined {
  if (!pem) return undefined;
  try {
    const info = certificateInfo(pem);
    return { subject: info.subject, notAfter: info.notAfter };
  } catch {
    return undefined;
  }
}

/**
 * The certificates a pack publishes in its `<instance>-certificates` ConfigMap (public
 * certificates only), one entry per TLS Secret they belong to, each with the pack's CA.
 */
function publishedCertificatesOf(
  configMap: V1ConfigMap,
): TlsSecretCertificates[] {
  const meta = configMap.metadata ?? {};
  const instance = meta.labels?.[LABEL_INSTANCE];
  const data = configMap.data ?? {};
  const ca = summary(data[`${instance}-ca${CERTIFICATE_KEY_SUFFIX}`]);
  return Object.keys(data)
    .filter(
      k =>
        k.endsWith(CERTIFICATE_KEY_SUFFIX) &&
        k !== `${instance}-ca${CERTIFICATE_KEY_SUFFIX}`,
    )
    .map(k => ({
      namespace: meta.namespace ?? '',
      name: k.slice(0, -CERTIFICATE_KEY_SUFFIX.length),
      entityRef: meta.annotations?.[ANNOTATION_OWNER_ENTITY_REF],
      labels: meta.labels ?? {},
      certificate: summary(data[k]),
      ca,
    }));
}

/**
 * publishedCertificatesOf per ConfigMap object: a watch-fed copy keeps the same object until it
 * changes, so its certificates are read once per version.
 */
const published = new WeakMap<object, TlsSecretCertificates[]>();

function publishedCertificates(configMap: V1ConfigMap) {
  let certificates = published.get(configMap);
  if (!certificates) {
    certificates = publishedCertificatesOf(configMap);
    published.set(configMap, certificates);
  }
  return certificates;
}

/** A snapshot from the four kinds' objects (as listed, or from a watch-fed copy). */
export function snapshotFromLists(lists: {
  deployments: KubernetesObject[];
  services: KubernetesObject[];
  ingresses: KubernetesObject[];
  configMaps: KubernetesObject[];
}): ClusterSnapshot {
  // The JSON as the apiserver sends it: the casts only name the kinds.
  const configMaps = lists.configMaps as V1ConfigMap[];
  return {
    deployments: lists.deployments as V1Deployment[],
    services: lists.services as V1Service[],
    ingresses: lists.ingresses as V1Ingress[],
    tlsSecrets: configMaps
      .filter(
        c =>
          c.metadata?.name ===
          `${c.metadata?.labels?.[LABEL_INSTANCE]}-certificates`,
      )
      .flatMap(publishedCertificates),
    configMaps: configMaps
      .filter(c => c.metadata?.name?.endsWith('-apiserver-settings'))
      .map(c => ({ metadata: c.metadata, data: c.data })),
  };
}
