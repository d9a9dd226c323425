import dexPlugin from '@backstage-dex/plugin-dex/alpha';
import { createApp } from '@backstage/frontend-defaults';
import catalogPlugin from '@backstage/plugin-catalog/alpha';
import orgPlugin from '@backstage/plugin-org/alpha';
import scaffolderPlugin from '@backstage/plugin-scaffolder/alpha';
import userSettingsPlugin from '@backstage/plugin-user-settings/alpha';
import { signInModule } from './modules/signIn';

/**
 * The backstage-dex app (new frontend system). Pages, nav items, entity cards and scaffolder
 * field extensions come from the plugins' extensions; app-config.yaml can toggle and configure
 * them under `app.extensions`.
 */
export default createApp({
  features: [
    catalogPlugin,
    scaffolderPlugin,
    orgPlugin,
    userSettingsPlugin,
    // Entity card, DexApi, and the DexVersionPicker / DexClusterPicker form fields.
    dexPlugin,
    signInModule,
  ],
});
