import {
  LoggerService,
  RootConfigService,
} from '@backstage/backend-plugin-api';
import { Entity, stringifyEntityRef } from '@backstage/catalog-model';
import {
  ANNOTATION_DEX_CLUSTERS,
  ANNOTATION_KUBERNETES_ID,
  ClusterError,
  DexClustersResponse,
  DexExposureResponse,
  SERVICE_TYPES,
  DexStatusResponse,
  DexVersionsResponse,
  installationKey,
} from '@backstage-dex/plugin-dex-common';
import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  ClusterSnapshot,
  DEFAULT_STATUS_TIMEOUT_MS,
  KubernetesCall,
  StatusCache,
  StatusCacheStats,
  StatusClusterTarget,
  StatusWatches,
  WatchFreshness,
  clusterApiServer,
  clusterClient,
  kubeConfigFor,
  kubeloginKubeconfig,
  readClusters,
  readDexStatus,
  readPolicy,
} from '@backstage-dex/plugin-dex-node';

const DEFAULT_CACHE_TTL_SECONDS = 3;

/** What the dex backend serves; the router adds authentication and permissions around it. */
export interface DexService {
  /** The entity's Dex installations on the clusters its annotations name (all configured when none). */
  status(entity: Entity): Promise<DexStatusResponse>;
  /**
   * A kubeconfig for one of the entity's installations (`cluster/namespace/instance`): the
   * cluster's kube-apiserver, and kubelogin against the installation's Dex. Holds no secret.
   */
  kubeconfig(entity: Entity, installation: string): Promise<string>;
  versions(): DexVersionsResponse;
  /** The Ingress classes and service types the form offers. */
  exposure(): DexExposureResponse;
  /** Configured cluster names (never URLs or credentials). */
  clusters(): DexClustersResponse;
  /** Counters of the status cache, for tests and benchmarks. */
  cacheStats(): StatusCacheStats;
  /** How current each cluster's watch-fed copy is (none when watching is off), for tests and benchmarks. */
  watchFreshness(): Record<string, WatchFreshness>;
  /**
   * Starts every configured cluster's watches and resolves once their first lists have answered
   * or failed, within the status timeout (the plugin's start): requests then find the copies
   * listed. A cluster not listed by then goes on in the background and is named in the log.
   */
  startWatches(): Promise<void>;
  /** Stops the clusters' watches (the plugin's shutdown). */
  stop(): void;
}

export interface DexServiceOptions {
  config: RootConfigService;
  logger: LoggerService;
  /** Called once per Kubernetes API call the status reader makes (tests and benchmarks count them). */
  onKubernetesCall?: (call: KubernetesCall) => void;
}

/** The clusters to ask for an entity: its `dex.backstage.io/clusters` annotation, or every cluster. */
export function clustersOf(entity: Entity, configured: string[]): string[] {
  const annotation = entity.metadata.annotations?.[ANNOTATION_DEX_CLUSTERS];
  if (!annotation?.trim()) return configured;
  return [
    ...new Set(
      annotation
        .split(',')
        .map(c => c.trim())
        .filter(Boolean),
    ),
  ];
}

/** The `backstage.io/kubernetes-id` label value of the entity's objects: its annotation, or its name. */
export function kubernetesIdOf(entity: Entity): string {
  return (
    entity.metadata.annotations?.[ANNOTATION_KUBERNETES_ID]?.trim() ||
    entity.metadata.name
  );
}

/** The longest a status call (and the plugin's start) may be bounded by: 5 minutes. */
const MAX_STATUS_TIMEOUT_MS = 300_000;

export async function createDexService(
  options: DexServiceOptions,
): Promise<DexService> {
  const { config, logger } = options;
  const policy = readPolicy(config);
  const ttlSeconds =
    config.getOptionalNumber('dex.status.cacheTtlSeconds') ??
    DEFAULT_CACHE_TTL_SECONDS;
  const timeoutMs =
    config.getOptionalNumber('dex.status.clusterTimeoutMs') ??
    DEFAULT_STATUS_TIMEOUT_MS;
  // It bounds every status call and the plugin's start: a timer takes whole milliseconds, and
  // past 2^31 - 1 Node fires it at once.
  if (
    !Number.isInteger(timeoutMs) ||
    timeoutMs < 1 ||
    timeoutMs > MAX_STATUS_TIMEOUT_MS
  )
    throw new Error(
      `dex.status.clusterTimeoutMs: ${timeoutMs} cannot bound a call to a cluster; give a whole number of milliseconds from 1 to ${MAX_STATUS_TIMEOUT_MS} (default ${DEFAULT_STATUS_TIMEOUT_MS})`,
    );
  const cache = new StatusCache<ClusterSnapshot>({ ttlMs: ttlSeconds * 1000 });
  const watch = config.getOptionalBoolean('dex.status.watch') ?? true;
  const watches = watch
    ? new StatusWatches({ onKubernetesCall: options.onKubernetesCall })
    : undefined;

  const configured = readClusters(config);
  const names = configured.map(c => c.name);
  // One KubeConfig per cluster for the plugin's lifetime; a misconfigured cluster is reported
  // (as that cluster's error) on every status request rather than failing the plugin.
  const kubeConfigs = new Map(
    configured.map(c => {
      const kc = kubeConfigFor(c);
      kc.catch(e =>
        logger.warn(
          `Cluster "${c.name}" cannot be used for Dex status: ${(e as Error).message}`,
        ),
      );
      return [c.name, kc] as const;
    }),
  );
  logger.info(
    `Dex status: ${names.length} cluster(s) (${names.join(', ') || 'none'}), ${watch ? 'watched' : 'listed per request'}, cache ${ttlSeconds}s, timeout ${timeoutMs}ms`,
  );

  const service: DexService = {
    async status(entity) {
      const targets: StatusClusterTarget[] = [];
      const errors: ClusterError[] = [];
      await Promise.all(
        clustersOf(entity, names).map(async name => {
          const kc = kubeConfigs.get(name);
          if (!kc) {
            errors.push({
              cluster: name,
              message: `Cluster "${name}" is not configured in kubernetes.clusterLocatorMethods; configured: ${names.join(', ') || 'none'}`,
            });
            return;
          }
          try {
            targets.push({ name, kc: await kc });
          } catch (e) {
            errors.push({ cluster: name, message: (e as Error).message });
          }
        }),
      );
      const status = await readDexStatus({
        clusters: targets,
        kubernetesId: kubernetesIdOf(entity),
        entityRef: stringifyEntityRef(entity),
        policy,
        timeoutMs,
        watches,
        cache,
        onKubernetesCall: options.onKubernetesCall,
        // clusterApi mode: the KubeadmControlPlane's rollout, from its management cluster.
        managementCluster: async name => kubeConfigs.get(name),
      });
      for (const e of status.errors)
        logger.debug(
          `Dex status of ${stringifyEntityRef(entity)}: ${e.message}`,
        );
      return {
        entityRef: stringifyEntityRef(entity),
        installations: status.installations,
        errors: [...errors, ...status.errors].sort((a, b) =>
          a.cluster.localeCompare(b.cluster),
        ),
      };
    },

    async kubeconfig(entity, key) {
      const [clusterName] = key.split('/');
      const details = configured.find(c => c.name === clusterName);
      const entityRef = stringifyEntityRef(entity);
      const status = await service.status(entity);
      const installation = status.installations.find(
        i => installationKey(i) === key,
      );
      if (!installation || !details) {
        const clusterError = status.errors.find(e => e.cluster === clusterName);
        throw new NotFoundError(
          clusterError
            ? `Cluster ${clusterName} could not be read: ${clusterError.message}`
            : `${entityRef} has no Dex installation ${key}; it has: ${
                status.installations.map(installationKey).join(', ') || 'none'
              }`,
        );
      }
      const settings = installation.apiServer;
      if (
        !installation.kubectlClientId ||
        !settings?.issuerUrl ||
        !settings.caPem
      ) {
        throw new ConflictError(
          `Dex installation ${key} was made before the pack had a client for kubectl; run the "Add Dex auth" template for ${entityRef} again (same cluster, namespace and instance) to add it`,
        );
      }
      const apiServer = await clusterApiServer(details);
      if (!apiServer.url?.startsWith('https://')) {
        throw new ConflictError(
          `Cluster ${clusterName} has no https URL in kubernetes.clusterLocatorMethods (it is "${
            apiServer.url ?? ''
          }"); a kubeconfig would send tokens in clear, so none is made`,
        );
      }
      return kubeloginKubeconfig({
        clusterName,
        server: apiServer.url,
        serverCaPem: apiServer.caPem,
        issuerUrl: settings.issuerUrl,
        kubectlClientId: installation.kubectlClientId,
        audience: settings.clientId,
        issuerCaPem: settings.caPem,
        instance: installation.instance,
      });
    },

    versions() {
      return {
        dex: {
          allowed: policy.dex.allowedVersions,
          default: policy.dex.defaultVersion,
        },
        authenticator: {
          allowed: policy.authenticator.allowedVersions,
          default: policy.authenticator.defaultVersion,
        },
      };
    },

    exposure() {
      // The platform's default class is the one it allows until the policy lists allowed classes.
      const classes = policy.ingressClassName ? [policy.ingressClassName] : [];
      return {
        serviceTypes: [...SERVICE_TYPES],
        defaultServiceType: policy.serviceType ?? 'ClusterIP',
        ingressClasses: classes,
        defaultIngressClass: policy.ingressClassName,
      };
    },

    clusters() {
      return { clusters: names.map(name => ({ name })), default: names[0] };
    },

    cacheStats() {
      return cache.stats();
    },

    watchFreshness() {
      return watches?.freshness() ?? {};
    },

    async startWatches() {
      if (!watches || !kubeConfigs.size) return;
      const began = Date.now();
      const listed = Promise.all(
        [...kubeConfigs].map(([name, kc]) =>
          kc.then(
            k => watches.watch(name, clusterClient(k), timeoutMs),
            () => {}, // reported when the KubeConfig was made, and on each request
          ),
        ),
      );
      // Each first list is bounded by timeoutMs; making a KubeConfig (an exec plugin) may not be.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        listed,
        new Promise(resolve => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      const freshness = watches.freshness();
      const behind = names.filter(name => !freshness[name]?.current);
      logger.info(
        `Dex status: first lists of ${names.length - behind.length} of ${names.length} cluster(s) in ${Date.now() - began} ms${behind.length ? `; not listed yet (listed per request until they are): ${behind.join(', ')}` : ''}`,
      );
    },

    stop() {
      watches?.stop();
    },
  };
  return service;
}
