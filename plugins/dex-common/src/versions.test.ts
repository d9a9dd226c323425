import { defaultDexStorage } from './versions';
import { validateSpec, withDefaults } from './validation';
import { versionFromImage } from './versions';

describe('versionFromImage', () => {
  it.each([
    ['ghcr.io/dexidp/dex:v2.45.1', '2.45.1'],
    ['mintel/dex-k8s-authenticator:1.4.0', '1.4.0'],
    ['registry.example.com:5000/mirror/dex:v2.44.0', '2.44.0'],
    ['ghcr.io/dexidp/dex:v2.45.1@sha256:abc', '2.45.1'],
  ])('%s is %s', (image, version) => {
    expect(versionFromImage(image)).toBe(version);
  });

  it.each([
    'ghcr.io/dexidp/dex',
    'registry.example.com:5000/dex',
    'dex@sha256:abc',
  ])('%s has no version', image => {
    expect(versionFromImage(image)).toBeUndefined();
  });
});

describe('defaultDexStorage', () => {
  it('chooses kubernetes storage for every catalogued Dex (the pack installs the CRDs) where v1 CRDs are served', () => {
    for (const version of ['2.21.0', '2.25.0', '2.28.0', '2.30.0', '2.45.1']) {
      expect(defaultDexStorage(version)).toEqual({ storage: 'kubernetes' });
      expect(defaultDexStorage(version, 'v1.35.4')).toEqual({
        storage: 'kubernetes',
      });
    }
  });

  it('chooses memory, with the reason, on a Kubernetes without apiextensions.k8s.io/v1 (before 1.16)', () => {
    const chosen = defaultDexStorage('2.28.0', 'v1.15.12');
    expect(chosen.storage).toBe('memory');
    expect(chosen.reason).toMatch(
      /^Dex 2\.28\.0 keeps its state in memory: .*apiextensions\.k8s\.io\/v1.*v1\.15\.12 does not serve.*lost when the pod restarts/,
    );
  });

  it('is what a spec without a storage gets, and such a spec is valid', () => {
    const old = withDefaults({
      cluster: 'prod',
      dex: { version: '2.28.0' },
      kubernetesVersion: 'v1.15.12',
    });
    expect(old.dex.storage).toBe('memory');
    expect(validateSpec(old)).toEqual([]);
    const current = withDefaults({
      cluster: 'prod',
      dex: { version: '2.21.0' },
      kubernetesVersion: 'v1.35.4',
    });
    expect(current.dex.storage).toBe('kubernetes');
    expect(validateSpec(current)).toEqual([]);
  });
});
