import type { Entity } from '@backstage/catalog-model';
import { isDexAvailable } from './conditions';

const entity = (
  kind: string,
  annotations?: Record<string, string>,
): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind,
  metadata: { name: 'x', annotations },
});

describe('isDexAvailable', () => {
  it('holds for the kinds the template installs for, without annotations', () => {
    expect(isDexAvailable(entity('Component'))).toBe(true);
    expect(isDexAvailable(entity('Resource'))).toBe(true);
    expect(isDexAvailable(entity('System'))).toBe(true);
  });

  it('holds for other kinds only with a Dex or Kubernetes annotation', () => {
    expect(isDexAvailable(entity('User'))).toBe(false);
    expect(isDexAvailable(entity('Group'))).toBe(false);
    expect(
      isDexAvailable(entity('API', { 'dex.backstage.io/clusters': 'local' })),
    ).toBe(true);
    expect(
      isDexAvailable(entity('API', { 'backstage.io/kubernetes-id': 'x' })),
    ).toBe(true);
  });
});
