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

export async function createRouter(
  options: RouterOptions,
): Promise<express.Router> {
  const { httpAuth, permissions, catalog, dex } = options;
  const router = Router();

  router.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/status', async (req, res) => {
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
    res.json(await dex.status(entity));
  });

  router.get('/versions', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(dex.versions());
  });

  router.get('/clusters', async (req, res) => {
    await httpAuth.credentials(req, { allow: ['user', 'service'] });
    res.json(dex.clusters());
  });

  return router;
}
