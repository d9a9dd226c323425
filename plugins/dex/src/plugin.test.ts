import type { Entity } from '@backstage/catalog-model';
import { dexPlugin, isDexAvailable } from './plugin';
import alphaPlugin from './alpha';

function entityWith(annotations?: Record<string, string>): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'API',
    metadata: { name: 'payments', annotations },
  };
}

describe('isDexAvailable', () => {
  it('is true with the kubernetes-id or the dex clusters annotation', () => {
    expect(
      isDexAvailable(entityWith({ 'backstage.io/kubernetes-id': 'payments' })),
    ).toBe(true);
    expect(
      isDexAvailable(entityWith({ 'dex.backstage.io/clusters': 'local,prod' })),
    ).toBe(true);
  });

  it('is false without them on kinds the template does not install for', () => {
    expect(isDexAvailable(entityWith())).toBe(false);
    expect(
      isDexAvailable(entityWith({ 'backstage.io/kubernetes-id': '' })),
    ).toBe(false);
    expect(
      isDexAvailable(entityWith({ 'github.com/project-slug': 'a/b' })),
    ).toBe(false);
  });
});

describe('dexPlugin', () => {
  it('is the dex plugin in both frontend systems', () => {
    expect(dexPlugin.getId()).toBe('dex');
    expect(alphaPlugin.pluginId).toBe('dex');
  });

  it('provides the API, the entity card and both form fields to the new frontend system', () => {
    // The ids are checked by the compiler too: getExtension only takes ids the plugin has.
    for (const id of [
      'api:dex',
      'entity-card:dex',
      'scaffolder-form-field:dex/dex-version-picker',
      'scaffolder-form-field:dex/dex-cluster-picker',
    ] as const) {
      expect(alphaPlugin.getExtension(id)).toBeDefined();
    }
  });
});
