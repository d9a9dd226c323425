import type {
  V1ConfigMap,
  V1Deployment,
  V1Ingress,
  V1ObjectMeta,
  V1Service,
} from '@kubernetes/client-node';
import {
  CertificateStatus,
  ComponentStatus,
  DEFAULT_POLICY,
  DexInstallation,
  Endpoint,
  IngressStatus,
  LABEL_INSTANCE,
  LABEL_NAME,
  PlatformPolicy,
  ServiceType,
  compareVersions,
  versionFromImage,
} from '@backstage-dex/plugin-dex-common';
import { clusterApiRecordOf } from '../apiServer/record';
import {
  CertificateSummary,
  ClusterSnapshot,
  TlsSecretCertificates,
} from './types';

const DAY = 24 * 3600 * 1000;
const DEX = 'dex';
const AUTHENTICATOR = 'dex-k8s-authenticator';

type ComponentName = ComponentStatus['name'];

/** Where a cluster is, for endpoints that need it (NodePort URLs use the API server's host). */
export interface SnapshotCluster {
  name: string;
  /** The API server URL, e.g. https://10.0.0.1:6443. */
  server?: string;
}

interface Group {
  namespace: string;
  instance: string;
  deployments: V1Deployment[];
  services: V1Service[];
  ingresses: V1Ingress[];
  tlsSecrets: TlsSecretCertificates[];
  configMap?: V1ConfigMap;
}

function labelsOf(meta: V1ObjectMeta | undefined): Record<string, string> {
  return meta?.labels ?? {};
}

function componentOf(
  meta: V1ObjectMeta | undefined,
): ComponentName | undefined {
  const name = labelsOf(meta)[LABEL_NAME];
  return name === DEX || name === AUTHENTICATOR ? name : undefined;
}

/** Groups objects by namespace and `app.kubernetes.io/instance`; objects without either are skipped. */
function groupByInstance(snapshot: ClusterSnapshot): Group[] {
  const groups = new Map<string, Group>();
  const groupFor = (
    namespace: string | undefined,
    labels: Record<string, string>,
  ) => {
    const instance = labels[LABEL_INSTANCE];
    if (!namespace || !instance) return undefined;
    const key = `${namespace}/${instance}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        namespace,
        instance,
        deployments: [],
        services: [],
        ingresses: [],
        tlsSecrets: [],
      };
      groups.set(key, g);
    }
    return g;
  };
  for (const d of snapshot.deployments)
    groupFor(d.metadata?.namespace, labelsOf(d.metadata))?.deployments.push(d);
  for (const s of snapshot.services)
    groupFor(s.metadata?.namespace, labelsOf(s.metadata))?.services.push(s);
  for (const i of snapshot.ingresses)
    groupFor(i.metadata?.namespace, labelsOf(i.metadata))?.ingresses.push(i);
  for (const s of snapshot.tlsSecrets)
    groupFor(s.namespace, s.labels)?.tlsSecrets.push(s);
  for (const c of snapshot.configMaps) {
    const g = groupFor(c.metadata?.namespace, labelsOf(c.metadata));
    if (g && c.metadata?.name === `${g.instance}-apiserver-settings`)
      g.configMap = c;
  }
  // A group is an installation only when it has one of Dex's or the authenticator's workloads or
  // entry points; a stray labelled Secret or ConfigMap alone is not reported.
  return [...groups.values()].filter(
    g => g.deployments.length || g.services.length || g.ingresses.length,
  );
}

function trimPath(path: string | undefined): string {
  if (!path || path === '/') return '';
  return path.replace(/\/$/, '');
}

function hostOf(server: string | undefined): string | undefined {
  if (!server) return undefined;
  try {
    return new URL(server).hostname;
  } catch {
    return undefined;
  }
}

function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function ingressStatus(ing: V1Ingress): IngressStatus {
  const addresses = (ing.status?.loadBalancer?.ingress ?? [])
    .map(a => a.hostname ?? a.ip)
    .filter((a): a is string => Boolean(a));
  return {
    name: ing.metadata?.name ?? '',
    className:
      ing.spec?.ingressClassName ??
      ing.metadata?.annotations?.['kubernetes.io/ingress.class'],
    hosts: (ing.spec?.rules ?? [])
      .map(r => r.host)
      .filter((h): h is string => Boolean(h)),
    tls: (ing.spec?.tls ?? []).length > 0,
    addresses,
    state: addresses.length ? 'ready' : 'pending',
  };
}

function ingressEndpoints(ing: V1Ingress, status: IngressStatus): Endpoint[] {
  const tls = ing.spec?.tls ?? [];
  const covered = (host: string) =>
    tls.some(t => !t.hosts?.length || t.hosts.includes(host));
  const endpoints: Endpoint[] = [];
  for (const rule of ing.spec?.rules ?? []) {
    if (!rule.host) continue;
    const path = trimPath(rule.http?.paths?.[0]?.path);
    endpoints.push({
      kind: 'ingress',
      url: `${covered(rule.host) ? 'https' : 'http'}://${rule.host}${path}`,
      ready: status.state === 'ready',
    });
  }
  return endpoints;
}

function serviceEndpoints(
  svc: V1Service,
  cluster: SnapshotCluster,
): Endpoint[] {
  const name = svc.metadata?.name ?? '';
  const namespace = svc.metadata?.namespace ?? '';
  const port = svc.spec?.ports?.[0];
  const endpoints: Endpoint[] = [];
  if (svc.spec?.type === 'LoadBalancer') {
    const addresses = (svc.status?.loadBalancer?.ingress ?? [])
      .map(a => a.hostname ?? a.ip)
      .filter((a): a is string => Boolean(a));
    if (addresses.length) {
      for (const a of addresses)
        endpoints.push({
          kind: 'loadBalancer',
          url: `https://${urlHost(a)}:${port?.port}`,
          ready: true,
        });
    } else {
      // No address yet: the cloud controller has not provisioned the load balancer.
      endpoints.push({ kind: 'loadBalancer', url: '', ready: false });
    }
  }
  if (svc.spec?.type === 'NodePort' && port?.nodePort) {
    // Any node's address works; the API server's host is the one address the backend knows.
    const host = hostOf(cluster.server);
    if (host)
      endpoints.push({
        kind: 'nodePort',
        url: `https://${urlHost(host)}:${port.nodePort}`,
        ready: true,
      });
  }
  if (port?.port && svc.spec?.clusterIP !== 'None') {
    endpoints.push({
      kind: 'clusterIP',
      url: `https://${name}.${namespace}.svc:${port.port}`,
      ready: true,
    });
  }
  return endpoints;
}

function health(
  d: V1Deployment | undefined,
  replicas: ComponentStatus['replicas'],
): ComponentStatus['health'] {
  if (!d) return 'missing';
  const conditions = d.status?.conditions ?? [];
  const failed =
    conditions.some(c => c.type === 'Progressing' && c.status === 'False') ||
    conditions.some(c => c.type === 'ReplicaFailure' && c.status === 'True');
  if (failed) return 'unhealthy';
  // As `kubectl rollout status`: healthy once the controller has seen the latest spec and no pod
  // of an older one is left; until then an old pod's readiness would pass for the new version's.
  const rolledOut =
    (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (d.status?.replicas ?? 0) <= replicas.updated;
  if (
    rolledOut &&
    replicas.ready >= replicas.desired &&
    replicas.updated >= replicas.desired
  )
    return 'healthy';
  return 'progressing';
}

function componentStatus(
  name: ComponentName,
  group: Group,
  cluster: SnapshotCluster,
  defaultVersion: string | undefined,
): ComponentStatus {
  const mine = <T extends { metadata?: V1ObjectMeta }>(items: T[]) =>
    items.filter(o => componentOf(o.metadata) === name);
  const deployment = mine(group.deployments)[0];
  const service = mine(group.services)[0];
  const ingress = mine(group.ingresses)[0];

  const containers = deployment?.spec?.template?.spec?.containers ?? [];
  const image = (containers.find(c => c.name === name) ?? containers[0])?.image;
  const version = image ? versionFromImage(image) : undefined;
  const replicas = {
    desired: deployment?.spec?.replicas ?? (deployment ? 1 : 0),
    ready: deployment?.status?.readyReplicas ?? 0,
    updated: deployment?.status?.updatedReplicas ?? 0,
  };
  const ing = ingress ? ingressStatus(ingress) : undefined;
  const type = service?.spec?.type;
  return {
    name,
    version,
    image,
    defaultVersion,
    updateAvailable: Boolean(
      version && defaultVersion && compareVersions(version, defaultVersion) < 0,
    ),
    serviceType:
      type === 'ClusterIP' || type === 'LoadBalancer' || type === 'NodePort'
        ? (type as ServiceType)
        : undefined,
    endpoints: [
      ...(ingress && ing ? ingressEndpoints(ingress, ing) : []),
      ...(service ? serviceEndpoints(service, cluster) : []),
    ],
    ingress: ing,
    replicas,
    health: health(deployment, replicas),
  };
}

function certificateStatus(
  name: string,
  cert: CertificateSummary,
  now: Date,
): CertificateStatus {
  return {
    name,
    subject: cert.subject,
    notAfter: cert.notAfter.toISOString(),
    daysLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY),
  };
}

function certificates(group: Group, now: Date): CertificateStatus[] {
  const result: CertificateStatus[] = [];
  const secrets = [...group.tlsSecrets].sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  // The pack's CA, as its TLS Secrets carry it (ca.crt); the CA Secret itself is never read.
  const ca =
    secrets.find(s => s.name === `${group.instance}-tls`)?.ca ??
    secrets.find(s => s.ca)?.ca;
  if (ca) result.push(certificateStatus(`${group.instance}-ca`, ca, now));
  for (const s of secrets)
    if (s.certificate)
      result.push(certificateStatus(s.name, s.certificate, now));
  return result;
}

function apiServer(cm: V1ConfigMap | undefined): DexInstallation['apiServer'] {
  const data = cm?.data;
  if (!data) return undefined;
  return {
    issuerUrl: data['issuer-url'] ?? '',
    clientId: data['client-id'] ?? '',
    flags: (data['oidc-flags'] ?? '')
      .split('\n')
      .map(f => f.trim())
      .filter(Boolean),
    authenticationConfiguration:
      data['authentication-configuration.yaml'] ?? '',
    ...(data['ca.crt'] ? { caPem: data['ca.crt'] } : {}),
  };
}

/**
 * Recorded specs by the ConfigMap data they were parsed from: a watch-fed copy keeps the same data
 * object until the ConfigMap changes, so each version is parsed once, not on every request.
 */
const recordedSpecs = new WeakMap<object, Pick<DexInstallation, 'spec'>>();

/** The spec the pack recorded (absent on installations made before it did, or unreadable). */
function recordedSpecOf(
  cm: V1ConfigMap | undefined,
): Pick<DexInstallation, 'spec'> {
  const data = cm?.data;
  const text = data?.['spec.json'];
  if (!data || !text) return {};
  let recorded = recordedSpecs.get(data);
  if (!recorded) {
    try {
      recorded = { spec: JSON.parse(text) };
    } catch {
      recorded = {};
    }
    recordedSpecs.set(data, recorded);
  }
  return recorded;
}

/**
 * The installations in one cluster's snapshot: pure, so it is tested with hand-made objects and
 * re-run on every request over a cached snapshot (versions against the current policy, days left
 * against the current time).
 */
export function installationsFromSnapshot(
  cluster: SnapshotCluster,
  snapshot: ClusterSnapshot,
  options: { policy?: PlatformPolicy; now?: Date } = {},
): DexInstallation[] {
  const policy = options.policy ?? DEFAULT_POLICY;
  const now = options.now ?? new Date();
  return groupByInstance(snapshot)
    .map(group => {
      const hasAuthenticator = [
        ...group.deployments,
        ...group.services,
        ...group.ingresses,
      ].some(o => componentOf(o.metadata) === AUTHENTICATOR);
      const settings = apiServer(group.configMap);
      const { apiVersion: _apiVersion, ...kubeadmControlPlane } =
        clusterApiRecordOf(group.configMap?.data) ?? {};
      const installation: DexInstallation = {
        cluster: cluster.name,
        namespace: group.namespace,
        instance: group.instance,
        issuerUrl: settings?.issuerUrl || undefined,
        dex: componentStatus(DEX, group, cluster, policy.dex.defaultVersion),
        authenticator: hasAuthenticator
          ? componentStatus(
              AUTHENTICATOR,
              group,
              cluster,
              policy.authenticator.defaultVersion,
            )
          : undefined,
        certificates: certificates(group, now),
        apiServer: settings,
        ...recordedSpecOf(group.configMap),
        ...(group.configMap?.data?.['kubectl-client-id']
          ? { kubectlClientId: group.configMap.data['kubectl-client-id'] }
          : {}),
        ...('name' in kubeadmControlPlane ? { kubeadmControlPlane } : {}),
      };
      return installation;
    })
    .sort(
      (a, b) =>
        a.namespace.localeCompare(b.namespace) ||
        a.instance.localeCompare(b.instance),
    );
}
