export interface Config {
  dex?: {
    /** The permission policy of @backstage-dex/plugin-permission-backend-module-dex-policy. */
    permissionPolicy?: {
      /**
       * Members of this group may install Dex for any entity and take over objects of another
       * owner. A full group reference, e.g. group:default/platform-team (the default).
       */
      platformGroup?: string;
    };
  };
}
