import type { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, kubeRequest } from './clientNode';

/** Where a kind lives in the API: its plural and whether it is namespaced. */
export interface Resource {
  plural: string;
  namespaced: boolean;
}

/**
 * The built-in kinds the pack and the status reader use. Their REST names are fixed by
 * Kubernetes, so asking discovery for them would only add a round trip before the first call
 * (the status reader's first request to a cluster waited for three).
 */
const BUILT_IN: Record<string, Resource> = {
  'v1/Namespace': { plural: 'namespaces', namespaced: false },
  'v1/Secret': { plural: 'secrets', namespaced: true },
  'v1/ConfigMap': { plural: 'configmaps', namespaced: true },
  'v1/Service': { plural: 'services', namespaced: true },
  'v1/ServiceAccount': { plural: 'serviceaccounts', namespaced: true },
  'apps/v1/Deployment': { plural: 'deployments', namespaced: true },
  'networking.k8s.io/v1/Ingress': { plural: 'ingresses', namespaced: true },
  'rbac.authorization.k8s.io/v1/Role': { plural: 'roles', namespaced: true },
  'rbac.authorization.k8s.io/v1/RoleBinding': {
    plural: 'rolebindings',
    namespaced: true,
  },
  'rbac.authorization.k8s.io/v1/ClusterRole': {
    plural: 'clusterroles',
    namespaced: false,
  },
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': {
    plural: 'clusterrolebindings',
    namespaced: false,
  },
  'apiextensions.k8s.io/v1/CustomResourceDefinition': {
    plural: 'customresourcedefinitions',
    namespaced: false,
  },
};

/** API discovery per KubeConfig and API version (other kinds, e.g. KubeadmControlPlane). */
const discovered = new WeakMap<
  KubeConfig,
  Map<string, Promise<Map<string, Resource>>>
>();

export function apiVersionPath(apiVersion: string): string {
  return apiVersion.includes('/')
    ? `/apis/${apiVersion}`
    : `/api/${apiVersion}`;
}

/**
 * The plural and scope of a kind: built in, or from the API version's discovery document (asked
 * once per KubeConfig; concurrent callers share the request).
 */
export async function resourceOf(
  kc: KubeConfig,
  apiVersion: string,
  kind: string,
  signal?: AbortSignal,
): Promise<Resource> {
  const known = BUILT_IN[`${apiVersion}/${kind}`];
  if (known) return known;
  let byVersion = discovered.get(kc);
  if (!byVersion) {
    byVersion = new Map();
    discovered.set(kc, byVersion);
  }
  let resources = byVersion.get(apiVersion);
  if (!resources) {
    resources = kubeRequest<{
      resources: { name: string; kind: string; namespaced: boolean }[];
    }>(kc, { method: 'GET', path: apiVersionPath(apiVersion), signal }).then(
      list =>
        new Map(
          list.resources
            .filter(r => !r.name.includes('/'))
            .map(r => [r.kind, { plural: r.name, namespaced: r.namespaced }]),
        ),
    );
    byVersion.set(apiVersion, resources);
    // A failed discovery (or one cancelled with its first caller) is asked again next time.
    resources.catch(() => byVersion!.delete(apiVersion));
  }
  const resource = (await resources).get(kind);
  if (!resource) {
    // A kind appears once its CRD is established (the pack installs Dex's): ask again next time.
    if (byVersion.get(apiVersion) === resources) byVersion.delete(apiVersion);
    throw new KubeApiError(404, {
      message: `${kind} is not served in ${apiVersion}`,
    });
  }
  return resource;
}

type PathRef = {
  apiVersion: string;
  kind: string;
  name?: string;
  namespace?: string;
};

/**
 * The REST path of an object of a built-in kind, without waiting (undefined for other kinds): a
 * re-run's reads then go out at once, with no step of their own before them.
 */
export function builtInPath(ref: PathRef): string | undefined {
  const r = BUILT_IN[`${ref.apiVersion}/${ref.kind}`];
  return r && pathOf(ref, r);
}

/** The REST path of an object (or, without a name, of its kind's collection). */
export async function objectPath(
  kc: KubeConfig,
  ref: PathRef,
  signal?: AbortSignal,
): Promise<string> {
  return pathOf(ref, await resourceOf(kc, ref.apiVersion, ref.kind, signal));
}

function pathOf(ref: PathRef, r: Resource): string {
  const ns =
    r.namespaced && ref.namespace
      ? `/namespaces/${encodeURIComponent(ref.namespace)}`
      : '';
  const name = ref.name ? `/${encodeURIComponent(ref.name)}` : '';
  return `${apiVersionPath(ref.apiVersion)}${ns}/${r.plural}${name}`;
}
