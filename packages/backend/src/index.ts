/*
 * The backstage-dex backend: the standard Backstage backend plus the Dex plugins.
 *
 * Everything is configured from app-config.yaml (and app-config.production.yaml in
 * production). `npm start` runs this with `backstage-cli package start`.
 */
import { createBackend } from '@backstage/backend-defaults';

const backend = createBackend();

// Serves the built frontend (production) and injects its config.
backend.add(import('@backstage/plugin-app-backend'));

// Sign-in: the guest provider for local use; see app-config.production.yaml for a real one.
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));

// Catalog, with Template entities accepted.
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);

// Scaffolder, with the dex:pack:apply and dex:pack:render actions.
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage-dex/plugin-scaffolder-backend-module-dex'));

// Permissions (permission.enabled in app-config.yaml), with an example policy for the Dex
// permissions: owners may install Dex for their entities, the platform group may take over.
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(
  import('@backstage-dex/plugin-permission-backend-module-dex-policy'),
);

// The Dex REST API at /api/dex (status, versions, clusters).
backend.add(import('@backstage-dex/plugin-dex-backend'));

backend.start();
