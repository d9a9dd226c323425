import { ConfigReader } from '@backstage/config';
import {
  DEFAULT_POLICY,
  DEFAULT_USABLE_SECRET_LABEL,
} from '@backstage-dex/plugin-dex-common';
import { readPolicy } from './policy';

describe('readPolicy', () => {
  it('is the default policy without a dex: section', () => {
    expect(readPolicy(new ConfigReader({}))).toBe(DEFAULT_POLICY);
  });

  it('reads versions (without a leading v), defaults and the policy', () => {
    const policy = readPolicy(
      new ConfigReader({
        dex: {
          versions: { allowed: ['v2.45.1', '2.44.0'], default: 'v2.44.0' },
          authenticator: { versions: { allowed: ['1.4.0'] } },
          defaults: {
            namespace: 'identity',
            ingressClassName: 'nginx',
            serviceType: 'LoadBalancer',
          },
          policy: {
            imageRegistry: 'mirror.example.com',
            namespaces: ['team-*', 'identity'],
            ingressClasses: ['nginx'],
            ingressAnnotations: ['cert-manager.io/*'],
          },
          connectors: {
            allowInsecureSkipVerify: true,
            allowInsecureNoSSL: true,
          },
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
      allowInsecureNoSSL: true,
      namespaces: ['team-*', 'identity'],
      ingressClasses: ['nginx'],
      ingressAnnotations: ['cert-manager.io/*'],
      usableSecretLabel: DEFAULT_USABLE_SECRET_LABEL,
    });
  });

  it("takes a cluster's policy keys over the default's, key by key", () => {
    const config = new ConfigReader({
      dex: {
        policy: {
          namespaces: ['team-*'],
          ingressClasses: ['nginx'],
          usableSecretLabel: { key: 'example.com/dex', value: 'yes' },
        },
        clusters: {
          'prod-eu': {
            policy: {
              namespaces: ['prod-*'],
              allowEmptyClaimPrefixes: true,
              imageRegistry: 'registry.prod.example.com/mirror',
            },
          },
        },
      },
    });
    expect(readPolicy(config, 'prod-eu')).toMatchObject({
      namespaces: ['prod-*'],
      ingressClasses: ['nginx'],
      allowEmptyClaimPrefixes: true,
      imageRegistry: 'registry.prod.example.com/mirror',
      usableSecretLabel: { key: 'example.com/dex', value: 'yes' },
    });
    const other = readPolicy(config, 'dev');
    expect(other).toMatchObject({ namespaces: ['team-*'] });
    expect(other.allowEmptyClaimPrefixes).toBeUndefined();
    expect(other.imageRegistry).toBeUndefined();
  });

  it.each([
    [
      { defaults: { imageRegistry: 'mirror.example.com' } },
      /dex\.defaults\.imageRegistry: .*move it to dex\.policy\.imageRegistry/,
    ],
    [
      { policy: { imageRegistry: 'https://mirror.example.com' } },
      /dex\.policy\.imageRegistry: "https:\/\/mirror\.example\.com" is not a registry/,
    ],
    [
      { policy: { namespaces: ['team a'] } },
      /dex\.policy\.namespaces: "team a" is not a pattern/,
    ],
    [
      { policy: { usableSecretLabel: { key: 'not a key', value: 'x' } } },
      /dex\.policy\.usableSecretLabel: .* is not a label/,
    ],
  ])('refuses a setting it cannot use, naming the key (%#)', (dex, message) => {
    expect(() => readPolicy(new ConfigReader({ dex }))).toThrow(message);
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
