import type { PermissionsService } from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import { InputError, NotAllowedError } from '@backstage/errors';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import {
  defaultDexStorage,
  dexPackApplyPermission,
  dexPackTakeoverPermission,
  packSpecSchemaWith,
  type PackPlan,
} from '@backstage-dex/plugin-dex-common';
import {
  DEFAULT_LOAD_BALANCER_TIMEOUT_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  KeyPool,
  KubeadmControlPlaneTarget,
  ObjectResult,
  apiServerModeOf,
  clusterApiServer,
  findCluster,
  kubeConfigFor,
  provisionPack,
  readClusters,
  readApiServerModes,
  readPolicy,
  withClusterApiServer,
} from '@backstage-dex/plugin-dex-node';
import { z } from 'zod/v3';
import { examples } from './packApply.examples';
import { digest, ownerOf, resolvePackSpec } from './specInput';

/** What the checkpoint stores and the outputs are made of: JSON, and nothing secret. */
type ApplySummary = {
  issuerUrl: string;
  authenticatorUrl?: string;
  caPem: string;
  apiServerFlags: string[];
  authenticationConfiguration: string;
  objects: {
    kind: string;
    name: string;
    namespace?: string;
    action: string;
    fields?: string[];
  }[];
  writes: number;
  kubeadmControlPlane?: {
    name: string;
    apiVersion: string;
    action: string;
    changes: string[];
  };
  pendingLoadBalancers: string[];
};

function planOf(summary: ApplySummary, dryRun: boolean): PackPlan {
  const of = (action: string) =>
    summary.objects.filter(o => o.action === action);
  const plan: PackPlan = {
    dryRun,
    summary: '',
    create: of('create').map(describe),
    change: of('update').map(o => ({
      object: describe(o),
      fields: o.fields ?? [],
    })),
    unchanged: of('unchanged').map(describe),
    leftAsIs: of('skip').map(describe),
    pendingLoadBalancers: summary.pendingLoadBalancers,
  };
  const parts = [
    `${plan.create.length} ${dryRun ? 'to create' : 'created'}`,
    `${plan.change.length} ${dryRun ? 'to change' : 'changed'}`,
    `${plan.unchanged.length} unchanged`,
    ...(plan.leftAsIs.length
      ? [`${plan.leftAsIs.length} left as they are`]
      : []),
  ];
  plan.summary = parts.join(', ');
  return plan;
}

function describe(o: Pick<ObjectResult, 'kind' | 'name' | 'namespace'>) {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
}

/**
 * Creates the `dex:pack:apply` action: installs (or updates) a Dex pack on a configured cluster
 * with server-side apply and returns the kube-apiserver OIDC settings. The installation belongs
 * to a catalog entity: the user needs `dex.pack.apply` on it, and `dex.pack.takeover` on it to
 * take over objects of another owner (`force`).
 *
 * @public
 */
export function createDexPackApplyAction(options: {
  config: Config;
  permissions: PermissionsService;
  keyPool?: KeyPool;
}) {
  const { config, permissions, keyPool } = options;
  // Read (and checked) when the module starts: a bad dex.clusters entry fails the backend's start.
  const apiServerModes = readApiServerModes(
    config,
    readClusters(config).map(c => c.name),
  );
  // Every cluster's policy is read now too: a setting that cannot be used fails the start, naming it.
  for (const { name } of readClusters(config)) readPolicy(config, name);
  const requestTimeoutMs =
    (config.getOptionalNumber('dex.apply.requestTimeoutSeconds') ??
      DEFAULT_REQUEST_TIMEOUT_MS / 1000) * 1000;
  const loadBalancerTimeoutMs =
    (config.getOptionalNumber('dex.apply.loadBalancerTimeoutSeconds') ??
      DEFAULT_LOAD_BALANCER_TIMEOUT_MS / 1000) * 1000;

  return createTemplateAction({
    id: 'dex:pack:apply',
    description:
      'Installs Dex and dex-k8s-authenticator on a Kubernetes cluster (server-side apply, reusing existing certificates) and outputs the kube-apiserver OIDC settings.',
    examples,
    supportsDryRun: true,
    schema: {
      input: () =>
        packSpecSchemaWith(
          {
            // Required here (optional for dex:pack:render): permissions are checked on the entity.
            entityRef: z.string({
              description:
                'The catalog entity the installation belongs to (e.g. component:default/payments-api): permissions are checked on it, every object is annotated with it, and its name becomes the backstage.io/kubernetes-id label when kubernetesId is absent',
            }),
            force: z
              .boolean({
                description:
                  'Take over objects of the same name that belong to another owner (another entity or instance, or made outside the pack), and (clusterApi mode) kube-apiserver arguments and files someone else set on the KubeadmControlPlane; needs the dex.pack.takeover permission (default false)',
              })
              .optional(),
            rotateCertificates: z
              .boolean({
                description:
                  'Issue a new CA and serving certificates even though the current ones are valid',
              })
              .optional(),
            secretInputs: z
              .record(
                z.string({
                  description:
                    'A secret value, e.g. ${{ secrets.clientSecret }}',
                }),
                {
                  description:
                    "Secret values by key (the template's secret fields, `${{ secrets.x }}`): stored, created or updated, in the installation's Secret <instance>-secret-inputs, which the spec references as {name: <instance>-secret-inputs, key}. Empty values are left out. Never logged, output or checkpointed",
                },
              )
              .optional(),
            waitForRollout: z
              .number({
                description:
                  "Seconds to wait for the Deployments' rollout; 0 or absent: do not wait",
              })
              .int()
              .min(0)
              .max(3600)
              .optional(),
          },
          'The Dex pack to install, and how',
        ),
      output: () =>
        z.object({
          issuerUrl: z.string({ description: 'The Dex issuer URL' }),
          authenticatorUrl: z
            .string({
              description: "dex-k8s-authenticator's URL (when enabled)",
            })
            .optional(),
          caPem: z.string({
            description: 'PEM of the pack CA (certificate only)',
          }),
          apiServerFlags: z.array(z.string(), {
            description: 'kube-apiserver --oidc-* flags, one per element',
          }),
          authenticationConfiguration: z.string({
            description: 'The equivalent AuthenticationConfiguration (YAML)',
          }),
          objects: z.array(
            z.object({
              kind: z.string(),
              name: z.string(),
              namespace: z.string().optional(),
              action: z.string({
                description: 'create, update, unchanged or skip',
              }),
              fields: z
                .array(z.string(), {
                  description: 'For updates: the fields that changed',
                })
                .optional(),
            }),
            {
              description:
                'The objects of the pack and what was done to each (the plan, in a dry run)',
            },
          ),
          entityRef: z
            .string({ description: 'The owning entity, for a link' })
            .optional(),
          apiServerMode: z.string({
            description:
              "How the cluster's kube-apiserver gets the settings: report (apply apiServerFlags by hand) or clusterApi (applied to its KubeadmControlPlane)",
          }),
          plan: z.object(
            {
              dryRun: z.boolean(),
              summary: z.string({
                description: 'e.g. "3 to create, 1 to change, 12 unchanged"',
              }),
              create: z.array(z.string(), {
                description: 'Objects created (kind namespace/name)',
              }),
              change: z.array(
                z.object({ object: z.string(), fields: z.array(z.string()) }),
                { description: 'Objects changed, with the fields that differ' },
              ),
              unchanged: z.array(z.string()),
              leftAsIs: z.array(z.string(), {
                description:
                  'Objects of someone else left as they are (a shared namespace)',
              }),
              pendingLoadBalancers: z.array(z.string(), {
                description:
                  'Dry run: LoadBalancer Services without an address yet; the URLs derived from them are known after the run',
              }),
            },
            {
              description:
                'What the run did, or (dry run) would do, grouped: created, changed, unchanged',
            },
          ),
          kubeadmControlPlane: z
            .object(
              {
                name: z.string({
                  description: 'namespace/name on the management cluster',
                }),
                apiVersion: z.string(),
                action: z.string({ description: 'update or unchanged' }),
                changes: z.array(z.string(), {
                  description: 'What changed (or would, in a dry run)',
                }),
              },
              {
                description:
                  'clusterApi mode: what was done to the KubeadmControlPlane',
              },
            )
            .optional(),
        }),
    },
    async handler(ctx) {
      const {
        force = false,
        rotateCertificates = false,
        waitForRollout = 0,
      } = ctx.input;

      // The entity the installation belongs to is the resource the permissions are checked on.
      const owner = ownerOf(ctx.input.entityRef);
      if (!owner) {
        throw new InputError(
          'entityRef is required: a Dex installation belongs to a catalog entity (e.g. component:default/payments-api), and permissions are checked on it',
        );
      }
      const credentials = await ctx.getInitiatorCredentials();
      const wanted = [
        dexPackApplyPermission,
        ...(force ? [dexPackTakeoverPermission] : []),
      ];
      const decisions = await permissions.authorize(
        wanted.map(permission => ({
          permission,
          resourceRef: owner.entityRef,
        })),
        { credentials },
      );
      const denied = wanted.filter(
        (_, i) => decisions[i]?.result !== AuthorizeResult.ALLOW,
      );
      if (denied.length) {
        throw new NotAllowedError(
          denied[0] === dexPackApplyPermission
            ? `Not allowed to install Dex for ${owner.entityRef} (permission ${dexPackApplyPermission.name}); nothing was applied`
            : `Not allowed to take over objects of another owner for ${owner.entityRef} (permission ${dexPackTakeoverPermission.name}); nothing was applied. Run without force, or ask for the permission`,
        );
      }

      const policy = readPolicy(config, ctx.input.cluster);
      // Secret fields left empty (a connector without one) render as empty strings.
      const secretInputs = Object.fromEntries(
        Object.entries(ctx.input.secretInputs ?? {}).filter(
          ([, value]) => typeof value === 'string' && value !== '',
        ),
      );
      const requested = resolvePackSpec(ctx.input, policy);
      ctx.logger.info(
        `Dex pack "${requested.instance}" for ${requested.kubernetesId}: cluster ${requested.cluster}, namespace ${requested.namespace}, ` +
          `Dex ${requested.dex.version}, authenticator ${requested.authenticator.enabled ? requested.authenticator.version : 'disabled'}`,
      );

      if (!ctx.input.dex?.storage && requested.dex.storage === 'memory') {
        const { reason } = defaultDexStorage(
          requested.dex.version,
          requested.kubernetesVersion,
        );
        if (reason) ctx.logger.info(reason);
      }

      const clusters = readClusters(config);
      const cluster = findCluster(clusters, requested.cluster);
      const kc = await kubeConfigFor(cluster);
      // The kubeconfigs the authenticator hands out point at this cluster, as configured here.
      const spec = withClusterApiServer(
        requested,
        await clusterApiServer(cluster),
      );
      ctx.logger.info(
        `Connecting to cluster ${cluster.name}${cluster.url ? ` at ${cluster.url}` : ''}`,
      );
      const mode = apiServerModeOf(apiServerModes, spec.cluster);
      let kubeadmControlPlane: KubeadmControlPlaneTarget | undefined;
      if (mode.mode === 'clusterApi') {
        const management = findCluster(clusters, mode.managementCluster);
        const { namespace, name } = mode.kubeadmControlPlane;
        ctx.logger.info(
          `The kube-apiserver settings go to KubeadmControlPlane ${namespace}/${name} on cluster ${management.name}`,
        );
        kubeadmControlPlane = {
          managementCluster: management.name,
          kc: await kubeConfigFor(management),
          ref: mode.kubeadmControlPlane,
          authentication: mode.authentication,
        };
      }

      const provision = async (dryRun: boolean): Promise<ApplySummary> => {
        const result = await provisionPack(kc, spec, {
          policy,
          dryRun,
          force,
          rotateCertificates,
          keyPool,
          kubeadmControlPlane,
          entityRef: owner.entityRef,
          secretInputs,
          requestTimeoutMs,
          loadBalancer: { timeoutMs: loadBalancerTimeoutMs },
          signal: ctx.signal,
          waitForRolloutMs: waitForRollout * 1000,
          // In a dry run the plan is logged below, once, with every object.
          log: m =>
            dryRun && m.startsWith('would ')
              ? ctx.logger.debug(m)
              : ctx.logger.info(m),
        });
        return {
          issuerUrl: result.issuerUrl,
          authenticatorUrl: result.authenticatorUrl,
          caPem: result.caPem,
          apiServerFlags: result.apiServer.flags,
          authenticationConfiguration:
            result.apiServer.authenticationConfiguration,
          objects: result.apply.objects.map(
            ({ kind, name, namespace, action, fields }) =>
              JSON.parse(
                JSON.stringify({ kind, name, namespace, action, fields }),
              ),
          ),
          writes: result.apply.writes,
          pendingLoadBalancers: result.pendingLoadBalancers,
          ...(result.kubeadmControlPlane
            ? {
                kubeadmControlPlane: {
                  name: result.kubeadmControlPlane.kubeadmControlPlane,
                  apiVersion: result.kubeadmControlPlane.apiVersion,
                  action: result.kubeadmControlPlane.action,
                  changes: result.kubeadmControlPlane.changes,
                },
              }
            : {}),
        };
      };

      let summary: ApplySummary;
      if (ctx.isDryRun) {
        summary = await provision(true);
        ctx.logger.info(
          `Dry run: nothing was applied. Plan for ${summary.objects.length} objects:`,
        );
        for (const o of summary.objects) {
          ctx.logger.info(
            `  ${o.action} ${describe(o)}${o.fields?.length ? ` (${o.fields.join(', ')})` : ''}`,
          );
        }
      } else {
        // The step as the task asked for it (not what the cluster's configuration filled in), so a
        // recovered task's replay finds its checkpoint.
        const key = `dex.pack.apply.${spec.cluster}.${spec.namespace}.${spec.instance}.${digest(
          {
            spec: requested,
            force,
            rotateCertificates,
            waitForRollout,
            mode,
          },
        )}`;
        summary = await ctx.checkpoint({
          key,
          fn: async () => ({ ...(await provision(false)) }),
        });
        const count = (action: string) =>
          summary.objects.filter(o => o.action === action).length;
        ctx.logger.info(
          `Applied the Dex pack: ${count('create')} created, ${count('update')} updated, ${count('unchanged')} unchanged` +
            `${count('skip') ? `, ${count('skip')} left as they are` : ''} (${summary.writes} writes)`,
        );
      }
      ctx.logger.info(`Issuer: ${summary.issuerUrl}`);
      if (summary.authenticatorUrl)
        ctx.logger.info(`Authenticator: ${summary.authenticatorUrl}`);

      ctx.output('issuerUrl', summary.issuerUrl);
      if (summary.authenticatorUrl)
        ctx.output('authenticatorUrl', summary.authenticatorUrl);
      ctx.output('caPem', summary.caPem);
      ctx.output('apiServerFlags', summary.apiServerFlags);
      ctx.output(
        'authenticationConfiguration',
        summary.authenticationConfiguration,
      );
      ctx.output('objects', summary.objects);
      ctx.output('plan', planOf(summary, ctx.isDryRun === true));
      ctx.output('entityRef', owner.entityRef);
      ctx.output('apiServerMode', mode.mode);
      const kcp = summary.kubeadmControlPlane;
      if (kcp) {
        ctx.output('kubeadmControlPlane', kcp);
        ctx.logger.info(
          kcp.action === 'unchanged'
            ? `KubeadmControlPlane ${kcp.name} already has the kube-apiserver settings`
            : `KubeadmControlPlane ${kcp.name}${ctx.isDryRun ? ' would get' : ':'} ${kcp.changes.join(', ')}; Cluster API rolls out its control-plane machines`,
        );
      } else {
        ctx.logger.info(
          'To do by hand: give the kube-apiserver the flags in the apiServerFlags output',
        );
      }
    },
  });
}
