import {
  ApiBlueprint,
  discoveryApiRef,
  fetchApiRef,
} from '@backstage/frontend-plugin-api';
import { DexClient, dexApiRef } from '../api';

/**
 * The DexApi implementation ({@link DexClient}).
 *
 * @alpha
 */
export const dexApi = ApiBlueprint.make({
  params: defineParams =>
    defineParams({
      api: dexApiRef,
      deps: { discoveryApi: discoveryApiRef, fetchApi: fetchApiRef },
      factory: ({ discoveryApi, fetchApi }) =>
        new DexClient({ discoveryApi, fetchApi }),
    }),
});
