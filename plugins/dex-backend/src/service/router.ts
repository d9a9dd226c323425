import {
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import {
  CompoundEntityRef,
  parseEntityRef,
  stringifyEntityRef,
} from '@backstage/catalog-model';
import { InputError, NotAllowedError, NotFoundError } from '@backstage/errors';
import { catalogEntityReadPermission } from '@backstage/plugin-catalog-common/alpha';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import express from 'express';
import Router from 'express-promise-router';
import { DexService } from './DexService';

export interface RouterOptions {
  httpAuth: HttpAuthService;
  permissions: PermissionsService;
  catalog: CatalogService;
  dex: DexService;
}

function entityRefParam(value: unknown): CompoundEntityRef {
  if (typeof value !== 'string' || !value.trim()) {
    throw new InputError(
      'Query parameter entityRef is required, e.g. ?entityRef=component:default/payments-api',
    );
  }
  try {
    return parseEntityRef(value.trim());
  } catch (e) {
    throw new InputError(
      `Query parameter entityRef "${value}" is not an entity reference (kind:namespace/name): ${(e as Error).message}`,
    );
  }
}

const INSTALLATION =
  /^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function installationParam(value: unknown): string {
  if (typeof value !== 'string' || !INSTALLATION.test(value)) {
    throw new InputError(
      `Query parameter installation must be cluster/namespace/instance (lowercase names), e.g. ?installation=local/dex/dex; got ${JSON.stringify(
        value ?? null,
      ).slice(0, 100)}`,
    );
  }
  return value;
}

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { httpAuth, permissions, catalog, dex } = options;
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  /** The entity of `?entityRef=`, if the caller may read it (as the catalog decides). */
  async function readableEntity(req: express.Request) {
    const credentials = await httpAuth.credentials(req, {
      allow: ['user', 'service'],
    });
    const ref = entityRefParam(req.query.entityRef);
    const entityRef = stringifyEntityRef(ref);
    // The catalog applies read permissions itself (an entity the caller may not read comes back
    // undefined); asking the permission framework as well tells "denied" (403) from "absent" (404).
    const [[decision], entity] = await Promise.all([
      permissions.authorize(
        [{ permission: catalogEntityReadPermission, resourceRef: entityRef }],
        { credentials },
      ),
      catalog.getEntityByRef(ref, { credentials }),
    ]);
    if (decision.result !== AuthorizeResult.ALLOW) {
      throw new NotAllowedError(
        `You may not read ${entityRef} in the catalog, so not its Dex status either`,
      );
    }
    if (!entity)
      throw new NotFoundError(`No entity ${entityRef} in the catalog`);
    return entity;
  }

  router.get('/status', async (req, res) => {
    res.json(await dex.status(await readableEntity(req)));
  });

  // Permission-checked like the status: whoever sees an installation may download its kubeconfig,
  // which holds no secret (a public client and CAs); the cluster's RBAC decides what the user may do.
  router.get('/kubeconfig', async (req, res) => {
    const installation = installationParam(req.query.installation);
    const entity = await readableEntity(req);
    const kubeconfig = await dex.kubeconfig(entity, installation);
    res
      .attachment(`kubeconfig-${installation.replace(/\//g, '-')}.yaml`)
      .type('application/yaml')
      .send(kubeconfig);
  });

  router.get('/versions', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(dex.versions());
  });

  router.get('/exposure', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(dex.exposure());
  });

  router.get('/clusters', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(dex.clusters());
  });

  return router;
}
