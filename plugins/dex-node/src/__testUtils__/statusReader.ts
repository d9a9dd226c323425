import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { KubeConfig, V1ClusterRole } from '@kubernetes/client-node';
import type { LocalCluster } from '@backstage-dex/local-cluster';
import { clientNode } from '../cluster/clientNode';
import { kubeConfigFor } from '../cluster/clusters';

/** The status reader's ClusterRole as the README gives it to platform teams (rbac/). */
export function statusReaderRole(): V1ClusterRole {
  return YAML.parse(
    fs.readFileSync(
      path.join(__dirname, '../../rbac/dex-status-reader.yaml'),
      'utf8',
    ),
  );
}

/**
 * A new ServiceAccount `name` in a new namespace `name`, with no role, and its KubeConfig, made as
 * the backend makes a configured cluster's.
 */
export async function serviceAccountKubeConfig(
  kc: KubeConfig,
  cluster: LocalCluster,
  name: string,
): Promise<KubeConfig> {
  const k8s = await clientNode();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedServiceAccount({
    namespace: name,
    body: { metadata: { name } },
  });
  const token = await core.createNamespacedServiceAccountToken({
    name,
    namespace: name,
    body: { spec: { audiences: [] } },
  });
  return kubeConfigFor({
    name: 'local',
    url: cluster.server,
    authProvider: 'serviceAccount',
    serviceAccountToken: token.status!.token,
    caData: Buffer.from(cluster.caPem).toString('base64'),
  });
}

/**
 * A KubeConfig for a new ServiceAccount bound (cluster-wide) to the status reader's role, or to
 * that role with only `verbs` kept; it is returned once the binding is in force.
 */
export async function statusReaderKubeConfig(
  kc: KubeConfig,
  cluster: LocalCluster,
  name: string,
  options: { verbs?: string[] } = {},
): Promise<KubeConfig> {
  const k8s = await clientNode();
  const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  const role = statusReaderRole();
  const reader = await serviceAccountKubeConfig(kc, cluster, name);
  await rbac.createClusterRole({
    body: {
      metadata: { name },
      rules: role.rules!.map(r => ({
        ...r,
        verbs: options.verbs
          ? r.verbs.filter(v => options.verbs!.includes(v))
          : r.verbs,
      })),
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'ClusterRole',
        name,
      },
      subjects: [{ kind: 'ServiceAccount', name, namespace: name }],
    },
  });
  // A new binding takes a moment to reach the authorizer.
  const apps = reader.makeApiClient(k8s.AppsV1Api);
  for (let i = 0; ; i += 1) {
    try {
      await apps.listDeploymentForAllNamespaces({ limit: 1 });
      return reader;
    } catch (e) {
      if (i >= 50) throw e;
      await new Promise(r => setTimeout(r, 100));
    }
  }
}
