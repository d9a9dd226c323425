import type { KubeConfig } from '@kubernetes/client-node';
import type { PackSpec } from '@backstage-dex/plugin-dex-common';
import { clientNode } from '../cluster/clientNode';
import { objectNames } from '../pack/names';

/** Dex's storage objects of one kind (plural) in the pack's namespace, as its kubernetes storage wrote them. */
export async function dexStorageObjects<T = unknown>(
  kc: KubeConfig,
  namespace: string,
  plural: string,
): Promise<T[]> {
  const k8s = await clientNode();
  const list = await kc
    .makeApiClient(k8s.CustomObjectsApi)
    .listNamespacedCustomObject({
      group: 'dex.coreos.com',
      version: 'v1',
      namespace,
      plural,
    });
  return (list as { items: T[] }).items;
}

/** What a SubjectAccessReview may ask about: a verb on a resource, in a namespace or cluster-wide. */
export interface ResourceAttributes {
  verb: string;
  group?: string;
  resource: string;
  namespace?: string;
}

/**
 * Whether the pack's Dex ServiceAccount (with the groups every ServiceAccount of its namespace
 * has) may do something, asked the kube-apiserver with a SubjectAccessReview.
 */
export function dexServiceAccountMay(kc: KubeConfig, spec: PackSpec) {
  const user = `system:serviceaccount:${spec.namespace}:${objectNames(spec).serviceAccount}`;
  return async (attributes: ResourceAttributes): Promise<boolean> => {
    const k8s = await clientNode();
    const review = await kc
      .makeApiClient(k8s.AuthorizationV1Api)
      .createSubjectAccessReview({
        body: {
          spec: {
            user,
            groups: [
              'system:serviceaccounts',
              `system:serviceaccounts:${spec.namespace}`,
              'system:authenticated',
            ],
            resourceAttributes: attributes,
          },
        },
      });
    return review.status?.allowed ?? false;
  };
}
