import crypto from 'node:crypto';
import YAML from 'yaml';
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import type { LocalCluster } from '@backstage-dex/local-cluster';
import {
  DEFAULT_USABLE_SECRET_LABEL,
  PackSpec,
  PackSpecInput,
  withDefaults,
} from '@backstage-dex/plugin-dex-common';
import { clientNode } from '../cluster/clientNode';
import { KeyPool } from '../pack/certificates';

/**
 * The KubeConfig of a local cluster's admin, or of a stand-in server (a fresh instance: its own
 * API discovery cache).
 */
export async function adminKubeConfig(
  cluster: Pick<LocalCluster, 'kubeconfig'>,
): Promise<KubeConfig> {
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  return kc;
}

/**
 * A KeyPool of `count` keys made before the runs that take them start, and never refilled, so no
 * key is generated while runs read and write (a backend's pool refills after each run's writes).
 * Why: RSA key generation costs more CPU than a run's requests; on a small machine that also runs
 * the local apiserver, 60 keys generated during 20 parallel runs starved the apiserver past the
 * 30 s request bound under load (10 such test files at once: 7 of 10 failed with "did not answer
 * within 30000 ms"; with the keys made ahead, none).
 */
export async function keysMadeAhead(count: number): Promise<KeyPool> {
  const pool = new KeyPool(count);
  await pool.settled();
  pool.refill = () => {};
  return pool;
}

/** The spec of a pack with both components, Dex behind an Ingress. */
export function packSpec(
  namespace: string,
  overrides: Partial<PackSpecInput> = {},
): PackSpec {
  return withDefaults({
    cluster: 'local',
    namespace,
    instance: 'dex',
    kubernetesId: 'payments-api',
    dex: {
      exposure: {
        serviceType: 'ClusterIP',
        ingress: { enabled: true, hosts: [`dex.${namespace}.example.test`] },
      },
    },
    authenticator: { exposure: { serviceType: 'ClusterIP' } },
    ...overrides,
  });
}

/**
 * What a first apply did that a first apply should not: every object of the installation is
 * created; Dex's CRDs are shared on the cluster, so another run (or an earlier test) may have
 * made them already. Empty when the apply was a proper first one.
 */
export function unexpectedFirstApplyActions(apply: {
  objects: { kind: string; name: string; action: string }[];
}): string[] {
  return apply.objects
    .filter(o =>
      o.kind === 'CustomResourceDefinition'
        ? o.action !== 'create' && o.action !== 'unchanged'
        : o.action !== 'create',
    )
    .map(o => `${o.kind}/${o.name}: ${o.action}`);
}

/** Every kind a pack uses, listed cluster-wide: "Kind/namespace/name" -> resourceVersion. */
export async function clusterSnapshot(
  kc: KubeConfig,
): Promise<Map<string, string>> {
  const k8s = await clientNode();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const net = kc.makeApiClient(k8s.NetworkingV1Api);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const lists: [
    string,
    Promise<{
      items: {
        metadata?: {
          name?: string;
          namespace?: string;
          resourceVersion?: string;
        };
      }[];
    }>,
  ][] = [
    ['Namespace', core.listNamespace()],
    ['Secret', core.listSecretForAllNamespaces()],
    ['ConfigMap', core.listConfigMapForAllNamespaces()],
    ['ServiceAccount', core.listServiceAccountForAllNamespaces()],
    ['Service', core.listServiceForAllNamespaces()],
    ['Deployment', apps.listDeploymentForAllNamespaces()],
    ['Role', rbac.listRoleForAllNamespaces()],
    ['RoleBinding', rbac.listRoleBindingForAllNamespaces()],
    ['ClusterRole', rbac.listClusterRole()],
    ['ClusterRoleBinding', rbac.listClusterRoleBinding()],
    ['Ingress', net.listIngressForAllNamespaces()],
    ['CustomResourceDefinition', ext.listCustomResourceDefinition()],
  ];
  const out = new Map<string, string>();
  for (const [kind, list] of lists) {
    for (const o of (await list).items) {
      out.set(
        `${kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`,
        o.metadata?.resourceVersion ?? '',
      );
    }
  }
  return out;
}

/** Keys whose resourceVersion differs between two snapshots, plus added and removed keys. */
export function snapshotDiff(
  before: Map<string, string>,
  after: Map<string, string>,
): string[] {
  const out: string[] = [];
  for (const [k, v] of before) {
    if (!after.has(k)) out.push(`removed ${k}`);
    else if (after.get(k) !== v) out.push(`changed ${k}`);
  }
  for (const k of after.keys()) if (!before.has(k)) out.push(`added ${k}`);
  return out;
}

export async function readSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
): Promise<V1Secret> {
  const k8s = await clientNode();
  return kc
    .makeApiClient(k8s.CoreV1Api)
    .readNamespacedSecret({ name, namespace });
}

/** A Secret's key, decoded. */
export function secretValue(secret: V1Secret, key: string): string | undefined {
  const v = secret.data?.[key];
  return v === undefined
    ? undefined
    : Buffer.from(v, 'base64').toString('utf8');
}

/**
 * A Secret as a platform team makes it for packs: labelled usable by them (the default label), or
 * with `usable: false` any other Secret of the namespace, which a spec may not reference.
 */
export async function createSecret(
  kc: KubeConfig,
  namespace: string,
  name: string,
  stringData: Record<string, string>,
  { usable = true }: { usable?: boolean } = {},
) {
  const k8s = await clientNode();
  const label = DEFAULT_USABLE_SECRET_LABEL;
  await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
    namespace,
    body: {
      metadata: {
        name,
        namespace,
        ...(usable ? { labels: { [label.key]: label.value } } : {}),
      },
      stringData,
    },
  });
}

export async function createNamespace(kc: KubeConfig, name: string) {
  const k8s = await clientNode();
  await kc
    .makeApiClient(k8s.CoreV1Api)
    .createNamespace({ body: { metadata: { name } } });
}

/**
 * Checks that the pack in a namespace is one consistent whole: the client secret Dex knows is the
 * one the authenticator gets, the serving certificates are signed by the CA the pack stores, and
 * the Deployments were rendered from the config and certificates that are there now.
 */
export async function expectConsistentPack(
  kc: KubeConfig,
  namespace: string,
): Promise<{ caPem: string; clientSecret: string }> {
  const [ca, tls, authTls, clients, config] = await Promise.all(
    [
      'dex-ca',
      'dex-tls',
      'dex-authenticator-tls',
      'dex-clients',
      'dex-config',
    ].map(n => readSecret(kc, namespace, n)),
  );
  const caPem = secretValue(ca, 'tls.crt')!;
  const caCert = new crypto.X509Certificate(caPem);
  expect(
    caCert.checkPrivateKey(
      crypto.createPrivateKey(secretValue(ca, 'tls.key')!),
    ),
  ).toBe(true);
  for (const s of [tls, authTls]) {
    const cert = new crypto.X509Certificate(secretValue(s, 'tls.crt')!);
    expect({
      secret: s.metadata?.name,
      signedByCa: cert.verify(caCert.publicKey),
    }).toEqual({ secret: s.metadata?.name, signedByCa: true });
    expect(
      cert.checkPrivateKey(crypto.createPrivateKey(secretValue(s, 'tls.key')!)),
    ).toBe(true);
    expect(secretValue(s, 'ca.crt')).toBe(caPem);
  }

  const clientSecret = secretValue(clients, 'kubernetes')!;
  const configYaml = secretValue(config, 'config.yaml')!;
  const dex = YAML.parse(configYaml);
  expect(
    dex.staticClients.find((c: { id: string }) => c.id === 'kubernetes').secret,
  ).toBe(clientSecret);

  const k8s = await clientNode();
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const [dexDeployment, authDeployment, settings] = await Promise.all([
    apps.readNamespacedDeployment({ name: 'dex', namespace }),
    apps.readNamespacedDeployment({ name: 'dex-authenticator', namespace }),
    core.readNamespacedConfigMap({ name: 'dex-apiserver-settings', namespace }),
  ]);
  const env = authDeployment.spec!.template.spec!.containers[0].env!;
  expect(
    env.find(e => e.name === 'DEX_CLIENT_SECRET')?.valueFrom?.secretKeyRef,
  ).toEqual({ name: 'dex-clients', key: 'kubernetes' });
  const checksum = (s: string) =>
    crypto.createHash('sha256').update(s).digest('hex');
  // The Deployment's checksum was computed from this very config and certificate.
  expect(
    dexDeployment.spec!.template.metadata!.annotations![
      'dex.backstage.io/config-checksum'
    ],
  ).toBe(checksum(configYaml + secretValue(tls, 'tls.crt')!));
  expect(settings.data!['ca.crt']).toBe(caPem);
  return { caPem, clientSecret };
}
