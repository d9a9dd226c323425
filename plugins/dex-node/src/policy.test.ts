import { ConfigReader } from '@backstage/config';
import { DEFAULT_POLICY } from '@backstage-dex/plugin-dex-common';
import { readPolicy } from './policy';

describe('readPolicy', () => {
  it('is the default policy without a dex: section', () => {
    expect(readPolicy(new ConfigReader({}))).toBe(DEFAULT_POLICY);
  });

  it('reads versions (without a leading v) and defaults', () => {
    const policy = readPolicy(
      new ConfigReader({
        dex: {
          versions: { allowed: ['v2.45.1', '2.44.0'], default: 'v2.44.0' },
          authenticator: { versions: { allowed: ['1.4.0'] } },
          defaults: {
            namespace: 'identity',
            ingressClassName: 'nginx',
            serviceType: 'LoadBalancer',
            imageRegistry: 'mirror.example.com',
          },
          connectors: { allowInsecureSkipVerify: true },
        },
      }),
    );
    expect(policy).toEqual({
      dex: { allowedVersions: ['2.45.1', '2.44.0'], defaultVersion: '2.44.0' },
      authenticator: { allowedVersions: ['1.4.0'], defaultVersion: '1.4.0' },
      defaultNamespace: 'identity',
      ingressClassName: 'nginx',
      serviceType: 'LoadBalancer',
      imageRegistry: 'mirror.example.com',
      allowInsecureSkipVerify: true,
    });
  });

  it('defaults to the first allowed version when the catalogue default is not allowed', () => {
    expect(
      readPolicy(
        new ConfigReader({
          dex: { versions: { allowed: ['2.30.0', '2.35.1'] } },
        }),
      ).dex.defaultVersion,
    ).toBe('2.30.0');
  });
});
