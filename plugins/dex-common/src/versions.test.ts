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
