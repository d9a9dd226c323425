import { connectorSecretRefs } from './connectors';
import { ConnectorSpec, PackSpecInput } from './types';
import { DEFAULT_POLICY } from './policy';
import { resolveSpec } from './validation';
import { DEX_RELEASES } from './versions';

const secretRef = { name: 'upstream', key: 'secret' };
const CA_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUXb\n-----END CERTIFICATE-----\n';

/** One connector of each type, as a developer would write them. */
const CONNECTORS: Record<string, Record<string, unknown>> = {
  github: { type: 'github', clientId: 'gh', clientSecretRef: secretRef },
  gitlab: {
    type: 'gitlab',
    baseURL: 'https://gitlab.example.com',
    clientId: 'gl',
    clientSecretRef: secretRef,
    groups: ['platform'],
  },
  microsoft: {
    type: 'microsoft',
    tenant: 'example.onmicrosoft.com',
    clientId: 'ms',
    clientSecretRef: secretRef,
    groups: ['platform'],
  },
  google: {
    type: 'google',
    clientId: 'go',
    clientSecretRef: secretRef,
    hostedDomains: ['example.com'],
  },
  oidc: {
    type: 'oidc',
    issuer: 'https://sso.example.com',
    clientId: 'oi',
    clientSecretRef: secretRef,
  },
  oauth: {
    type: 'oauth',
    authorizationURL: 'https://oauth.example.com/authorize',
    tokenURL: 'https://oauth.example.com/token',
    userInfoURL: 'https://oauth.example.com/userinfo',
    clientId: 'oa',
    clientSecretRef: secretRef,
    userIDKey: 'sub',
  },
  saml: {
    type: 'saml',
    ssoURL: 'https://idp.example.com/sso',
    caPem: CA_PEM,
    usernameAttr: 'name',
    emailAttr: 'email',
  },
  ldap: {
    type: 'ldap',
    host: 'ldap.example.com:389',
    startTLS: true,
    rootCARef: { name: 'ldap-ca', key: 'ca.crt' },
    bindDN: 'cn=dex,dc=example,dc=com',
    bindPasswordRef: secretRef,
    userBaseDN: 'ou=people,dc=example,dc=com',
  },
};

function resolve(
  connectors: Record<string, unknown>[],
  version = '2.45.1',
  policy = DEFAULT_POLICY,
) {
  return resolveSpec(
    {
      cluster: 'prod',
      dex: { version },
      connectors,
    } as PackSpecInput,
    policy,
  );
}

describe('connectors', () => {
  it.each(Object.keys(CONNECTORS))(
    '%s: accepted, named after its provider when no name is given',
    type => {
      const { spec, problems } = resolve([CONNECTORS[type]]);
      expect(problems).toEqual([]);
      expect(spec.connectors[0]).toMatchObject({ id: type, type });
      expect(spec.connectors[0].name).not.toBe('');
    },
  );

  it('refuses the generic OAuth connector on a Dex release that lacks it, naming the oldest that has it', () => {
    const old = DEX_RELEASES.filter(r => !r.connectors.includes('oauth'));
    expect(old.map(r => r.version)).toEqual([
      '2.30.0',
      '2.28.0',
      '2.25.0',
      '2.21.0',
    ]);
    for (const r of old) {
      expect(resolve([CONNECTORS.oauth], r.version).problems).toEqual([
        {
          field: 'connectors[0].type',
          message: `Dex ${r.version} has no oauth connector (the oldest catalogued release with it is 2.35.1): choose a newer dex.version or another connector`,
        },
      ]);
    }
  });

  it('refuses a CA for an OIDC upstream on a Dex release whose connector cannot take one', () => {
    const oidc = {
      ...CONNECTORS.oidc,
      rootCARef: { name: 'sso-ca', key: 'ca.crt' },
    };
    expect(resolve([oidc]).problems).toEqual([]);
    expect(resolve([oidc], '2.35.1').problems).toEqual([
      {
        field: 'connectors[0].rootCARef',
        message:
          "Dex 2.35.1's oidc connector cannot take a CA (the oldest catalogued release that can is 2.41.1): choose a newer dex.version, or remove rootCARef (the image's system CAs are used)",
      },
    ]);
  });

  it('refuses a "$" in a setting: Dex would replace it from its environment', () => {
    const { problems } = resolve([
      { ...CONNECTORS.ldap, userFilter: '(uid=$USER)' },
    ]);
    expect(problems).toEqual([
      {
        field: 'connectors[0].userFilter',
        message: expect.stringMatching(/must not contain "\$"/),
      },
    ]);
  });

  it('allows a "$" in the name shown on the login page (Dex does not expand it there)', () => {
    expect(
      resolve([{ ...CONNECTORS.github, name: 'Pay $ GitHub' }]).problems,
    ).toEqual([]);
  });

  it("refuses skipping the LDAP server's certificate check unless the platform allows it", () => {
    const skip = { ...CONNECTORS.ldap, insecureSkipVerify: true };
    expect(resolve([skip]).problems).toEqual([
      {
        field: 'connectors[0].insecureSkipVerify',
        message: expect.stringMatching(
          /does not allow .* give its CA with rootCARef/,
        ),
      },
    ]);
    expect(
      resolve([skip], '2.45.1', {
        ...DEFAULT_POLICY,
        allowInsecureSkipVerify: true,
      }).problems,
    ).toEqual([]);
  });

  it('refuses LDAP without TLS unless the platform allows it, naming the field and the config key', () => {
    const clear = {
      ...CONNECTORS.ldap,
      insecureNoSSL: true,
      startTLS: undefined,
      rootCARef: undefined,
    };
    expect(resolve([clear]).problems).toEqual([
      {
        field: 'connectors[0].insecureNoSSL',
        message: expect.stringMatching(
          /does not allow LDAP without TLS, which sends the bind password .* in clear text \(dex\.connectors\.allowInsecureNoSSL\)/,
        ),
      },
    ]);
    expect(
      resolve([clear], '2.45.1', {
        ...DEFAULT_POLICY,
        allowInsecureNoSSL: true,
      }).problems,
    ).toEqual([]);
    // Allowing the other insecure setting does not allow this one.
    expect(
      resolve([clear], '2.45.1', {
        ...DEFAULT_POLICY,
        allowInsecureSkipVerify: true,
      }).problems.map(p => p.field),
    ).toEqual(['connectors[0].insecureNoSSL']);
  });

  it('refuses TLS settings beside insecureNoSSL', () => {
    const { problems } = resolve(
      [{ ...CONNECTORS.ldap, insecureNoSSL: true }],
      '2.45.1',
      { ...DEFAULT_POLICY, allowInsecureNoSSL: true },
    );
    expect(problems).toEqual([
      {
        field: 'connectors[0].insecureNoSSL',
        message: expect.stringMatching(
          /startTLS, rootCARef and insecureSkipVerify would not apply/,
        ),
      },
    ]);
  });

  it("refuses Microsoft groups on a tenant that is not one organisation's (Dex would ignore them)", () => {
    const { problems } = resolve([
      { ...CONNECTORS.microsoft, tenant: undefined },
    ]);
    expect(problems).toEqual([
      {
        field: 'connectors[0].groups',
        message: expect.stringMatching(/set tenant to your tenant's id/),
      },
    ]);
  });

  it.each([
    ['gitlab', 'clientSecret', /clientSecretRef: \{name, key\}/],
    ['ldap', 'rootCA', /rootCARef: \{name, key\}/],
    ['saml', 'insecureSkipSignatureValidation', /responses must be signed/],
  ])('%s: refuses %s, saying what to give instead', (type, field, message) => {
    const { problems } = resolve([{ ...CONNECTORS[type], [field]: 'x' }]);
    expect(problems).toEqual([
      {
        field: `connectors[0].${field}`,
        message: expect.stringMatching(message),
      },
    ]);
  });

  it('refuses a SAML connector without the certificate its identity provider signs with', () => {
    const { problems } = resolve([{ ...CONNECTORS.saml, caPem: 'not a pem' }]);
    expect(problems).toEqual([
      {
        field: 'connectors[0].caPem',
        message: expect.stringMatching(/give the PEM certificate/),
      },
    ]);
  });

  it('names the Secret keys each connector references', () => {
    const refs = (type: string) =>
      connectorSecretRefs(
        resolve([CONNECTORS[type]]).spec.connectors[0] as ConnectorSpec,
      );
    expect(refs('saml')).toEqual({});
    expect(refs('gitlab')).toEqual({
      credential: { field: 'clientSecretRef', ref: secretRef },
    });
    expect(refs('ldap')).toEqual({
      credential: { field: 'bindPasswordRef', ref: secretRef },
      rootCA: { field: 'rootCARef', ref: { name: 'ldap-ca', key: 'ca.crt' } },
    });
  });
});
