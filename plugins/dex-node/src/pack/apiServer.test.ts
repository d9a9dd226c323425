import YAML from 'yaml';
import { PackSpec, withDefaults } from '@backstage-dex/plugin-dex-common';
import { apiServerSettings } from './apiServer';
import { dexConfig } from './dexConfig';
import { prepareMaterial } from './material';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

const spec = (overrides: Partial<Parameters<typeof withDefaults>[0]> = {}) =>
  withDefaults({ cluster: 'prod', namespace: 'dex', ...overrides });

describe('apiServerSettings', () => {
  it('writes the issuer as Dex serves it: parsed and serialised again, in the flags, the AuthenticationConfiguration and Dex', () => {
    const s = spec({ dex: { issuerUrl: 'https://Dex.Example.COM:443/dex/' } });
    const settings = apiServerSettings(s, CA);
    expect(settings.flags[0]).toBe(
      '--oidc-issuer-url=https://dex.example.com/dex',
    );
    expect(
      YAML.parse(settings.authenticationConfiguration).jwt[0].issuer.url,
    ).toBe('https://dex.example.com/dex');
    const { material } = prepareMaterial(s);
    expect(dexConfig(s, material).issuer).toBe('https://dex.example.com/dex');
  });

  it('normalises the CA path', () => {
    expect(
      apiServerSettings(
        spec({ apiServerCaFile: '/etc/kubernetes/pki/./dex-ca.crt' }),
        CA,
      ).flags,
    ).toContain('--oidc-ca-file=/etc/kubernetes/pki/dex-ca.crt');
  });

  it('spells out in the AuthenticationConfiguration the username prefix the flags leave to the kube-apiserver', () => {
    const prefixOf = (s: PackSpec) =>
      YAML.parse(apiServerSettings(s, CA).authenticationConfiguration).jwt[0]
        .claimMappings.username.prefix;
    // email: no prefix (the kube-apiserver's rule for --oidc-username-prefix left out) ...
    expect(prefixOf(spec())).toBe('');
    // ... any other claim: the issuer and '#'.
    const sub = spec({
      dex: { issuerUrl: 'https://dex.example.com/dex' },
      claims: { usernameClaim: 'sub' },
    });
    expect(prefixOf(sub)).toBe('https://dex.example.com/dex#');
    expect(
      apiServerSettings(sub, CA).flags.some(f =>
        f.startsWith('--oidc-username-prefix'),
      ),
    ).toBe(false);
    expect(prefixOf(spec({ claims: { usernamePrefix: 'oidc:' } }))).toBe(
      'oidc:',
    );
  });

  it('refuses, as it writes them, flag values with whitespace or line breaks (a spec that skipped validation)', () => {
    const smuggled: PackSpec = {
      ...spec(),
      apiServerCaFile:
        '/etc/kubernetes/pki/dex-ca.crt\n--authorization-mode=AlwaysAllow',
    };
    expect(() => apiServerSettings(smuggled, CA)).toThrow(
      /--oidc-ca-file: .* contains whitespace or control characters; nothing was applied/,
    );
    const claim: PackSpec = {
      ...spec(),
      claims: { ...spec().claims, groupsClaim: 'groups --x' },
    };
    expect(() => apiServerSettings(claim, CA)).toThrow(/--oidc-groups-claim/);
  });
});
