import {
  ConflictError,
  InputError,
  NotFoundError,
  ServiceUnavailableError,
} from '@backstage/errors';
import type {
  KubeConfig,
  KubernetesObject,
  V1ManagedFieldsEntry,
} from '@kubernetes/client-node';
import {
  FIELD_MANAGER,
  authenticationConfigurationApiVersion,
} from '@backstage-dex/plugin-dex-common';
import {
  ClusterClient,
  JsonPatchOperation,
  asClusterClient,
  boundedClient,
} from '../cluster/client';
import { describeKubeError } from '../cluster/errors';
import type { KubeadmControlPlaneRef } from './config';
import type { KubeadmApiServerSettings, KubeadmFile } from './kubeadmSettings';

export const KCP_GROUP = 'controlplane.cluster.x-k8s.io';
const KCP_KIND = 'KubeadmControlPlane';
/**
 * Annotation on the KubeadmControlPlane (JSON): which pack instance set its OIDC settings and
 * which `files` entries it wrote. `files` is an atomic list, so field ownership cannot say which
 * entries are ours; this does.
 */
export const ANNOTATION_KCP_OIDC = 'dex.backstage.io/apiserver-oidc';
/** Default bound of each call to the management cluster. */
export const DEFAULT_KCP_TIMEOUT_MS = 15_000;
/** Attempts when the KubeadmControlPlane changes between our read and our write. */
const MAX_ATTEMPTS = 3;

type ArgsShape = 'list' | 'map';

export interface KubeadmControlPlaneApplyOptions {
  ref: KubeadmControlPlaneRef;
  /** The pack instance applying, `<cluster>/<namespace>/<instance>`: recorded, and compared on re-runs. */
  owner: string;
  dryRun?: boolean;
  /** Take over arguments and files that someone else set (the caller checks the takeover permission). */
  takeOver?: boolean;
  /** Bound of each call, in milliseconds. */
  timeoutMs?: number;
  /** For `authenticationConfiguration`: the KubeadmControlPlane's Kubernetes must be 1.30 or newer. */
  needsAuthenticationConfiguration?: boolean;
  /** Read and check only (conflicts throw), write nothing: run before anything else is written. */
  checkOnly?: boolean;
  /** What kubeadmControlPlaneApiVersion() found, when already asked. */
  apiVersion?: string;
  /** Cancels the calls (e.g. the scaffolder task's ctx.signal). */
  signal?: AbortSignal;
  log?: (message: string) => void;
}

export interface KubeadmControlPlaneApplyResult {
  /** `namespace/name` */
  kubeadmControlPlane: string;
  /** The API version used (what the management cluster serves). */
  apiVersion: string;
  action: 'update' | 'unchanged';
  /** What changes (or would, in a dry run), e.g. `set extraArgs oidc-issuer-url`. Never file contents. */
  changes: string[];
  /** Write requests sent (0 when nothing changed and in a dry run that only reports). */
  writes: number;
  dryRun: boolean;
}

interface Ownership {
  owner: string;
  files: string[];
}

type Kcp = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    managedFields?: V1ManagedFieldsEntry[];
  };
  spec?: {
    version?: string;
    kubeadmConfigSpec?: {
      clusterConfiguration?: {
        apiServer?: {
          extraArgs?:
            { name: string; value: string }[] | Record<string, string>;
        };
      };
      files?: (Partial<KubeadmFile> & Record<string, unknown>)[];
    };
  };
};

/** The management cluster, each call bounded by `timeoutMs` and cancelled with `signal`. */
function managementClient(
  target: KubeConfig | ClusterClient,
  timeoutMs: number,
  signal?: AbortSignal,
): ClusterClient {
  return boundedClient(asClusterClient(target), { timeoutMs, signal });
}

/** A failed call to the management cluster as a message that says what was being done. */
function describeManagementError(
  e: unknown,
  what: string,
  timeoutMs: number,
): Error {
  if ((e as Error)?.name === 'TimeoutError')
    return new ServiceUnavailableError(
      `${what}: the management cluster did not answer within ${timeoutMs} ms`,
    );
  return describeKubeError(e, what);
}

/**
 * The KubeadmControlPlane version the management cluster serves (its preferred one): v1beta2
 * (Cluster API 1.11+, extraArgs as a list of name/value) or v1beta1 (extraArgs as a map).
 */
export async function kubeadmControlPlaneApiVersion(
  target: KubeConfig | ClusterClient,
  timeoutMs = DEFAULT_KCP_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<string> {
  const client = managementClient(target, timeoutMs, signal);
  const what = `asking ${client.server} for its API groups`;
  let group;
  try {
    group = await client.apiGroup(KCP_GROUP);
  } catch (e) {
    throw describeManagementError(e, what, timeoutMs);
  }
  const served = group?.versions ?? [];
  const preferred = group?.preferredVersion;
  const version = [preferred, 'v1beta2', 'v1beta1'].find(
    v => v && ['v1beta2', 'v1beta1'].includes(v) && served.includes(v),
  );
  if (!version) {
    throw new NotFoundError(
      `The management cluster serves ${group ? `${KCP_GROUP} ${served.join(', ')}` : `no ${KCP_GROUP} API`}; ` +
        'the Dex pack supports KubeadmControlPlane v1beta2 and v1beta1 (Cluster API with the kubeadm control-plane provider)',
    );
  }
  return `${KCP_GROUP}/${version}`;
}

function currentArgs(kcp: Kcp): Map<string, string> {
  const raw =
    kcp.spec?.kubeadmConfigSpec?.clusterConfiguration?.apiServer?.extraArgs;
  if (Array.isArray(raw)) return new Map(raw.map(a => [a.name, a.value]));
  return new Map(Object.entries(raw ?? {}));
}

/** The extraArgs names and `files` a field manager owns (per managedFields), and who owns each arg. */
function ownership(kcp: Kcp) {
  const byArg = new Map<string, Set<string>>();
  const filesOwners = new Set<string>();
  for (const entry of kcp.metadata.managedFields ?? []) {
    const spec = (entry.fieldsV1 as Record<string, any> | undefined)?.[
      'f:spec'
    ]?.['f:kubeadmConfigSpec'];
    const args =
      spec?.['f:clusterConfiguration']?.['f:apiServer']?.['f:extraArgs'] ?? {};
    const manager = entry.manager ?? 'unknown';
    for (const key of Object.keys(args)) {
      let name: string | undefined;
      if (key.startsWith('f:')) name = key.slice(2);
      else if (key.startsWith('k:')) {
        try {
          name = JSON.parse(key.slice(2)).name;
        } catch {
          // not a list-map key
        }
      }
      if (name)
        byArg.set(
          name,
          (byArg.get(name) ?? new Set()).add(
            `${manager}${entry.operation === 'Apply' ? '' : ` (${entry.operation})`}`,
          ),
        );
    }
    if (spec?.['f:files']) filesOwners.add(manager);
  }
  const ours = (name: string) =>
    [...(byArg.get(name) ?? [])].includes(FIELD_MANAGER);
  return { byArg, ours, oursFiles: filesOwners.has(FIELD_MANAGER) };
}

function readOwnership(kcp: Kcp): Ownership | undefined {
  const raw = kcp.metadata.annotations?.[ANNOTATION_KCP_OIDC];
  if (!raw) return undefined;
  try {
    const parsed = JSON.parse(raw);
    if (typeof parsed?.owner === 'string' && Array.isArray(parsed.files))
      return { owner: parsed.owner, files: parsed.files.map(String) };
  } catch {
    // unreadable: treated as someone else's
  }
  return { owner: '(unreadable annotation)', files: [] };
}

function sameFile(current: Record<string, unknown>, want: KubeadmFile) {
  const extra = Object.keys(current).filter(
    k => !['path', 'content', 'owner', 'permissions'].includes(k),
  );
  return (
    !extra.length &&
    current.content === want.content &&
    current.owner === want.owner &&
    current.permissions === want.permissions
  );
}

/** Kubernetes version of the control plane (spec.version) at least 1.30? */
function supportsAuthenticationConfiguration(version: string | undefined) {
  return Boolean(
    version && authenticationConfigurationApiVersion(version.replace(/^v/, '')),
  );
}

interface Plan {
  changes: string[];
  conflicts: string[];
  /** Someone else's extraArgs to remove (on takeover): by name. */
  remove: string[];
  files: Record<string, unknown>[];
  /** Whether `files` is sent: changed, or ours already (leaving it out would delete it). */
  sendFiles: boolean;
  annotation: string;
}

function plan(
  kcp: Kcp,
  want: KubeadmApiServerSettings,
  options: KubeadmControlPlaneApplyOptions,
): Plan {
  const args = currentArgs(kcp);
  const owned = ownership(kcp);
  const previous = readOwnership(kcp);
  const otherInstance =
    previous && previous.owner !== options.owner ? previous.owner : undefined;
  const changes: string[] = [];
  const conflicts: string[] = [];
  const remove: string[] = [];
  if (otherInstance)
    conflicts.push(
      `it carries the OIDC settings of another Dex pack (${otherInstance})`,
    );

  // Flags and --authentication-config cannot be combined on one kube-apiserver.
  const exclusive = (name: string) =>
    'authentication-config' in want.args
      ? name.startsWith('oidc-')
      : name === 'authentication-config';
  for (const [name, value] of args) {
    const wanted = want.args[name];
    if (wanted === value || (wanted === undefined && !exclusive(name)))
      continue;
    if (owned.ours(name) && !otherInstance) continue; // our own earlier value: apply replaces or drops it
    const by =
      [...(owned.byArg.get(name) ?? [])]
        .filter(m => m !== FIELD_MANAGER)
        .join(', ') || 'an unknown manager';
    conflicts.push(
      `extraArgs ${name} is set to "${value.slice(0, 200)}" by ${by}`,
    );
    remove.push(name);
  }
  for (const [name, value] of Object.entries(want.args)) {
    if (args.get(name) !== value)
      changes.push(`${args.has(name) ? 'change' : 'set'} extraArgs ${name}`);
  }
  // Ours and no longer wanted (server-side apply drops them), or someone else's in the way (on takeover).
  for (const [name] of args) {
    if (!(name in want.args) && (owned.ours(name) || remove.includes(name)))
      changes.push(`remove extraArgs ${name}`);
  }

  const wantedPaths = want.files.map(f => f.path);
  let files = [...(kcp.spec?.kubeadmConfigSpec?.files ?? [])] as Record<
    string,
    unknown
  >[];
  let filesChanged = false;
  for (const old of previous?.files ?? []) {
    if (!wantedPaths.includes(old) && files.some(f => f.path === old)) {
      files = files.filter(f => f.path !== old);
      filesChanged = true;
      changes.push(`remove file ${old}`);
    }
  }
  for (const file of want.files) {
    const index = files.findIndex(f => f.path === file.path);
    if (index < 0) {
      files.push({ ...file });
      filesChanged = true;
      changes.push(`add file ${file.path}`);
    } else if (!sameFile(files[index], file)) {
      if (!previous?.files.includes(file.path) || otherInstance)
        conflicts.push(
          `files has an entry for ${file.path} that this pack did not write`,
        );
      files[index] = { ...file };
      filesChanged = true;
      changes.push(`replace file ${file.path}`);
    }
  }
  const annotation = JSON.stringify({
    owner: options.owner,
    files: [...wantedPaths].sort(),
  });
  if (kcp.metadata.annotations?.[ANNOTATION_KCP_OIDC] !== annotation)
    changes.push(`annotate ${ANNOTATION_KCP_OIDC}`);
  return {
    changes,
    conflicts,
    remove,
    files,
    sendFiles: filesChanged || owned.oursFiles,
    annotation,
  };
}

function jsonPointer(...parts: string[]) {
  return `/${parts.map(p => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

/**
 * Sets the pack's kube-apiserver OIDC settings on a Cluster API KubeadmControlPlane, touching only
 * what the pack owns: its extraArgs (server-side apply, field manager `backstage-dex`) and its
 * `files` entries. `files` is an atomic list, so the whole list is applied, read-merged at the
 * resourceVersion that was read (a concurrent change makes the apply fail and start over); other
 * entries stay as they are. Arguments or files someone else set with other values are a conflict
 * (nothing is written) unless `takeOver`; then they are removed or replaced. An unchanged
 * KubeadmControlPlane is not written at all: each write rolls out every control-plane machine.
 */
export async function applyToKubeadmControlPlane(
  target: KubeConfig | ClusterClient,
  want: KubeadmApiServerSettings,
  options: KubeadmControlPlaneApplyOptions,
): Promise<KubeadmControlPlaneApplyResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_KCP_TIMEOUT_MS;
  const client = managementClient(target, timeoutMs, options.signal);
  const log = options.log ?? (() => {});
  const { namespace, name } = options.ref;
  const label = `KubeadmControlPlane ${namespace}/${name}`;
  const apiVersion =
    options.apiVersion ??
    (await kubeadmControlPlaneApiVersion(client, timeoutMs));
  const version = apiVersion.split('/')[1];
  const shape: ArgsShape = version === 'v1beta2' ? 'list' : 'map';
  const ref = { apiVersion, kind: KCP_KIND, namespace, name };
  const notFound = () =>
    new NotFoundError(
      `${label} does not exist on the management cluster; check dex.clusters.<cluster>.apiServer.kubeadmControlPlane`,
    );
  const call = async <T>(doing: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if ((e as { code?: number }).code === 404) throw notFound();
      throw describeManagementError(e, `${doing} ${label}`, timeoutMs);
    }
  };

  for (let attempt = 1; ; attempt++) {
    const kcp = (await call('reading', () => client.read(ref))) as
      Kcp | undefined;
    if (!kcp) throw notFound();
    if (
      options.needsAuthenticationConfiguration &&
      !supportsAuthenticationConfiguration(kcp.spec?.version)
    ) {
      throw new InputError(
        `${label} runs Kubernetes ${kcp.spec?.version ?? '(unknown)'}; --authentication-config needs 1.30 or newer: set dex.clusters.<cluster>.apiServer.authentication to flags`,
      );
    }
    const p = plan(kcp, want, options);
    if (p.conflicts.length && !options.takeOver) {
      throw new ConflictError(
        `${label}: ${p.conflicts.join('; ')}. Nothing was changed. Remove them, or run with force (needs the takeover permission) to replace them.`,
      );
    }
    const base = {
      kubeadmControlPlane: `${namespace}/${name}`,
      apiVersion,
      changes: p.changes,
      dryRun: Boolean(options.dryRun),
    };
    if (options.checkOnly)
      return {
        ...base,
        action: p.changes.length ? 'update' : 'unchanged',
        writes: 0,
      };
    if (!p.changes.length) {
      log(`${label} already has the OIDC settings; not written`);
      return { ...base, action: 'unchanged', writes: 0 };
    }
    const resourceVersion = kcp.metadata.resourceVersion;
    const argsPath = [
      'spec',
      'kubeadmConfigSpec',
      'clusterConfiguration',
      'apiServer',
      'extraArgs',
    ];
    const applyBody = {
      apiVersion,
      kind: 'KubeadmControlPlane',
      metadata: {
        name,
        namespace,
        resourceVersion,
        annotations: { [ANNOTATION_KCP_OIDC]: p.annotation },
      },
      spec: {
        kubeadmConfigSpec: {
          clusterConfiguration: {
            apiServer: {
              extraArgs:
                shape === 'list'
                  ? Object.entries(want.args).map(([n, value]) => ({
                      name: n,
                      value,
                    }))
                  : { ...want.args },
            },
          },
          // Atomic: sent whole (ours merged into what was read), or not at all if we never owned it.
          ...(p.sendFiles ? { files: p.files } : {}),
        },
      },
    };
    if (options.dryRun && p.remove.length) {
      // The removal cannot be dry-run together with the apply: report the plan only.
      for (const c of p.changes) log(`would ${c} on ${label}`);
      return { ...base, action: 'update', writes: 0 };
    }
    try {
      let writes = 0;
      let atVersion = resourceVersion;
      if (p.remove.length) {
        // Someone else's entries: server-side apply cannot drop fields it does not own.
        const current =
          kcp.spec!.kubeadmConfigSpec!.clusterConfiguration!.apiServer!
            .extraArgs!;
        const ops: JsonPatchOperation[] = [
          {
            op: 'test',
            path: '/metadata/resourceVersion',
            value: resourceVersion,
          },
        ];
        if (Array.isArray(current)) {
          const indexes = current
            .map((a, i) => (p.remove.includes(a.name) ? i : -1))
            .filter(i => i >= 0)
            .reverse();
          for (const i of indexes)
            ops.push({
              op: 'remove',
              path: jsonPointer(...argsPath, String(i)),
            });
        } else {
          for (const n of p.remove)
            ops.push({ op: 'remove', path: jsonPointer(...argsPath, n) });
        }
        const patched = (await call('removing foreign extraArgs from', () =>
          client.patch(ref, ops),
        )) as Kcp;
        writes += 1;
        atVersion = patched.metadata.resourceVersion;
      }
      applyBody.metadata.resourceVersion = atVersion;
      // force: conflicts were decided above, at this resourceVersion (which the apply requires).
      await call('applying the OIDC settings to', () =>
        client.apply(applyBody as KubernetesObject, { dryRun: options.dryRun }),
      );
      writes += options.dryRun ? 0 : 1;
      for (const c of p.changes)
        log(`${options.dryRun ? 'would ' : ''}${c} on ${label}`);
      return { ...base, action: 'update', writes };
    } catch (e) {
      // 409 here means the KubeadmControlPlane changed since it was read: read it again.
      if (e instanceof ConflictError && attempt < MAX_ATTEMPTS) {
        log(`${label} changed while it was being updated; reading it again`);
        continue;
      }
      throw e;
    }
  }
}
