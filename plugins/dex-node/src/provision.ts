import crypto from 'node:crypto';
import { InputError, ServiceUnavailableError } from '@backstage/errors';
import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import {
  ApiServerSettings,
  DEFAULT_POLICY,
  PackSpec,
  PlatformPolicy,
  connectorSecretRefs,
  findDexRelease,
  formatProblems,
  validateSpec,
} from '@backstage-dex/plugin-dex-common';
import { apiServerSettings } from './pack/apiServer';
import {
  KeyPool,
  generateKeys,
  keyMatchesCertificate,
} from './pack/certificates';
import {
  PackMaterial,
  ReferencedValues,
  materialFromSecrets,
  prepareMaterial,
  refKey,
} from './pack/material';
import {
  SecretReference,
  checkSecretInputs,
  resolveReferences,
  secretInputsAreOurs,
  secretReferences,
} from './pack/references';
import {
  LoadBalancerComponent,
  authenticatorUrl,
  issuerUrl,
  objectNames,
} from './pack/names';
import { KubeObject, render, renderSkeleton } from './pack/render';
import { PackOwner, stampOwner } from './pack/ownership';
import {
  ApplyResult,
  applyObjects,
  isConcurrentChange,
  existingOf,
  objectKey,
  readEach,
  waitForRollout,
} from './cluster/apply';
import {
  ClusterClient,
  asClusterClient,
  boundedClient,
} from './cluster/client';
import { exposeLoadBalancers, withEarlyWrites } from './loadBalancers';
import { describeKubeError, isTimeout } from './cluster/errors';
import type { KubeadmControlPlaneRef } from './apiServer/config';
import {
  KubeadmControlPlaneApplyResult,
  applyToKubeadmControlPlane,
  kubeadmControlPlaneApiVersion,
} from './apiServer/kubeadmControlPlane';
import {
  checkNodePath,
  kubeadmApiServerSettings,
} from './apiServer/kubeadmSettings';
import { recordClusterApiTarget } from './apiServer/record';

export interface ProvisionOptions {
  policy?: PlatformPolicy;
  dryRun?: boolean;
  force?: boolean;
  rotateCertificates?: boolean;
  /** Wait for the Deployments to roll out, up to this many milliseconds. */
  waitForRolloutMs?: number;
  log?: (message: string) => void;
  /** Keys generated ahead of time (a backend keeps one); generated on the spot without. */
  keyPool?: KeyPool;
  /** The catalog entity the installation belongs to (full ref), stamped on every object. */
  entityRef?: string;
  /** Upper bound of every request to the cluster (DEFAULT_REQUEST_TIMEOUT_MS when absent). */
  requestTimeoutMs?: number;
  /** Cancels the run (e.g. the scaffolder task's ctx.signal): requests in flight are aborted. */
  signal?: AbortSignal;
  /**
   * Values given as secret inputs (the template's secret fields), by key: stored (created, or
   * updated on a re-run) in the installation's Secret `<instance>-secret-inputs`, which the spec
   * references. Never logged or returned.
   */
  secretInputs?: Record<string, string>;
  /**
   * `clusterApi` mode: after the pack, apply the kube-apiserver settings to the workload
   * cluster's KubeadmControlPlane on the management cluster (`force` takes over what someone
   * else set there too).
   */
  kubeadmControlPlane?: KubeadmControlPlaneTarget;
  /**
   * A component exposed by a LoadBalancer Service with no URL or Ingress host given gets its URL
   * from the Service's address: how long to wait for it (DEFAULT_LOAD_BALANCER_TIMEOUT_MS), and
   * (tests) how often to read the Service and log progress.
   */
  loadBalancer?: { timeoutMs?: number; pollMs?: number; progressMs?: number };
}

/** A workload cluster's KubeadmControlPlane, and how to reach it. */
export interface KubeadmControlPlaneTarget {
  /** The management cluster's configured name, and a KubeConfig (or ClusterClient) for it. */
  managementCluster: string;
  kc: KubeConfig | ClusterClient;
  ref: KubeadmControlPlaneRef;
  authentication: 'flags' | 'authenticationConfiguration';
  /** Bound of each call to the management cluster (default 15 s). */
  timeoutMs?: number;
}

/**
 * The default upper bound of each request a provision makes to the cluster.
 *
 * @public
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

export interface ProvisionResult {
  spec: PackSpec;
  issuerUrl: string;
  authenticatorUrl?: string;
  caPem: string;
  apiServer: ApiServerSettings;
  apply: ApplyResult;
  /** Material generated rather than reused (names only). */
  generated: string[];
  /** The rendered objects (they contain secrets: never log or output them). */
  objects: KubeObject[];
  /** `clusterApi` mode: what was (or would be) changed on the KubeadmControlPlane. */
  kubeadmControlPlane?: KubeadmControlPlaneApplyResult;
  /**
   * Dry run: LoadBalancer Services (namespace/name) that have no address yet, so the URLs derived
   * from them are not known; the plan shows the in-cluster names in their place.
   */
  pendingLoadBalancers: string[];
}

/**
 * Whether a run reads and renders the installation's Secret of secret inputs: when it gives
 * inputs (stored with those already there) or the spec references stored ones. Otherwise the
 * stored values are of no use to it, and the Secret is left as it is.
 */
function usesSecretInputs(
  spec: PackSpec,
  refs: SecretReference[],
  given: Record<string, string> | undefined,
): boolean {
  const own = objectNames(spec).secretInputs;
  return Object.keys(given ?? {}).length > 0 || refs.some(r => r.name === own);
}

/** The Secrets the spec names (but the installation's own, read with the pack), as they are. */
async function readReferencedSecrets(
  cluster: ClusterClient,
  spec: PackSpec,
  refs: SecretReference[],
): Promise<Map<string, V1Secret | undefined>> {
  const own = objectNames(spec).secretInputs;
  const names = [...new Set(refs.map(r => r.name))].filter(n => n !== own);
  const secrets = new Map<string, V1Secret | undefined>();
  await Promise.all(
    names.map(async name => {
      try {
        secrets.set(
          name,
          (await cluster.read({
            apiVersion: 'v1',
            kind: 'Secret',
            name,
            namespace: spec.namespace,
          })) as V1Secret | undefined,
        );
      } catch (e) {
        throw describeKubeError(e, `reading Secret ${spec.namespace}/${name}`);
      }
    }),
  );
  return secrets;
}

/**
 * Dex before 2.43 substitutes $VARS into the connector config's JSON text, unescaped: a credential
 * with a quote, backslash or control character would break the config (or add settings to it).
 */
function checkConnectorCredentials(spec: PackSpec, values: ReferencedValues) {
  if (findDexRelease(spec.dex.version)?.connectorEnvPerValue ?? true) return;
  const unsafe: string[] = [];
  spec.connectors.forEach((c, i) => {
    const credential = connectorSecretRefs(c).credential;
    const value = credential && values[refKey(credential.ref)];
    // eslint-disable-next-line no-control-regex
    if (value !== undefined && /["\\\u0000-\u001f]/.test(value))
      unsafe.push(
        `- connectors[${i}].${credential!.field}: the value in Secret ${spec.namespace}/${credential!.ref.name} contains a quote, backslash or control character, which Dex ${spec.dex.version} would paste into its JSON config unescaped; use a value without them, or Dex 2.43.1 or newer`,
      );
  });
  if (unsafe.length)
    throw new InputError(
      `A referenced secret cannot reach Dex safely:\n${unsafe.join('\n')}`,
    );
}

/** Concurrent runs on one pack: how often a run starts over after the other wrote its material. */
const MAX_ATTEMPTS = 4;

/** Kubernetes keeps at most 1 MiB per Secret or ConfigMap (and about that per object in etcd). */
const MAX_OBJECT_BYTES = 1024 * 1024;

/** Refuses a pack with an object Kubernetes would refuse, before anything is written. */
function checkSizes(objects: KubeObject[]) {
  const tooBig = objects
    .map(o => ({
      key: objectKey(o),
      size: Buffer.byteLength(JSON.stringify(o)),
    }))
    .filter(o => o.size > MAX_OBJECT_BYTES)
    .map(o => `${o.key} (${o.size} bytes)`);
  if (tooBig.length) {
    throw new InputError(
      `The rendered pack has objects larger than the 1 MiB Kubernetes stores per object: ${tooBig.join(', ')}. ` +
        'Nothing was applied. Use fewer or shorter staticClients, redirectURIs, staticUsers, connectors or hosts.',
    );
  }
}

/**
 * Digests of the specs (with their policy) found valid, so a re-run of one spec validates it once
 * (the schema's parse was a tenth of an unchanged re-run's own work).
 */
const validSpecs = new Set<string>();
const MAX_VALID_SPECS = 64;

/**
 * A digest of plain data that tells every value the validation could tell apart: strings are
 * tagged so that undefined (a present key) and non-finite numbers have forms of their own, which
 * plain JSON would drop or turn into null. Anything else than plain objects, arrays and
 * primitives (a Date, a class instance) has no digest.
 */
function plainDigest(value: unknown): string | undefined {
  let plain = true;
  const json = JSON.stringify(
    value,
    function tag(this: Record<string, unknown>, key: string, v: unknown) {
      const original = this[key];
      if (original === undefined) return 'u';
      if (typeof original === 'string') return `s${original}`;
      if (typeof original === 'number')
        return Number.isFinite(original) ? original : `n${original}`;
      if (
        typeof original === 'object' &&
        original !== null &&
        !Array.isArray(original) &&
        ![Object.prototype, null].includes(Object.getPrototypeOf(original))
      )
        plain = false;
      if (['function', 'symbol', 'bigint'].includes(typeof original)) {
        plain = false;
        return null;
      }
      return v;
    },
  );
  return plain
    ? crypto.createHash('sha256').update(json).digest('base64')
    : undefined;
}

/** Refuses (InputError, every problem) a spec that is not valid under the policy. */
function checkSpec(spec: PackSpec, policy: PlatformPolicy | undefined) {
  const digest = plainDigest([spec, policy ?? null]);
  if (digest && validSpecs.has(digest)) return;
  const problems = validateSpec(spec, policy);
  if (problems.length) throw new InputError(formatProblems(problems));
  if (!digest) return;
  if (validSpecs.size >= MAX_VALID_SPECS)
    validSpecs.delete(validSpecs.values().next().value!);
  validSpecs.add(digest);
}

/**
 * The target's Kubernetes version (gitVersion), e.g. v1.35.4.
 *
 * @public
 */
export async function kubernetesVersion(
  target: KubeConfig | ClusterClient,
): Promise<string> {
  const cluster = asClusterClient(target);
  try {
    return await cluster.version();
  } catch (e) {
    throw describeKubeError(e, `asking ${cluster.server} for its version`);
  }
}

function ownerOf(spec: PackSpec, options: ProvisionOptions): PackOwner {
  return {
    entityRef: options.entityRef,
    instance: spec.instance,
    kubernetesId: spec.kubernetesId,
  };
}

/**
 * Certificates + render + apply of a pack on one cluster: reads what exists (reusing its
 * certificates and secrets), renders, applies what changed, optionally waits for the rollout.
 */
export async function provisionPack(
  target: KubeConfig | ClusterClient,
  input: PackSpec,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  // Every call of the run is bounded and cancelled with the task.
  const cluster = boundedClient(asClusterClient(target), {
    timeoutMs,
    signal: options.signal,
  });
  try {
    return await provisionBounded(cluster, input, options);
  } catch (e) {
    if (!isTimeout(e)) throw e;
    throw new ServiceUnavailableError(
      `Cluster "${input.cluster}" (${cluster.server}) did not answer within ${timeoutMs} ms: ${(e as Error).message}`,
    );
  } finally {
    options.keyPool?.refill();
  }
}

async function provisionBounded(
  kc: ClusterClient,
  input: PackSpec,
  options: ProvisionOptions,
): Promise<ProvisionResult> {
  const log = options.log ?? (() => {});
  let spec: PackSpec = {
    ...input,
    kubernetesVersion: input.kubernetesVersion ?? (await kubernetesVersion(kc)),
  };
  checkSpec(spec, options.policy);
  checkSecretInputs(options.secretInputs);
  log(
    `Target cluster ${spec.cluster} runs Kubernetes ${spec.kubernetesVersion}`,
  );
  let kcpApiVersion: string | undefined;
  if (options.kubeadmControlPlane) {
    // Checked before anything is written: the CA path must be one kubeadm mounts, and the
    // management cluster must serve KubeadmControlPlanes.
    checkNodePath('apiServerCaFile', spec.apiServerCaFile);
    kcpApiVersion = await kubeadmControlPlaneApiVersion(
      options.kubeadmControlPlane.kc,
      options.kubeadmControlPlane.timeoutMs,
      options.signal,
    );
  }

  const exposed = await exposeLoadBalancers(kc, spec, {
    ...options,
    owner: ownerOf(spec, options),
    log,
  });
  spec = exposed.spec;

  const names = objectNames(spec);
  const guarded = [
    names.caSecret,
    names.tlsSecret,
    names.clientsSecret,
    ...(spec.authenticator.enabled ? [names.authenticatorTlsSecret] : []),
  ].map(name =>
    objectKey({
      kind: 'Secret',
      metadata: { name, namespace: spec.namespace },
    }),
  );
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      const result = await provisionOnce(
        kc,
        spec,
        options,
        log,
        guarded,
        kcpApiVersion,
        exposed.derivedUrls,
      );
      return {
        ...result,
        apply: withEarlyWrites(result.apply, exposed.applied),
        pendingLoadBalancers: exposed.pending,
      };
    } catch (e) {
      if (!isConcurrentChange(e) || attempt >= MAX_ATTEMPTS) throw e;
      // Another run wrote the pack's certificates or client secrets since we read them: start
      // over from what is stored now, so both runs end with the same material.
      log(
        `${(e as Error).message.split(';')[0]}; reading the pack again (attempt ${attempt + 1} of ${MAX_ATTEMPTS})`,
      );
      await new Promise(r => setTimeout(r, 50 + Math.random() * 200));
    }
  }
}

/** What a run makes from the Secrets it read: the material (reused or generated) and the objects. */
interface Rendered {
  material: PackMaterial;
  generated: string[];
  objects: KubeObject[];
  settings: ApiServerSettings;
  kcpSettings?: ReturnType<typeof kubeadmApiServerSettings>;
}

/**
 * The material (reused from the pack's Secrets, generated where missing or invalid) and the
 * objects rendered with it, checked before anything is written: referenced Secrets the spec may
 * not read or that are missing, credentials Dex could not take, settings the KubeadmControlPlane
 * could not take (objects too large are refused by the apply, before its first write).
 */
async function renderFromSecrets(
  spec: PackSpec,
  options: ProvisionOptions,
  read: {
    /** The pack's Secrets that exist, by objectKey. */
    secrets: Map<string, V1Secret>;
    referencedSecrets: Map<string, V1Secret | undefined>;
    refs: SecretReference[];
  },
  kcpApiVersion: string | undefined,
  derivedUrls: LoadBalancerComponent[],
): Promise<Rendered> {
  const existingMaterial = materialFromSecrets(spec, [
    ...read.secrets.values(),
  ]);
  const owner = ownerOf(spec, options);
  const storedInputsOurs = secretInputsAreOurs(
    read.secrets.get(
      objectKey({
        kind: 'Secret',
        metadata: {
          name: objectNames(spec).secretInputs,
          namespace: spec.namespace,
        },
      }),
    ),
    owner,
  );
  // Values in a Secret of that name that someone else made are never read (nor kept, on a takeover).
  if (!storedInputsOurs) existingMaterial.secretInputs = {};
  // Before anything is written: the spec may read only Secrets it is allowed to.
  const {
    values: referenced,
    missing,
    refused,
  } = resolveReferences(spec, read.refs, {
    secrets: read.referencedSecrets,
    secretInputs: {
      ...existingMaterial.secretInputs,
      ...options.secretInputs,
    },
    secretInputsOurs: storedInputsOurs || !!options.force,
    policy: options.policy ?? DEFAULT_POLICY,
  });
  if (refused.length || missing.length)
    throw new InputError(
      [
        ...(refused.length
          ? [
              `The spec references Secrets it may not read:\n${refused.join('\n')}`,
            ]
          : []),
        ...(missing.length
          ? [
              `The spec references Secrets that are missing:\n${missing.join('\n')}`,
            ]
          : []),
        'Nothing was applied.',
      ].join('\n'),
    );
  checkConnectorCredentials(spec, referenced);
  // A new CA means new serving certificates too: make all their keys at once, in parallel.
  const freshCa =
    options.rotateCertificates ||
    !existingMaterial.ca ||
    !keyMatchesCertificate(existingMaterial.ca);
  const keyCount = spec.authenticator.enabled ? 3 : 2;
  const keys = freshCa
    ? await (options.keyPool
        ? options.keyPool.take(keyCount)
        : generateKeys(keyCount))
    : undefined;
  const { material, generated } = prepareMaterial(spec, {
    existing: existingMaterial,
    keys,
    referenced,
    rotateCertificates: options.rotateCertificates,
    secretInputs: options.secretInputs,
  });

  const target = options.kubeadmControlPlane;
  let objects = render(spec, material, { derivedUrls });
  if (target) {
    objects = recordClusterApiTarget(
      objects,
      objectNames(spec).apiServerConfigMap,
      {
        managementCluster: target.managementCluster,
        ...target.ref,
        apiVersion: kcpApiVersion!,
        authentication: target.authentication,
      },
    );
  }
  objects = stampOwner(objects, owner);
  const settings = apiServerSettings(spec, material.ca.certPem);
  // Checked before anything is written (they become kube-apiserver flags and node files).
  const kcpSettings = target
    ? kubeadmApiServerSettings(spec, settings, target.authentication)
    : undefined;
  return { material, generated, objects, settings, kcpSettings };
}

async function provisionOnce(
  kc: ClusterClient,
  spec: PackSpec,
  options: ProvisionOptions,
  log: (message: string) => void,
  guarded: string[],
  kcpApiVersion: string | undefined,
  derivedUrls: LoadBalancerComponent[],
): Promise<Omit<ProvisionResult, 'pendingLoadBalancers'>> {
  const refs = secretReferences(spec);
  // Every object of the pack is read at once, its Secrets first: the material and the objects are
  // made from them while the rest is still on its way (on an unchanged re-run, most of our own
  // work then happens while the apiserver answers). The rest is needed for the diff.
  const skeleton = renderSkeleton(spec, {
    secretInputs: usesSecretInputs(spec, refs, options.secretInputs),
  });
  const secrets = skeleton.filter(o => o.kind === 'Secret');
  const reads = readEach(kc, [
    ...secrets,
    ...skeleton.filter(o => o.kind !== 'Secret'),
  ]);
  const rendering = Promise.all([
    existingOf(
      new Map(secrets.map(o => [objectKey(o), reads.get(objectKey(o))!])),
    ),
    readReferencedSecrets(kc, spec, refs),
  ]).then(([existingSecrets, referencedSecrets]) =>
    renderFromSecrets(
      spec,
      options,
      {
        secrets: existingSecrets as Map<string, V1Secret>,
        referencedSecrets,
        refs,
      },
      kcpApiVersion,
      derivedUrls,
    ),
  );
  // Awaited once every read has answered: a failed read is reported first, as it came first.
  rendering.catch(() => {});
  const existing = await existingOf(reads);
  const { material, generated, objects, settings, kcpSettings } =
    await rendering;
  for (const g of generated) log(`generated ${g}`);
  if (!generated.length)
    log('reusing the existing certificates and client secrets');

  const target = options.kubeadmControlPlane;
  const kcpOptions = target && {
    ref: target.ref,
    owner: `${spec.cluster}/${spec.namespace}/${spec.instance}`,
    dryRun: options.dryRun,
    takeOver: options.force,
    timeoutMs: target.timeoutMs,
    needsAuthenticationConfiguration:
      target.authentication === 'authenticationConfiguration',
    apiVersion: kcpApiVersion,
    signal: options.signal,
    log,
  };
  // A conflict on the KubeadmControlPlane stops the run before the pack is written.
  if (target && kcpSettings && kcpOptions)
    await applyToKubeadmControlPlane(target.kc, kcpSettings, {
      ...kcpOptions,
      checkOnly: true,
    });
  const apply = await applyObjects(kc, objects, {
    owner: ownerOf(spec, options),
    dryRun: options.dryRun,
    force: options.force,
    existing,
    guarded,
    log,
    signal: options.signal,
    // Only what is written: an object the apiserver already stores fits.
    checkWrites: checkSizes,
  });
  // Written: the next keys may be made now (not during the writes, see KeyPool).
  options.keyPool?.refill();
  if (options.waitForRolloutMs && !options.dryRun)
    await waitForRollout(
      kc,
      objects,
      options.waitForRolloutMs,
      log,
      options.signal,
    );
  // After the pack: the CA the KubeadmControlPlane gets is the one stored in the pack's Secret.
  const kubeadmControlPlane =
    target && kcpSettings && kcpOptions
      ? await applyToKubeadmControlPlane(target.kc, kcpSettings, kcpOptions)
      : undefined;
  return {
    spec,
    issuerUrl: issuerUrl(spec),
    authenticatorUrl: spec.authenticator.enabled
      ? authenticatorUrl(spec)
      : undefined,
    caPem: material.ca.certPem,
    apiServer: settings,
    apply,
    generated,
    objects,
    kubeadmControlPlane,
  };
}

export { objectKey };
