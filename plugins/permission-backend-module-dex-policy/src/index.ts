/**
 * A permission policy for backstage-dex: owners install Dex for their entities, the platform
 * group installs anywhere and may take over.
 *
 * @packageDocumentation
 */
export { permissionModuleDexPolicy as default } from './module';
export { DexPermissionPolicy, DEFAULT_PLATFORM_GROUP } from './policy';
