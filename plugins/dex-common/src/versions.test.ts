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
  it('chooses memory, with the reason, for Dex before 2.30 on a Kubernetes without v1beta1 CRDs', () => {
    for (const version of ['2.21.0', '2.25.0', '2.28.0']) {
      const chosen = defaultDexStorage(version);
      expect(chosen.storage).toBe('memory');
      expect(chosen.reason).toMatch(
        new RegExp(
          `^Dex ${version.replace(/\./g, '\\.')} keeps its state in memory: .*apiextensions\\.k8s\\.io/v1beta1.*1\\.22.*choose Dex 2\\.30\\.0 or newer`,
        ),
      );
      expect(defaultDexStorage(version, 'v1.35.4').storage).toBe('memory');
      // A target old enough to serve v1beta1 CRDs keeps kubernetes storage.
      expect(defaultDexStorage(version, 'v1.21.14').storage).toBe('kubernetes');
    }
    expect(defaultDexStorage('2.30.0')).toEqual({ storage: 'kubernetes' });
    expect(defaultDexStorage('2.45.1')).toEqual({ storage: 'kubernetes' });
  });

  it('is what a spec without a storage gets, and such a spec is valid on a current Kubernetes', () => {
    const spec = withDefaults({
      cluster: 'prod',
      dex: { version: '2.28.0' },
      kubernetesVersion: 'v1.35.4',
    });
    expect(spec.dex.storage).toBe('memory');
    expect(validateSpec(spec)).toEqual([]);
    expect(
      withDefaults({ cluster: 'prod', dex: { version: '2.35.1' } }).dex.storage,
    ).toBe('kubernetes');
  });
});
