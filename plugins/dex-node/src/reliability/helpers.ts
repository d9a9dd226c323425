import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import { LocalCluster } from '@backstage-dex/local-cluster';
import { PackSpec, PackSpecInput, withDefaults } from '@backstage-dex/plugin-dex-common';
import { clientNode } from '../cluster/clientNode';

/** An admin KubeConfig for a local cluster (a fresh instance: its own API discovery cache). */
export async function adminKubeConfig(cluster: LocalCluster): Promise<KubeConfig> {
  const k8s = await clientNode();
  const kc = new k8s.KubeConfig();
  kc.loadFromString(cluster.kubeconfig);
  return kc;
}

/** The spec of a pack with both components, Dex behind an Ingress. */
export function packSpec(namespace: string, overrides: Partial<PackSpecInput> = {}): PackSpec {
  return withDefaults({
    cluster: 'local',
    namespace,
    instance: 'dex',
    kubernetesId: 'payments-api',
    dex: { exposure: { serviceType: 'ClusterIP', ingress: { enabled: true, hosts: [`dex.${namespace}.example.test`] } } },
    authenticator: { exposure: { serviceType: 'ClusterIP' } },
    ...overrides,
  });
}

/** Every kind a pack uses, listed cluster-wide: "Kind/namespace/name" -> resourceVersion. */
export async function clusterSnapshot(kc: KubeConfig): Promise<Map<string, string>> {
  const k8s = await clientNode();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const apps = kc.makeApiClient(k8s.AppsV1Api);
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const net = kc.makeApiClient(k8s.NetworkingV1Api);
  const lists: [string, Promise<{ items: { metadata?: { name?: string; namespace?: string; resourceVersion?: string } }[] }>][] = [
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
  ];
  const out = new Map<string, string>();
  for (const [kind, list] of lists) {
    for (const o of (await list).items) {
      out.set(`${kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`, o.metadata?.resourceVersion ?? '');
    }
  }
  return out;
}

/** Keys whose resourceVersion differs between two snapshots, plus added and removed keys. */
export function snapshotDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of before) {
    if (!after.has(k)) out.push(`removed ${k}`);
    else if (after.get(k) !== v) out.push(`changed ${k}`);
  }
  for (const k of after.keys()) if (!before.has(k)) out.push(`added ${k}`);
  return out;
}

export async function readSecret(kc: KubeConfig, namespace: string, name: string): Promise<V1Secret> {
  const k8s = await clientNode();
  return kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ name, namespace });
}

/** A Secret's key, decoded. */
export function secretValue(secret: V1Secret, key: string): string | undefined {
  const v = secret.data?.[key];
  return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
}

export async function createSecret(kc: KubeConfig, namespace: string, name: string, stringData: Record<string, string>) {
  const k8s = await clientNode();
  await kc.makeApiClient(k8s.CoreV1Api).createNamespacedSecret({
    namespace,
    body: { metadata: { name, namespace }, stringData },
  });
}

export async function createNamespace(kc: KubeConfig, name: string) {
  const k8s = await clientNode();
  await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
}
