import fs from 'node:fs/promises';
import path from 'node:path';
import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import type { Config } from '@backstage/config';
import { InputError } from '@backstage/errors';
import { createTemplateAction } from '@backstage/plugin-scaffolder-node';
import { packSpecSchemaWith } from '@backstage-dex/plugin-dex-common';
import { z } from 'zod/v3';
import {
  KubeObject,
  apiServerSettings,
  authenticatorUrl,
  clusterApiServer,
  issuerUrl,
  urlsOnlyTheClusterKnows,
  prepareMaterial,
  readClusters,
  readPolicy,
  render,
  toYaml,
  withClusterApiServer,
} from '@backstage-dex/plugin-dex-node';
import { examples } from './packRender.examples';
import { ownerField, ownerOf, resolvePackSpec } from './specInput';

/** Files the action writes, relative to targetPath. */
export const RENDERED_FILES = {
  manifests: 'manifests.yaml',
  flags: 'apiserver/oidc-flags.txt',
  authenticationConfiguration: 'apiserver/authentication-configuration.yaml',
  ca: 'ca.crt',
} as const;

/** In a dry run the Secrets' values are replaced, so no key material reaches the dry-run result. */
function redactSecrets(objects: KubeObject[]): KubeObject[] {
  return objects.map(o =>
    o.kind === 'Secret' && o.data
      ? {
          ...o,
          data: Object.fromEntries(
            Object.keys(o.data as Record<string, string>).map(k => [
              k,
              Buffer.from('redacted in dry run').toString('base64'),
            ]),
          ),
        }
      : o,
  );
}

/**
 * Creates the `dex:pack:render` action: writes a Dex pack's manifests and the kube-apiserver
 * settings into the workspace (for GitOps), without contacting any cluster.
 *
 * @public
 */
export function createDexPackRenderAction(options: { config: Config }) {
  const { config } = options;

  return createTemplateAction({
    id: 'dex:pack:render',
    description:
      'Renders a Dex pack (manifests with freshly generated certificates and secrets, plus the kube-apiserver OIDC settings) into the workspace, for publishing to a GitOps repository. Contacts no cluster.',
    examples,
    supportsDryRun: true,
    schema: {
      input: () =>
        packSpecSchemaWith(
          {
            ...ownerField,
            targetPath: z
              .string({
                description:
                  'Folder inside the workspace to write to (default: the workspace root)',
              })
              .optional(),
          },
          'The Dex pack to render, and where',
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
            description: 'PEM of the generated pack CA (certificate only)',
          }),
          apiServerFlags: z.array(z.string(), {
            description: 'kube-apiserver --oidc-* flags',
          }),
          authenticationConfiguration: z.string({
            description: 'The equivalent AuthenticationConfiguration (YAML)',
          }),
          files: z.array(z.string(), {
            description: 'Files written, relative to the workspace',
          }),
          objects: z.array(
            z.object({
              kind: z.string(),
              name: z.string(),
              namespace: z.string().optional(),
            }),
            {
              description: 'The objects in manifests.yaml',
            },
          ),
          entityRef: z
            .string({
              description: 'The owning entity (when the input names one)',
            })
            .optional(),
        }),
    },
    async handler(ctx) {
      const { targetPath = '' } = ctx.input;
      const requested = resolvePackSpec(
        ctx.input,
        readPolicy(config, ctx.input.cluster),
      );
      // A configured cluster's url and CA go into the kubeconfigs the authenticator hands out.
      const targetCluster = readClusters(config).find(
        c => c.name === requested.cluster,
      );
      const spec = targetCluster
        ? withClusterApiServer(requested, await clusterApiServer(targetCluster))
        : requested;
      const withPassword = spec.staticUsers
        .map((u, i) => ({ u, i }))
        .filter(({ u }) => !u.hash);
      if (withPassword.length) {
        throw new InputError(
          `dex:pack:render reads no cluster, so it cannot hash passwords kept in Secrets: give ${withPassword
            .map(({ i }) => `staticUsers[${i}].hash`)
            .join(
              ', ',
            )} (a bcrypt hash) instead of passwordRef, or use dex:pack:apply`,
        );
      }
      const unknownUrls = urlsOnlyTheClusterKnows(spec);
      if (unknownUrls)
        throw new InputError(
          `dex:pack:render reads no cluster: ${unknownUrls}`,
        );
      const dir = resolveSafeChildPath(ctx.workspacePath, targetPath);
      ctx.logger.info(
        `Rendering Dex pack "${spec.instance}" (namespace ${spec.namespace}, Dex ${spec.dex.version}) into ${
          targetPath || 'the workspace root'
        }`,
      );

      const { material, generated } = prepareMaterial(spec);
      for (const g of generated) ctx.logger.info(`generated ${g}`);
      const rendered = render(spec, material);
      const objects = ctx.isDryRun ? redactSecrets(rendered) : rendered;
      const settings = apiServerSettings(spec, material.ca.certPem);

      const contents: Record<string, string> = {
        [RENDERED_FILES.manifests]: toYaml(objects),
        [RENDERED_FILES.flags]: `${settings.flags.join('\n')}\n`,
        [RENDERED_FILES.authenticationConfiguration]:
          settings.authenticationConfiguration,
        [RENDERED_FILES.ca]: material.ca.certPem,
      };
      const files: string[] = [];
      for (const [file, text] of Object.entries(contents)) {
        const target = resolveSafeChildPath(dir, file);
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(target, text, 'utf8');
        files.push(path.relative(ctx.workspacePath, target));
        ctx.logger.info(`wrote ${path.relative(ctx.workspacePath, target)}`);
      }
      const secrets = objects
        .filter(o => o.kind === 'Secret')
        .map(o => o.metadata.name);
      if (ctx.isDryRun) {
        ctx.logger.info(
          `Dry run: the values of ${secrets.length} Secrets in ${RENDERED_FILES.manifests} are replaced by placeholders`,
        );
      } else {
        ctx.logger.warn(
          `${RENDERED_FILES.manifests} contains ${secrets.length} Secrets with private keys and client secrets (${secrets.join(
            ', ',
          )}): seal or encrypt them (e.g. Sealed Secrets, SOPS) before committing them to a repository`,
        );
      }

      const owner = ownerOf(ctx.input.entityRef);
      ctx.output('issuerUrl', issuerUrl(spec));
      if (spec.authenticator.enabled)
        ctx.output('authenticatorUrl', authenticatorUrl(spec));
      ctx.output('caPem', material.ca.certPem);
      ctx.output('apiServerFlags', settings.flags);
      ctx.output(
        'authenticationConfiguration',
        settings.authenticationConfiguration,
      );
      ctx.output('files', files);
      ctx.output(
        'objects',
        objects.map(o =>
          JSON.parse(
            JSON.stringify({
              kind: o.kind,
              name: o.metadata.name,
              namespace: o.metadata.namespace,
            }),
          ),
        ),
      );
      if (owner) ctx.output('entityRef', owner.entityRef);
    },
  });
}
